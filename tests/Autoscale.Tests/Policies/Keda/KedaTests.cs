using Autoscale.Policies.Keda;
using NodaTime;
using Xunit;

namespace Autoscale.Tests.Policies.Keda;

public sealed class KedaTests
{
    private static readonly Instant Start = Instant.FromUtc(2025, 6, 2, 0, 0);

    private static KedaOptions Options(int min = 0, int? idle = null, int max = 100, int cooldown = 300) => new()
    {
        MinReplicaCount = min,
        IdleReplicaCount = idle,
        MaxReplicaCount = max,
        CooldownPeriod = cooldown,
        Triggers = [new KedaTrigger { Type = "prometheus", Signal = "queue", MetricType = "AverageValue", Metadata = new() { ["threshold"] = "10", ["activationThreshold"] = "0" } }],
    };

    /// <summary>
    /// The scale executor's expected counts, ported from kedacore/keda pkg/scaling/executor/scale_scaledobjects_test.go
    /// at commit 4af6a5ab953388b6647a083385c52907cc5d7169 (Apache-2.0, The KEDA Authors): TestScaleToMinReplicasWhenNotActive,
    /// TestScaleToMinReplicasFromLowerInitialReplicaCount, TestScaleFromMinReplicasWhenActive, TestScaleToIdleReplicasWhenNotActive,
    /// TestScaleFromIdleToMinReplicasWhenActive, TestEventWitTriggerInfo. No last active time, as in those tests.
    /// </summary>
    [Theory]
    [InlineData(0, null, 10, false, 0)]
    [InlineData(5, null, 1, false, 5)]
    [InlineData(0, null, 0, true, 1)]
    [InlineData(5, 0, 10, false, 0)]
    [InlineData(5, 0, 0, true, 5)]
    [InlineData(5, 0, 2, true, 5)]
    public void The_scale_executor_matches_upstream(int min, int? idle, int current, bool active, int expected)
    {
        var executor = new KedaScaleExecutor(Options(min, idle), Start - Duration.FromHours(1));

        var (replicas, _) = executor.RequestScale(current, active, Start);

        Assert.Equal(expected, replicas);
    }

    /// <summary>
    /// TestGetIdleOrMinimumReplicaCount of kedacore/keda pkg/scaling/executor/scale_executor_helpers_test.go at commit
    /// 0f19888de5a895be551e2d7b5c1dacc28634856d (Apache-2.0, The KEDA Authors). An unset minReplicaCount is 0.
    /// </summary>
    [Theory]
    [InlineData(null, 0, false, 0)]
    [InlineData(0, 5, true, 0)]
    [InlineData(3, 5, true, 3)]
    [InlineData(null, 2, false, 2)]
    public void Scaling_in_ends_at_the_idle_or_minimum_count_as_upstream(int? idle, int min, bool isIdle, int replicas)
    {
        Assert.Equal((isIdle, replicas), KedaScaleExecutor.IdleOrMinimumReplicaCount(Options(min, idle)));
    }

    [Fact]
    public void Scaling_to_zero_waits_for_the_cooldown_after_the_last_activity()
    {
        var executor = new KedaScaleExecutor(Options(cooldown: 300), Start);
        Assert.Null(executor.RequestScale(3, true, Start + Duration.FromSeconds(30)).Replicas);

        Assert.Null(executor.RequestScale(3, false, Start + Duration.FromSeconds(330)).Replicas); // exactly 300 s after: not yet (Before is strict)
        Assert.Equal(0, executor.RequestScale(3, false, Start + Duration.FromSeconds(360)).Replicas);
    }

    [Fact]
    public void The_hpa_keda_creates_starts_at_one_and_reads_each_trigger_as_an_external_metric()
    {
        var hpa = KedaPolicy.HpaFor(Options(min: 0, max: 40));

        Assert.Equal(1, hpa.MinReplicas);
        Assert.Equal(40, hpa.MaxReplicas);
        var metric = Assert.Single(hpa.Metrics);
        Assert.Equal("External", metric.Type);
        Assert.Equal("queue", metric.External!.Metric.Name);
        Assert.Equal(10, metric.External.Target.AverageValue);
    }

    private static ScalingSignal Signal(int seconds, int ready, int loading, long queue) =>
        new(Start + Duration.FromSeconds(seconds), Duration.FromSeconds(15), ready, loading, queue, 0, 30, Duration.FromSeconds(60)) { MaxReplicas = 1000 };

    [Fact]
    public void From_zero_keda_activates_then_the_hpa_scales_on_the_queue()
    {
        var keda = new KedaPolicy(Options(cooldown: 60));
        Assert.Equal(0, keda.Decide(Signal(0, 0, 0, 0)).DesiredReplicas);
        Assert.Equal(0, keda.Decide(Signal(15, 0, 0, 50)).DesiredReplicas); // the HPA is disabled at zero; KEDA polls at 30 s
        var activated = keda.Decide(Signal(30, 0, 0, 50));
        // KEDA to 1, then the HPA: ceil(50 / 10) = 5 on the External AverageValue metric, limited without a behavior to max(2 x 1, 4).
        Assert.Equal(4, activated.DesiredReplicas);

        // The queue is gone, but the 300 s downscale window holds the largest recommendation, 5, which the limit now allows.
        Assert.Equal(5, keda.Decide(Signal(45, 1, 3, 0)).DesiredReplicas);
        Assert.Equal(5, keda.Decide(Signal(90, 5, 0, 0)).DesiredReplicas); // last active at 30 s: cooling down until after 90 s
        Assert.Equal(0, keda.Decide(Signal(120, 5, 0, 0)).DesiredReplicas);
    }
}
