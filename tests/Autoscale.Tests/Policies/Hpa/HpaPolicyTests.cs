using Autoscale.Config;
using Autoscale.Policies.Catalog;
using Autoscale.Policies.Hpa;
using Autoscale.Tests.Cli;
using Autoscale.Tests.Policies;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Xunit;

namespace Autoscale.Tests.Policies.Hpa;

public sealed class HpaPolicyTests
{
    private static readonly Instant Start = Instant.FromUtc(2025, 6, 2, 0, 0);

    private static ScalingSignal Signal(int t, int ready, int loading, long queue, long arrivals, long served = 0) =>
        PolicyProperties.Signal(t, ready, loading, queue, arrivals, served);

    private static HpaOptions InFlight(double target, int min = 1, int max = 50, HpaBehavior? behavior = null) => new()
    {
        MinReplicas = min,
        MaxReplicas = max,
        Behavior = behavior,
        Metrics = [new HpaMetricSpec { Type = "Pods", Pods = new HpaMetricSource { Metric = new() { Name = "inFlight" }, Target = new() { Type = "AverageValue", AverageValue = target } } }],
    };

    [Fact]
    public void The_first_decision_is_the_deployments_replicas_then_the_hpa_syncs()
    {
        var hpa = new HpaPolicy(InFlight(20, min: 2));

        Assert.Equal(2, hpa.Decide(Signal(0, 0, 0, 0, 0)).DesiredReplicas);
        // 2 ready replicas, 200 waiting plus 30 served per second in flight: 115 per replica against 20 -> ceil(230/20) = 12,
        // limited without a behavior to max(2 x 2, 4) = 4.
        var decision = hpa.Decide(Signal(1, 2, 0, 200, 450, served: 450));
        Assert.Equal(4, decision.DesiredReplicas);
        Assert.Equal("ScaleUpLimit", decision.Reason);
    }

    [Fact]
    public void Loading_replicas_count_as_reporting_zero_on_a_scale_up()
    {
        var hpa = new HpaPolicy(InFlight(10, behavior: new HpaBehavior()));
        hpa.Decide(Signal(0, 0, 0, 0, 0));

        // 2 ready report 300/2 = 150 each (ratio 15); with 4 loading pods counted as 0 the ratio is 300/6/10 = 5,
        // so the proposal is ceil(5 x 6) = 30, within the default +100 % / +4 pods per 15 s from 6: at most 12.
        var decision = hpa.Decide(Signal(1, 2, 4, 300, 0));
        Assert.Equal(12, decision.DesiredReplicas);
    }

    [Fact]
    public void Scale_down_waits_for_the_stabilization_window()
    {
        var hpa = new HpaPolicy(InFlight(10, behavior: new HpaBehavior { ScaleDown = new HpaScalingRules { StabilizationWindowSeconds = 60 } }));
        hpa.Decide(Signal(0, 0, 0, 0, 0));
        Assert.Equal(1, hpa.Decide(Signal(1, 1, 0, 0, 0)).DesiredReplicas);
        Assert.Equal(5, hpa.Decide(Signal(2, 1, 0, 50, 0)).DesiredReplicas);

        // The load vanishes: the 50-in-flight recommendation (5) holds for 60 s, then the count falls to 1.
        var held = Enumerable.Range(3, 4).Select(t => hpa.Decide(Signal(t, 5, 0, 0, 0)).DesiredReplicas).ToArray();
        Assert.Equal([5, 5, 5, 1], held);
    }

    private static Gen<(int Ready, int Loading, long Queue, long Arrivals)[]> Histories() => PolicyProperties.Histories();

    [Property(MaxTest = 200)]
    public Property Decisions_stay_within_min_and_max_and_repeat_exactly() =>
        Prop.ForAll(Histories().ToArbitrary(), (from lo in Gen.Choose(1, 6) from hi in Gen.Choose(6, 40) from b in Gen.Elements(true, false) select (lo, hi, b)).ToArbitrary(), (history, knobs) =>
        {
            var (min, max, behavior) = knobs;
            HpaPolicy Make() => new(InFlight(15, min, max, behavior ? new HpaBehavior() : null));
            var a = Make();
            var b = Make();
            for (var i = 0; i < history.Length; i++)
            {
                var (r, l, q, n) = history[i];
                var s = Signal(i, r, l, q, n, served: n / 2);
                var d = a.Decide(s).DesiredReplicas;
                if (d != b.Decide(s).DesiredReplicas)
                {
                    return false.Label("two instances disagree");
                }

                var bound = r + l == 0 && i > 0 ? (0, 0) : (min, max);
                if (d < bound.Item1 || d > bound.Item2)
                {
                    return false.Label($"decided {d} outside [{bound.Item1}, {bound.Item2}] with {r + l} replicas");
                }
            }

            return true.ToProperty();
        });

