using System.Runtime.CompilerServices;

namespace Autoscale.Backtesting.Engine;

/// <summary>
/// The two init-only counts of a <see cref="ScalingSignal"/> the count replay sets after building the signal in place
/// with its constructor. An object initializer would build a temporary and copy the 176-byte value once per decision.
/// </summary>
/// <remarks>Reaches the compiler's backing fields; <c>SignalFieldsTests</c> checks the result equals the initializer's.</remarks>
internal static class SignalFields
{
    /// <summary>The signal's <see cref="ScalingSignal.ServedLastInterval"/>, to write.</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "<ServedLastInterval>k__BackingField")]
    public static extern ref long Served(ref ScalingSignal signal);

    /// <summary>The signal's <see cref="ScalingSignal.MaxReplicas"/>, to write.</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "<MaxReplicas>k__BackingField")]
    public static extern ref int MaxReplicas(ref ScalingSignal signal);
}
