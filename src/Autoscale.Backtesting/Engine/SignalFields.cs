using System.Runtime.CompilerServices;

namespace Autoscale.Backtesting.Engine;

/// <summary>
/// The figures of a <see cref="ScalingSignal"/> that move from one decision to the next, for the count replay to write
/// into the one signal it keeps (building a fresh one each decision stores and copies the whole value).
/// </summary>
/// <remarks>Reaches the compiler's backing fields; <c>SignalFieldsTests</c> checks the result equals the initializer's.</remarks>
internal static class SignalFields
{
    /// <summary>The signal's <see cref="ScalingSignal.Now"/>, to write.</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "<Now>k__BackingField")]
    public static extern ref NodaTime.Instant Now(ref ScalingSignal signal);

    /// <summary>The signal's <see cref="ScalingSignal.ReadyReplicas"/>, to write.</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "<ReadyReplicas>k__BackingField")]
    public static extern ref int Ready(ref ScalingSignal signal);

    /// <summary>The signal's <see cref="ScalingSignal.LoadingReplicas"/>, to write.</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "<LoadingReplicas>k__BackingField")]
    public static extern ref int Loading(ref ScalingSignal signal);

    /// <summary>The signal's <see cref="ScalingSignal.QueueDepth"/>, to write.</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "<QueueDepth>k__BackingField")]
    public static extern ref long Queue(ref ScalingSignal signal);

    /// <summary>The signal's <see cref="ScalingSignal.ArrivalsLastInterval"/>, to write.</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "<ArrivalsLastInterval>k__BackingField")]
    public static extern ref long Arrivals(ref ScalingSignal signal);

    /// <summary>The signal's <see cref="ScalingSignal.ServedLastInterval"/>, to write.</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "<ServedLastInterval>k__BackingField")]
    public static extern ref long Served(ref ScalingSignal signal);

    /// <summary>The signal's <see cref="ScalingSignal.MaxReplicas"/>, to write.</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "<MaxReplicas>k__BackingField")]
    public static extern ref int MaxReplicas(ref ScalingSignal signal);
}