    [Property(MaxTest = 200)]
    public Property More_in_flight_never_gives_fewer_replicas_at_the_same_state() =>
        Prop.ForAll(Histories().ToArbitrary(), Gen.Choose(0, 5000).ToArbitrary(), (history, extra) =>
            PolicyProperties.MoreLoadNeverGivesFewer(() => new HpaPolicy(InFlight(15, 1, 500, new HpaBehavior())), history, extra, 0));

    [Theory]
    [InlineData("""{ "maxReplicas": 5 }""", "metrics must name at least one metric")]
    [InlineData("""{ "maxReplicas": 5, "metrics": [ { "type": "Resource" } ] }""", "resource must be given for a Resource metric")]
    [InlineData("""{ "maxReplicas": 5, "metrics": [ { "type": "Resource", "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": 80 } } } ] }""", "cpu has no stand-in in a replay until it is mapped to one")]
    [InlineData("""{ "maxReplicas": 5, "metrics": [ { "type": "Pods", "pods": { "metric": { "name": "gpu" }, "target": { "type": "AverageValue", "averageValue": 3 } } } ] }""", "\"gpu\" is not a signal the replay has")]
    [InlineData("""{ "maxReplicas": 5, "metrics": [ { "type": "Pods", "pods": { "metric": { "name": "waiting" }, "target": { "type": "AverageValue", "averageValue": 3 } } } ] }""", "needs a serving profile")]
    [InlineData("""{ "maxReplicas": 5, "metrics": [ { "type": "Pods", "pods": { "metric": { "name": "inFlight" }, "target": { "type": "Value", "value": 3 } } } ] }""", "must be AverageValue for a Pods metric")]
    [InlineData("""{ "minReplicas": 6, "maxReplicas": 5, "metrics": [ { "type": "External", "external": { "metric": { "name": "queue" }, "target": { "type": "Value", "value": 3 } } } ] }""", "minReplicas (6) must be <= maxReplicas (5)")]
    [InlineData("""{ "maxReplicas": 5, "behavior": { "scaleDown": { "selectPolicy": "Sometimes" } }, "metrics": [ { "type": "External", "external": { "metric": { "name": "queue" }, "target": { "type": "Value", "value": 3 } } } ] }""", "selectPolicy (\"Sometimes\") must be Max, Min or Disabled")]
    [InlineData("""{ "maxReplicas": 5, "behavior": { "scaleDown": { "stabilizationWindowSeconds": -1 } }, "metrics": [ { "type": "External", "external": { "metric": { "name": "queue" }, "target": { "type": "Value", "value": 3 } } } ] }""", "stabilizationWindowSeconds: must be in [0, 3600] (was -1)")]
    public async Task A_bad_hpa_is_one_error_line_naming_the_field(string options, string expected)
    {
        using var dir = new TempFolder();
        var config = Path.Combine(dir.Path, "hpa.json");
        await File.WriteAllTextAsync(config, $$"""{ "slo": { "maxWaitSeconds": 2, "targetPercent": 99 }, "replica": { "capacityRps": 30 }, "candidates": [ { "name": "h", "policy": "hpa", "options": {{options}}, "loadTime": { "fixedSeconds": 60 } } ] }""");

        var (exit, stdout, stderr) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith($"error: {config}: candidates[0].options", stderr);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task The_sync_period_is_the_candidates_decision_interval()
    {
        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadFileAsync(Path.Combine(TestPaths.Examples, "what-you-run-today.json"));

        var hpa = plan.Candidates.First(c => c.PolicyName == "hpa");
        Assert.Equal(15, hpa.DecisionIntervalTicks);
    }
}
