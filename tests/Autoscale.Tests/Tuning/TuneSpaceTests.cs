using Autoscale.Config;
using Autoscale.Config.Tuning;
using Xunit;

namespace Autoscale.Tests.Tuning;

/// <summary>A candidate's tune space as the config gives it: paths into nested options and lists, ranges, and what is refused.</summary>
public sealed class TuneSpaceTests
{
    private static string Hpa(string tune) => TuneFixture.Config($$"""
        { "name": "hpa", "policy": "hpa", "loadTime": { "fixedSeconds": 90 }, "decisionIntervalSeconds": 60,
          "options": { "minReplicas": 2, "maxReplicas": 40,
            "metrics": [ { "type": "Pods", "pods": { "metric": { "name": "inFlight" }, "target": { "type": "AverageValue", "averageValue": 2 } } } ] },
          "tune": {{tune}} }
        """);

    [Fact]
    public async Task Paths_reach_nested_options_and_list_entries()
    {
        var (_, target) = await TuneFixture.LoadAsync(Hpa("""
            { "metrics[0].pods.target.averageValue": { "from": 0.5, "to": 32, "log": true },
              "behavior.scaleDown.stabilizationWindowSeconds": { "from": 0, "to": 600, "step": 60 },
              "minReplicas": { "values": [1, 2, 4] } }
            """));

        Assert.Equal(["metrics[0].pods.target.averageValue", "behavior.scaleDown.stabilizationWindowSeconds", "minReplicas"], target.Dimensions.Select(d => d.Path));
        Assert.Null(target.Dimensions[0].Grid);
        Assert.Equal(11, target.Dimensions[1].Count);
        Assert.Equal([1.0, 2.0, 4.0], target.Dimensions[2].Grid!);
        Assert.Null(target.Size);
        Assert.Equal([2.0, null, 2.0], target.BaselineValues);

        // The options at a point: the list entry set, the missing behavior section added, the rest as written.
        var spec = target.Build([8, 120, 4], "hpa at a point");
        var options = Assert.IsType<Autoscale.Policies.Hpa.HpaOptions>(spec.Options);
        Assert.Equal(8, options.Metrics[0].Pods!.Target.AverageValue);
        Assert.Equal(120, options.Behavior!.ScaleDown!.StabilizationWindowSeconds);
        Assert.Equal(4, options.MinReplicas);
        Assert.Equal(40, options.MaxReplicas);
        Assert.Equal("hpa at a point", spec.Name);
    }

    [Fact]
    public void A_log_range_reads_as_settings_a_person_writes()
    {
        var d = new TuneDimension("x", null, 0.5, 32, Integer: false, AsString: false);
        Assert.Equal(0.5, d.At(0));
        Assert.Equal(32, d.At(1));
        Assert.Equal(4, d.At(0.5));
        Assert.Equal(0.5, d.Unit(4), 9);

        var whole = new TuneDimension("n", [1, 2, 3, 5, 8], 1, 8, Integer: true, AsString: false);
        Assert.Equal(1, whole.At(0));
        Assert.Equal(8, whole.At(0.99));
        Assert.Equal(0.7, whole.Unit(5), 9);
    }

    [Fact]
    public async Task A_keda_threshold_is_tuned_as_the_string_the_manifest_holds()
    {
        var (_, target) = await TuneFixture.LoadAsync(TuneFixture.Config("""
            { "name": "keda", "policy": "keda", "loadTime": { "fixedSeconds": 90 }, "decisionIntervalSeconds": 60,
              "options": { "minReplicaCount": 1, "maxReplicaCount": 40, "triggers": [ { "type": "prometheus", "signal": "inFlight", "metadata": { "threshold": "2" } } ] },
              "tune": { "triggers[0].metadata.threshold": { "from": 1, "to": 8, "step": 0.5 } } }
            """));

        Assert.True(target.Dimensions[0].AsString);
        Assert.Equal("3.5", target.OptionsAt([3.5])["triggers"]![0]!["metadata"]!["threshold"]!.GetValue<string>());
        Assert.Equal([2.0], target.BaselineValues);
    }

