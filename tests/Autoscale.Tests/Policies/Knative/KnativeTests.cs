using Autoscale.Policies.Knative;
using NodaTime;
using Xunit;

namespace Autoscale.Tests.Policies.Knative;

/// <summary>
/// The decider's expected counts ported from knative/serving pkg/autoscaler/scaling/autoscaler_test.go at commit
/// 3ec30c403cecdd287289e0bc96a232599414e45a (Apache-2.0, The Knative Authors): TestAutoscalerScale's table,
/// TestAutoscalerScaleDownDelay, TestAutoscalerPanicThenUnPanicScaleDown, TestAutoscalerRateLimitScaleUp and ScaleDown,
/// TestAutoscalerUseOnePodAsMinimumIfEndpointsNotFound. Their test decider: up and down rates 10, panic threshold 2,
/// a 60 s stable window, created with one ready pod.
/// </summary>
public sealed class KnativeTests
{
    private static readonly Instant T0 = Instant.FromUtc(2025, 6, 2, 0, 0);

    private static KnativeDecider Decider(double target, double upRate = 10, double downRate = 10, double panicThreshold = 2, bool reachable = true, double delaySeconds = 0, int readyAtStart = 1) =>
        new(new KnativeDeciderSpec(target, upRate, downRate, panicThreshold, Duration.FromSeconds(60), Duration.FromSeconds(delaySeconds), 1, reachable), readyAtStart, T0);

    [Theory]
    [InlineData("AutoscalerNoDataAtZeroNoAutoscale", 10, 0, 0, 1, 10, 10, true, 0)]
    [InlineData("AutoscalerStableModeUnlimitedTBC", 181, 21, 26, 1, 10, 10, true, 1)]
    [InlineData("Autoscaler0TBC", 10, 50, 49, 1, 10, 10, true, 5)]
    [InlineData("AutoscalerStableModeNoChange", 10, 50, 50, 1, 10, 10, true, 5)]
    [InlineData("AutoscalerStableModeNoChangeAlreadyScaled", 10, 50, 50, 5, 10, 10, true, 5)]
    [InlineData("AutoscalerStableModeIncreaseWithSmallScaleUpRate", 1, 3, 3.1, 2, 1.1, 10, true, 3)]
    [InlineData("AutoscalerStableModeDecreaseWithSmallScaleDownRate", 10, 1, 1, 100, 10, 1.1, true, 90)]
    [InlineData("AutoscalerStableModeDecreaseNonReachable", 10, 1, 1, 100, 10, 1.1, false, 1)]
    [InlineData("AutoscalerPanicModeDoublePodCount", 10, 50, 100, 1, 10, 10, true, 10)]
    [InlineData("AutoscalerUseOnePodAsMinimumIfEndpointsNotFound", 10, 1000, 888, 0, 10, 10, true, 10)]
    public void The_decider_matches_upstream(string name, double target, double stable, double panic, int ready, double upRate, double downRate, bool reachable, int expected)
    {
        var decider = Decider(target, upRate, downRate, reachable: reachable);

        Assert.True(expected == decider.Scale(ready, stable, panic, T0), name);
    }

    [Theory]
    [InlineData(50, 30, 50)]
    [InlineData(20, 30, 30)]
    public void In_panic_the_larger_of_stable_and_panic_wins(double stable, double panic, int expected)
    {
        var decider = Decider(1);
        decider.PanicTime = T0 - Duration.FromSeconds(5);
        decider.MaxPanicPods = 5;

        Assert.Equal(expected, decider.Scale(5, stable, panic, T0));
    }

    [Fact]
    public void The_scale_down_delay_holds_the_largest_recent_decision()
    {
        var d = Decider(10, panicThreshold: 100, delaySeconds: 300, readyAtStart: 0);
        var zero = Instant.FromUnixTimeSeconds(0);
        Assert.Equal(4, d.Scale(0, 40, 40, zero + Duration.FromSeconds(2)));
        Assert.Equal(4, d.Scale(0, 0, 0, zero + Duration.FromMinutes(5)));
        Assert.Equal(0, d.Scale(0, 0, 0, zero + Duration.FromMinutes(5) + Duration.FromSeconds(2)));

        Assert.Equal(4, d.Scale(0, 40, 40, zero + Duration.FromMinutes(9)));
        Assert.Equal(4, d.Scale(0, 30, 30, zero + Duration.FromMinutes(10)));
        Assert.Equal(4, d.Scale(0, 0, 0, zero + Duration.FromMinutes(11)));
        Assert.Equal(3, d.Scale(0, 0, 0, zero + Duration.FromMinutes(14)));
        Assert.Equal(0, d.Scale(0, 0, 0, zero + Duration.FromMinutes(15)));
    }

