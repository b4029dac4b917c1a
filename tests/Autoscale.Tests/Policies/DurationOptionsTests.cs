using System.Reflection;
using System.Text.Json;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using Autoscale.Config;
using Autoscale.Hosting;
using Autoscale.Integrations.Kubernetes;
using Autoscale.Integrations.Prometheus;
using Autoscale.Keda;
using Autoscale.Policies.Catalog;
using NodaTime;

namespace Autoscale.Tests.Policies;

/// <summary>
/// Durations in options have one type, <see cref="Duration"/>, read the same ways everywhere: seconds as a number (as
/// users of the <c>...Seconds</c> names have always written them), a number with a unit, ISO-8601 or a time span.
/// </summary>
public sealed class DurationOptionsTests
{
    /// <summary>
    /// Times that stay integers on purpose: the Kubernetes API's int32 second fields of the manifests the emulated HPA and
    /// KEDA read and write (a fraction is invalid there), and the step-time coefficients of a serving profile, which are
    /// fitted model coefficients (seconds per step and per token), not durations.
    /// </summary>
    private static readonly HashSet<string> NotDurations =
    [
        "HpaScalingRules.StabilizationWindowSeconds", "HpaScalingPolicy.PeriodSeconds",
        "KedaOptions.PollingInterval", "KedaOptions.CooldownPeriod", "KedaOptions.InitialCooldownPeriod", "KedaOptions.HpaSyncPeriodSeconds",
        "StepSecondsOptions.Base", "StepSecondsOptions.PerPrefillToken", "StepSecondsOptions.PerDecodeToken",

        // Coefficients of the serving model (BLIS's alpha terms and the hardware model's overheads, like stepSeconds):
        // fitted numbers in seconds per request, token, layer, sequence or step, below a nanosecond at times.
        "StepSecondsOptions.PerPrefillAttentionToken", "StepSecondsOptions.PerDecodeContextToken",
        "ServingOptions.RequestOverheadSeconds", "ServingOptions.PerInputTokenOverheadSeconds", "ServingOptions.PerOutputTokenOverheadSeconds",
        "HardwareCalibrationOptions.PerLayerSeconds", "HardwareCalibrationOptions.PerSequenceSeconds", "HardwareCalibrationOptions.PerStepSeconds",
        "HardwareCalibrationOptions.RequestOverheadSeconds", "HardwareCalibrationOptions.PerOutputTokenOverheadSeconds",
    ];

    private static IEnumerable<Type> OptionsTypes()
    {
        var catalog = PolicyCatalog.CreateBuiltIn();
        var roots = catalog.Names.Where(n => !n.Contains('.', StringComparison.Ordinal))
            .Select(n => catalog.TryGet(n, out var d) ? d.OptionsType : throw new InvalidOperationException(n))
            .Concat([
                typeof(SloOptions), typeof(ReplicaOptions), typeof(EngineOptions), typeof(BillingOptions), typeof(PhasedLoadTimeOptions),
                typeof(ConfigLoader).Assembly.GetType("Autoscale.Config.BacktestConfig", throwOnError: true)!,
                typeof(AutoscalerOptions), typeof(PrometheusSignalOptions), typeof(DeploymentScaleOptions), typeof(KedaScalerOptions),
            ]);
        var seen = new HashSet<Type>();
        var pending = new Stack<Type>(roots);
        while (pending.TryPop(out var type))
        {
            if (!seen.Add(type))
            {
                continue;
            }

            foreach (var property in OptionRules.Settable(type))
            {
                var t = OptionRules.ItemType(property.PropertyType) ?? property.PropertyType;
                if (OptionRules.IsSection(t))
                {
                    pending.Push(t);
                }
            }
        }

        return seen;
    }

    private static bool IsDuration(Type type) => (Nullable.GetUnderlyingType(type) ?? type) == typeof(Duration);