    [Theory]
    [InlineData("""{ "minReplicas": { "from": 5, "to": 1, "step": 1 } }""", "candidates[0].tune.minReplicas.to: (1) must be greater than from (5)")]
    [InlineData("""{ "minReplicas": { "from": 1, "to": 1, "step": 1 } }""", "candidates[0].tune.minReplicas.to: (1) equals from: the range is empty (tune a range, or list the one value as {\"values\": [1]})")]
    [InlineData("""{ "tolerance": { "from": 0, "to": 0.5, "step": 0.2 } }""", "candidates[0].tune.tolerance.step: (0.2) does not divide the range 0 to 0.5 into whole steps")]
    [InlineData("""{ "minReplicaz": { "from": 1, "to": 8, "step": 1 } }""", "candidates[0].tune.minReplicaz: no option \"minReplicaz\" in HpaOptions (known: behavior, downscaleStabilizationSeconds, initialReplicas, maxReplicas, metrics, minReplicas, syncPeriodSeconds, tolerance)")]
    [InlineData("""{ "behavior.scaleDown.window": { "from": 1, "to": 8, "step": 1 } }""", "candidates[0].tune.behavior.scaleDown.window: no option \"window\" in HpaScalingRules (known: policies, selectPolicy, stabilizationWindowSeconds, tolerance)")]
    [InlineData("""{ "minReplicas": { "from": -2, "to": 8, "step": 1 } }""", "candidates[0].tune.minReplicas: -2 is not a value the option takes: minReplicas: must be >= 0 (was -2)")]
    [InlineData("""{ "tolerance": { "values": [0.1, 1.5] } }""", "candidates[0].tune.tolerance: 1.5 is not a value the option takes: tolerance: must be in [0, 1] (was 1.5)")]
    [InlineData("""{ "metrics[0].pods.metric.name": { "values": [1] } }""", "candidates[0].tune.metrics[0].pods.metric.name: \"metrics[0].pods.metric.name\" is a string: only numbers can be tuned")]
    [InlineData("""{ "metrics": { "values": [1] } }""", "candidates[0].tune.metrics: \"metrics\" is a list: only numbers can be tuned")]
    [InlineData("""{ "metrics[2].pods.target.averageValue": { "values": [1] } }""", "candidates[0].tune.metrics[2].pods.target.averageValue: the options have no metrics[2]: write the list in options (as policy import prints it) to tune inside it")]
    [InlineData("""{ "minReplicas": { "from": 1, "to": 8 } }""", "candidates[0].tune.minReplicas: needs \"step\" (a grid) or \"log\": true (a log-scaled range)")]
    [InlineData("""{ "minReplicas": { "from": 1, "to": 8, "step": 0.5 } }""", "candidates[0].tune.minReplicas.step: (0.5) must be a whole number: the option takes whole numbers")]
    [InlineData("""{ "tolerance": { "from": 0, "to": 0.5, "log": true } }""", "candidates[0].tune.tolerance.from: (0) must be > 0 for a log range")]
    [InlineData("""{ "minReplicas": { "values": [] } }""", "candidates[0].tune.minReplicas.values: must list at least one number")]
    [InlineData("""{ "minReplicas": { "values": [1, "two"] } }""", "candidates[0].tune.minReplicas.values[1]: must be a number, not the string \"two\"")]
    [InlineData("""{ }""", "candidates[0].tune: must name at least one option to tune")]
    [InlineData("""{ "behavior": { "values": [1] } }""", "candidates[0].tune.behavior: \"behavior\" is a section of options (HpaBehavior), not a number: name one of its options (known: scaleDown, scaleUp)")]
    public async Task A_space_that_cannot_be_searched_is_one_error_naming_its_path(string tune, string expected)
    {
        var e = await Assert.ThrowsAsync<ConfigException>(() => TuneFixture.LoadAsync(Hpa(tune)));
        Assert.Equal("tune.json: " + expected, e.Message);
    }

    [Fact]
    public async Task A_candidate_sweeps_or_tunes_not_both()
    {
        var config = TuneFixture.Config("""
            { "name": "r", "policy": "reactive", "loadTime": { "fixedSeconds": 90 }, "sweep": { "minReplicas": [1, 2] },
              "tune": { "minReplicas": { "from": 1, "to": 8, "step": 1 } } }
            """);
        var e = await Assert.ThrowsAsync<ConfigException>(() => new ConfigLoader(Autoscale.Policies.Catalog.PolicyCatalog.CreateBuiltIn()).LoadAsync(config, "tune.json"));
        Assert.Contains("candidates[0].tune: a candidate either sweeps (backtest) or tunes (tune), not both", e.Message, StringComparison.Ordinal);
    }
}