    [Fact]
    public void Panic_holds_the_count_until_a_stable_window_has_passed()
    {
        var d = Decider(10);
        Assert.Equal(10, d.Scale(1, 100, 100, T0));
        var panicAt = T0 + Duration.FromSeconds(1);
        Assert.Equal(100, d.Scale(10, 100, 1000, panicAt));
        Assert.Equal(100, d.Scale(10, 1, 1, panicAt + Duration.FromSeconds(30)));
        Assert.Equal(1, d.Scale(10, 1, 1, panicAt + Duration.FromSeconds(61)));
    }

    [Fact]
    public void Rates_limit_each_step()
    {
        var up = Decider(10);
        Assert.Equal(10, up.Scale(1, 1000, 1001, T0));
        Assert.Equal(100, up.Scale(10, 1000, 1001, T0));

        var down = Decider(10);
        Assert.Equal(10, down.Scale(100, 1, 1, T0));
        Assert.Equal(1, down.Scale(10, 1, 1, T0));
    }

    [Fact]
    public void Targets_resolve_as_knative_resolves_them()
    {
        Assert.Equal(70, new KnativeOptions().TargetValue, 9);
        Assert.Equal(7, new KnativeOptions { ContainerConcurrency = 10 }.TargetValue, 9);
        Assert.Equal(3.5, new KnativeOptions { ContainerConcurrency = 10, Target = 5 }.TargetValue, 9);
        Assert.Equal(7, new KnativeOptions { ContainerConcurrency = 10, Target = 50 }.TargetValue, 9);
        Assert.Equal(140, new KnativeOptions { Metric = "rps" }.TargetValue, 9);
        Assert.Equal(Duration.FromSeconds(6), new KnativeOptions().PanicWindow);
    }

    private static ScalingSignal S(int seconds, int ready, int loading, long queue, long served = 0) =>
        new(T0 + Duration.FromSeconds(seconds), Duration.FromSeconds(1), ready, loading, queue, 0, 30, Duration.FromSeconds(60))
        {
            ServedLastInterval = served,
            MaxReplicas = 1000,
        };

    [Fact]
    public void Without_demand_the_revision_goes_to_zero_after_a_stable_window_and_the_grace_period()
    {
        var kpa = new KnativePolicy(new KnativeOptions { ContainerConcurrency = 10 });
        Assert.Equal(1, kpa.Decide(S(0, 0, 0, 0)).DesiredReplicas);

        var decisions = Enumerable.Range(1, 120).Select(t => (t, kpa.Decide(S(t, 1, 0, 0)).DesiredReplicas)).ToList();

        // Active since 0 s: at 60 s it is marked inactive, and 30 s later (the grace period) the last pod goes.
        Assert.All(decisions.Where(d => d.t < 90), d => Assert.Equal(1, d.DesiredReplicas));
        Assert.All(decisions.Where(d => d.t >= 90), d => Assert.Equal(0, d.DesiredReplicas));
    }

    [Fact]
    public void At_zero_requests_held_by_the_activator_bring_the_revision_back()
    {
        var kpa = new KnativePolicy(new KnativeOptions { ContainerConcurrency = 10, InitialScale = 0 });
        Assert.Equal(0, kpa.Decide(S(0, 0, 0, 0)).DesiredReplicas);
        Assert.Equal(0, kpa.Decide(S(1, 0, 0, 0)).DesiredReplicas);

        // 20 requests wait: the panic average is 20 / 2 s of samples, the stable one the same; 7 per pod is the target.
        Assert.Equal(0, kpa.Decide(S(2, 0, 0, 0)).DesiredReplicas);
        kpa.Decide(S(3, 0, 0, 20));
        Assert.Equal(2, kpa.Decide(S(4, 0, 0, 20)).DesiredReplicas);
    }

