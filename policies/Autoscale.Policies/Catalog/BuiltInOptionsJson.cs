using System.Text.Json;
using System.Text.Json.Serialization;
using Autoscale.Policies.Combinators;
using Autoscale.Policies.Reactive;
using Autoscale.Policies.ScheduledFloor;

namespace Autoscale.Policies.Catalog;

/// <summary>
/// Serialization metadata, made at compile time, for the types the built-in policies' options use beyond the core's
/// (numbers, text, durations), so they bind without run-time code generation (the native build of the command line has
/// none). Added to <see cref="OptionsBinder"/> when this assembly loads.
/// </summary>
[JsonSerializable(typeof(List<List<double>>))]
[JsonSerializable(typeof(ReactiveMetric))]
[JsonSerializable(typeof(List<PolicyReference>))]
[JsonSerializable(typeof(List<ScheduleWindow>))]
[JsonSerializable(typeof(List<Autoscale.Policies.Hpa.HpaMetricSpec>))]
[JsonSerializable(typeof(List<Autoscale.Policies.Hpa.HpaScalingPolicy>))]
[JsonSerializable(typeof(Autoscale.Policies.Hpa.HpaBehavior))]
[JsonSerializable(typeof(List<Autoscale.Policies.Keda.KedaTrigger>))]
[JsonSerializable(typeof(Autoscale.Policies.Keda.KedaAdvanced))]
[JsonSerializable(typeof(Autoscale.Policies.Keda.KedaHpaConfig))]
[JsonSerializable(typeof(Autoscale.Policies.Keda.KedaFallback))]
[JsonSerializable(typeof(Autoscale.Policies.Hpa.HpaScalingRules))]
[JsonSerializable(typeof(Autoscale.Policies.Hpa.HpaMetricSource))]
[JsonSerializable(typeof(Autoscale.Policies.Hpa.HpaMetricIdentifier))]
[JsonSerializable(typeof(Autoscale.Policies.Hpa.HpaMetricTarget))]
[JsonSerializable(typeof(Autoscale.Policies.Hpa.HpaResourceSource))]
[JsonSerializable(typeof(Autoscale.Policies.Hpa.HpaObjectReference))]
internal sealed partial class BuiltInOptionsJson : JsonSerializerContext
{
    /// <summary>
    /// Camel-case string converters for the enums among the types above, for builds without run-time
    /// code generation (where the non-generic converter cannot make them). A test checks that every
    /// enum of the built-in options has one.
    /// </summary>
    internal static readonly JsonConverter[] EnumConverters = [new JsonStringEnumConverter<ReactiveMetric>(JsonNamingPolicy.CamelCase)];

    /// <summary>
    /// Adds this metadata to the binder before any type of this assembly is used; the native build runs this at start,
    /// so it only hands over how to build the metadata (building it took a sixth of the start).
    /// </summary>
    [System.Runtime.CompilerServices.ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "The binder lives in the core, which cannot know this assembly's types; it must have them before any options of this assembly bind, however that assembly is reached.")]
    internal static void Register() => OptionsBinder.AddMetadata(static () => Default, static () => EnumConverters);
}