    [Fact]
    public void Every_time_in_options_is_a_duration()
    {
        var types = OptionsTypes().ToList();
        Assert.True(types.Count > 30, $"found only {types.Count} options classes");
        var wrong = new List<string>();
        var durations = 0;
        foreach (var type in types)
        {
            foreach (var property in OptionRules.Settable(type))
            {
                var unit = property.GetCustomAttribute<OptionAttribute>()?.Unit;
                var name = $"{type.Name}.{property.Name}";
                if (IsDuration(property.PropertyType))
                {
                    durations++;
                    Assert.Equal("s", unit);
                }
                else if (unit == "s" && !NotDurations.Contains(name))
                {
                    wrong.Add($"{name} ({property.PropertyType.Name})");
                }
            }
        }

        Assert.Empty(wrong);
        Assert.True(durations >= 45, $"only {durations} duration options");
    }

    public static TheoryData<string> Forms() => new() { "90", "90.0", "\"90\"", "\"90s\"", "\"1.5m\"", "\"90000ms\"", "\"PT1M30S\"", "\"00:01:30\"" };

    [Theory]
    [MemberData(nameof(Forms))]
    public void Every_duration_option_reads_each_form_as_the_same_time(string form)
    {
        var checkedOptions = 0;
        foreach (var type in OptionsTypes().Where(t => t.GetConstructor(Type.EmptyTypes) is not null))
        {
            foreach (var property in OptionRules.Settable(type).Where(p => IsDuration(p.PropertyType)))
            {
                using var json = JsonDocument.Parse($"{{ \"{OptionRules.JsonName(property)}\": {form} }}");
                var bound = OptionsBinder.Bind(type, json.RootElement, "options");
                Assert.Equal(Duration.FromSeconds(90), (Duration)property.GetValue(bound)!);
                checkedOptions++;
            }
        }

        Assert.True(checkedOptions >= 45, $"only {checkedOptions} checked");
    }

    [Theory]
    [InlineData("\"ninety\"", "must be a duration such as 15 (seconds), \"90s\", \"5m\" or \"PT15S\", not the string \"ninety\"")]
    [InlineData("true", "must be a duration such as 15 (seconds), \"90s\", \"5m\" or \"PT15S\", not the boolean true")]
    [InlineData("\"P200Y\"", "must be a duration such as 15 (seconds), \"90s\", \"5m\" or \"PT15S\", not the string \"P200Y\"")]
    [InlineData("\"P1000000D\"", "must be a duration such as 15 (seconds), \"90s\", \"5m\" or \"PT15S\", not the string \"P1000000D\"")]
    [InlineData("\"PT9999999999999H\"", "must be a duration such as 15 (seconds), \"90s\", \"5m\" or \"PT15S\", not the string \"PT9999999999999H\"")]
    [InlineData("1e12", "must be a duration of at most a hundred years (was 1000000000000 s)")]
    [InlineData("\"P1Y\"", "must be a duration such as 15 (seconds), \"90s\", \"5m\" or \"PT15S\", not the string \"P1Y\"")]
    public void A_value_that_is_no_duration_is_named_with_what_it_must_be(string value, string message)
    {
        using var json = JsonDocument.Parse($"{{ \"scaleDownStabilizationSeconds\": {value} }}");
        var e = Assert.Throws<OptionsBindingException>(() => OptionsBinder.Bind(typeof(Autoscale.Policies.Reactive.ReactiveOptions), json.RootElement, "options"));
        Assert.Equal($"options.scaleDownStabilizationSeconds: {message}", e.Message);
    }

    [Fact]
    public void A_negative_duration_breaks_the_range_rule_in_seconds()
    {
        using var json = JsonDocument.Parse("""{ "queueDrainSeconds": "-2s" }""");
        var options = (Autoscale.Policies.Reactive.ReactiveOptions)OptionsBinder.Bind(typeof(Autoscale.Policies.Reactive.ReactiveOptions), json.RootElement, "options");
        var error = Assert.Single(OptionRules.Validate(options));
        Assert.Equal("queueDrainSeconds: must be > 0 (was -2)", error.ToString());
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.3)]
    [InlineData(2.5e-5)]
    [InlineData(86_399.999999999)]
    [InlineData(31_536_000)]
    public void Seconds_with_up_to_nine_places_round_trip_exactly(double seconds)
    {
        Assert.Equal(seconds, OptionDuration.FromSeconds(seconds).TotalSeconds);
    }
}