    // The weighted-exponential window (metric-aggregation-algorithm), against knative/serving
    // pkg/autoscaler/aggregation/bucketing_test.go (Apache-2.0, The Knative Authors; the mirror's HEAD 98e5ef90aa):
    // TestTimedFloat64BucketsWeightedAverage and TestWeightedFloat64BucketsResizeWindow's initial data set.
    [Fact]
    public void The_weighted_window_matches_upstream()
    {
        var m = KnativePolicy.SmoothingCoefficient(5);
        Assert.Equal(1 - Math.Pow(1 - 0.9999, 1 / 5.0), m);

        // One write of 2: the newest bucket weighs the coefficient.
        Assert.Equal(2 * m, KnativePolicy.WeightedAverage([2, 0, 0, 0, 0], 1, 5, m));

        // 1..6 written one a second into a 5 s window: 1 has left it; "5.812, computed a mano" upstream.
        double[] ring = [6, 2, 3, 4, 5];
        Assert.Equal(5.812, Math.Round(KnativePolicy.WeightedAverage(ring, 6, 5, m), 3, MidpointRounding.AwayFromZero)); // roundToNDigits(3, ...)
        Assert.Equal(6 * m + 5 * m * (1 - m) + 4 * m * Math.Pow(1 - m, 2) + 3 * m * Math.Pow(1 - m, 3) + 2 * m * Math.Pow(1 - m, 4), KnativePolicy.WeightedAverage(ring, 6, 5, m), 12);

        // Long windows: the newest bucket never weighs less than 0.2 (minExponent).
        Assert.Equal(0.2, KnativePolicy.SmoothingCoefficient(60));
    }

    [Fact]
    public void A_ten_second_window_and_its_three_second_panic_window_weigh_a_burst_as_upstream_does()
    {
        // Concurrency [1, 3, 5, 4, 6, 7, 2, 8, 10, 20], newest last, through NewWeightedFloat64Buckets(10 s) and (3 s):
        // upstream's WindowAverage gives 15.430728028666296 and 19.530732247258655.
        double[] values = [1, 3, 5, 4, 6, 7, 2, 8, 10, 20];
        Assert.Equal(15.430728028666296, KnativePolicy.WeightedAverage(values, 10, 10, KnativePolicy.SmoothingCoefficient(10)), 12);
        Assert.Equal(19.530732247258655, KnativePolicy.WeightedAverage(values, 10, 3, KnativePolicy.SmoothingCoefficient(3)), 12);
    }

    [Theory]
    [InlineData("linear", 3)]
    [InlineData("weighted-exponential", 13)]
    [InlineData("weightedExponential", 13)]
    public void Weighted_averaging_answers_a_new_burst_sooner(string algorithm, int expected)
    {
        // A 60 s window: 60 s idle, then 100 requests in flight for 10 s on 2 ready pods (target 10 x 70 % = 7; no panic
        // at a 1,000 % threshold). Linear: 1,000 / 60 = 16.7 gives 3 pods. Weighted (coefficient 0.2):
        // 100 x (1 - 0.8^10) = 89.3 gives 13.
        var kpa = new KnativePolicy(new KnativeOptions { ContainerConcurrency = 10, PanicThresholdPercentage = 1000, MetricAggregationAlgorithm = algorithm });
        kpa.Decide(S(0, 2, 0, 0));
        var last = 0;
        for (var t = 1; t <= 70; t++)
        {
            last = kpa.Decide(S(t, 2, 0, t > 60 ? 100 : 0)).DesiredReplicas;
        }

        Assert.Equal(expected, last);
    }

    [Fact]
    public void An_unknown_algorithm_is_refused()
    {
        var e = Assert.Throws<InvalidOptionsException>(() => new KnativePolicy(new KnativeOptions { MetricAggregationAlgorithm = "Linear" }));
        Assert.Contains("must be linear, weighted-exponential or weightedExponential", e.Message, StringComparison.Ordinal);
    }
}
