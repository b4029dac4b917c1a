using System.Text.Json;
using System.Text.Json.Serialization;
using Autoscale.Policies.Combinators;
using Autoscale.Policies.Reactive;
using Autoscale.Policies.ScheduledFloor;

namespace Autoscale.Policies.Catalog;

/// <summary>
/// Serialization metadata, made at compile time, for every type a built-in policy's options use, so
/// options bind without run-time code generation (the native build of the command line has none).
/// </summary>
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(int?))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(long?))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(double?))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(bool?))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(NodaTime.Duration))]
[JsonSerializable(typeof(NodaTime.Duration?))]
[JsonSerializable(typeof(Uri))]
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
}
