using Autoscale.Policies.Hpa;
using NodaTime;
using Xunit;

namespace Autoscale.Tests.Policies.Hpa;

/// <summary>
/// Expected numbers ported from the Kubernetes HPA controller's own tests (Apache-2.0, The Kubernetes Authors):
/// kubernetes/kubernetes pkg/controller/podautoscaler/horizontal_test.go at commit 003e86297d18a8538c9da3619871393f9703bf70
/// (TestScalingWithRules, TestNormalizeDesiredReplicasWithBehavior, TestNormalizeDesiredReplicas, TestStoreScaleEvents)
/// and replica_calculator_test.go at commit 00067268967ec95a40035bd666374a1caf48dd1a (the custom and external metric
/// cases). Inputs and expected counts carry over; the code is ours.
/// </summary>
public sealed class HpaUpstreamTests
{
    private static readonly Instant Now = Instant.FromUtc(2025, 6, 1, 12, 0);

    /// <summary>generateScalingRules: a Pods and a Percent policy when non-zero, Max, the window; no policy leaves the defaults.</summary>
    private static HpaScalingRules Rules(int pods, int podsPeriod, int percent, int percentPeriod, int window)
    {
        List<HpaScalingPolicy>? policies = null;
        if (pods != 0)
        {
            (policies ??= []).Add(new HpaScalingPolicy { Type = "Pods", Value = pods, PeriodSeconds = podsPeriod });
        }

        if (percent != 0)
        {
            (policies ??= []).Add(new HpaScalingPolicy { Type = "Percent", Value = percent, PeriodSeconds = percentPeriod });
        }

        return new HpaScalingRules { StabilizationWindowSeconds = window, SelectPolicy = "Max", Policies = policies };
    }

    /// <summary>generateEventsUniformDistribution: events spread over the last period, each in the middle of its segment (whole seconds, truncated as Go's Duration conversion does).</summary>
    private static List<HpaScaleEvent> Events(int[] raw, int periodSeconds)
    {
        var segment = (double)periodSeconds / raw.Length;
        return raw.Select((change, i) => new HpaScaleEvent(change, Now - Duration.FromSeconds((long)(periodSeconds - (segment * (i + 1)) + (segment / 2))))).ToList();
    }

    public static TheoryData<string, int[], int[], int, int, int[]?, int[]?, (int Current, int Prenormalized, int Expected), string> ScalingWithRulesCases() => new()
    {
        // name, up events, down events, min, max, up rules (pods, podsPeriod, percent, percentPeriod, window), down rules, (current, prenormalized, expected), condition
        { "prenormalized desired replicas within range", [], [], 3, 8, null, null, (5, 7, 7), "DesiredWithinRange" },
        { "prenormalized desired replicas < minReplicas", [], [], 2, 8, null, null, (3, 1, 2), "TooFewReplicas" },
        { "prenormalized desired replicas within range when minReplicas is 0", [], [], 0, 10, null, null, (1, 0, 0), "DesiredWithinRange" },
        { "maxReplicas is the limit because maxReplicas < scaleUpLimit", [], [], 1, 10, null, null, (20, 1000, 10), "TooManyReplicas" },
        { "desired replica count is more than the maximum replica count", [], [], 100, 150, null, null, (100, 1000, 150), "TooManyReplicas" },
        { "scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies", [], [], 1, 2000, [0, 0, 1, 60, 0], null, (3, 1000, 4), "ScaleUpLimit" },
        { "scaleUp with default behavior", [], [], 1, 1000, null, null, (10, 50, 20), "ScaleUpLimit" },
        { "scaleUp with pods policy larger than percent policy", [], [], 1, 1000, [100, 60, 100, 60, 0], null, (10, 500, 110), "ScaleUpLimit" },
        { "scaleUp with percent policy larger than pods policy", [], [], 1, 1000, [2, 60, 100, 60, 0], null, (10, 500, 20), "ScaleUpLimit" },
        { "scaleUp with spec MaxReplicas limitation with large pod policy", [], [], 1, 1000, [100, 60, 0, 0, 0], null, (10, 50, 50), "DesiredWithinRange" },
        { "scaleUp with spec MaxReplicas limitation with large percent policy", [], [], 1, 1000, [10000, 60, 0, 0, 0], null, (10, 50, 50), "DesiredWithinRange" },
        { "scaleUp with pod policy limitation", [], [], 1, 1000, [30, 60, 0, 0, 0], null, (10, 50, 40), "ScaleUpLimit" },
        { "scaleUp with percent policy limitation", [], [], 1, 1000, [0, 0, 200, 60, 0], null, (10, 50, 30), "ScaleUpLimit" },
        { "scaleDown with percent policy larger than pod policy", [], [], 1, 1000, null, [20, 60, 1, 60, 300], (100, 2, 80), "ScaleDownLimit" },
        { "scaleDown with pod policy larger than percent policy", [], [], 1, 1000, null, [2, 60, 1, 60, 300], (100, 2, 98), "ScaleDownLimit" },
        { "scaleDown with spec MinReplicas=nil limitation with large pod policy", [], [], 1, 1000, null, [100, 60, 0, 0, 300], (10, 0, 1), "TooFewReplicas" },
        { "scaleDown with spec MinReplicas limitation with large percent policy", [], [], 5, 1000, null, [0, 0, 100, 60, 300], (10, 2, 5), "TooFewReplicas" },
        { "scaleDown with pod policy limitation", [], [], 1, 1000, null, [5, 60, 0, 0, 300], (10, 2, 5), "ScaleDownLimit" },
        { "scaleDown with percent policy limitation", [], [], 1, 1000, null, [0, 0, 50, 60, 300], (10, 5, 5), "DesiredWithinRange" },
        { "scaleUp with spec MaxReplicas limitation with large pod policy and events", [1, 5, 9], [], 1, 200, [300, 60, 0, 0, 0], null, (100, 500, 200), "TooManyReplicas" },
        { "scaleUp with spec MaxReplicas limitation with large percent policy and events", [1, 5, 9], [], 1, 200, [0, 0, 10000, 60, 0], null, (100, 500, 200), "TooManyReplicas" },
        { "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events", [1, 5, 9], [], 1, 1000, [5, 120, 0, 0, 0], null, (100, 500, 100), "ScaleUpLimit" },
        { "scaleUp with pod policy and previous scale up events", [1, 5, 9], [], 1, 1000, [150, 120, 0, 0, 0], null, (100, 500, 235), "ScaleUpLimit" },
        { "scaleUp with percent policy and previous scale up events", [1, 5, 9], [], 1, 1000, [0, 0, 200, 120, 0], null, (100, 500, 255), "ScaleUpLimit" },
        { "scaleUp with percent policy and previous scale up and down events", [4], [2], 1, 1000, [0, 0, 300, 300, 0], null, (6, 24, 16), "ScaleUpLimit" },
        { "scaleDown with default policy and previous events", [], [1, 5, 9], 1, 1000, null, null, (10, 5, 5), "DesiredWithinRange" },
        { "scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events", [], [1, 5, 9], 1, 1000, null, [115, 120, 0, 0, 300], (100, 0, 1), "TooFewReplicas" },
        { "scaleDown with spec MinReplicas limitation with large pod policy and previous events", [], [1, 5, 9], 5, 1000, null, [130, 120, 0, 0, 300], (100, 0, 5), "TooFewReplicas" },
        { "scaleDown with spec MinReplicas limitation with large percent policy and previous events", [], [1, 5, 9], 5, 1000, null, [0, 0, 100, 120, 300], (100, 2, 5), "TooFewReplicas" },
        { "scaleDown with pod policy limitation and previous events", [], [1, 5, 9], 1, 1000, null, [5, 120, 0, 0, 300], (100, 2, 100), "ScaleDownLimit" },
        { "scaleDown with percent policy limitation and previous events", [], [2, 4, 6], 1, 1000, null, [0, 0, 50, 120, 300], (100, 0, 56), "ScaleDownLimit" },
        { "scaleDown with percent policy and previous scale up and down events", [2], [4], 1, 1000, null, [0, 0, 50, 180, 0], (10, 1, 6), "ScaleDownLimit" },
        { "scaleDown with previous events preventing further scale down", [], [10, 10, 10], 1, 1000, null, [0, 0, 10, 120, 300], (100, 0, 100), "ScaleDownLimit" },
        { "scaleDown with with previous events still allowing more scale down", [], [10, 10, 10], 1, 1000, null, [0, 0, 1000, 120, 300], (10, 5, 5), "DesiredWithinRange" },
        { "check 'outdated' flag for events for one behavior for up", [8, 12, 9, 11], [], 1, 1000, [1000, 60, 0, 0, 0], null, (100, 200, 200), "DesiredWithinRange" },
        { "check that events were not marked 'outdated' for two different policies in the behavior for up", [8, 12, 9, 11], [], 1, 1000, [1000, 120, 100, 60, 0], null, (100, 200, 200), "DesiredWithinRange" },
        { "check that events were marked 'outdated' for two different policies in the behavior for up", [8, 12, 9, 11], [], 1, 1000, [1000, 30, 100, 60, 0], null, (100, 200, 200), "DesiredWithinRange" },
        { "check 'outdated' flag for events for one behavior for down", [], [8, 12, 9, 11], 1, 1000, null, [1000, 60, 0, 0, 300], (100, 5, 5), "DesiredWithinRange" },
        { "check that events were not marked 'outdated' for two different policies in the behavior for down", [], [8, 12, 9, 11], 1, 1000, null, [1000, 120, 100, 60, 300], (100, 5, 5), "DesiredWithinRange" },
        { "check that events were marked 'outdated' for two different policies in the behavior for down", [], [8, 12, 9, 11], 1, 1000, null, [1000, 30, 100, 60, 300], (100, 5, 5), "DesiredWithinRange" },
    };

    [Theory]
    [MemberData(nameof(ScalingWithRulesCases))]
    public void Scaling_with_rules_matches_upstream(string name, int[] upEvents, int[] downEvents, int min, int max, int[]? up, int[]? down, (int Current, int Prenormalized, int Expected) counts, string condition)
    {
        var (current, prenormalized, expected) = counts;
        var controller = new HpaController(Duration.FromMinutes(5));
        controller.ScaleUpEvents.AddRange(Events(upEvents, 120));
        controller.ScaleDownEvents.AddRange(Events(downEvents, 120));
        var upRules = HpaRules.Up(up is null ? null : Rules(up[0], up[1], up[2], up[3], up[4]), 0.1);
        var downRules = HpaRules.Down(down is null ? null : Rules(down[0], down[1], down[2], down[3], down[4]), 300, 0.1);

        var (replicas, reason) = controller.ConvertDesiredReplicasWithBehaviorRate(current, prenormalized, min, max, upRules, downRules, Now);

        Assert.True(expected == replicas, $"{name}: expected {expected}, got {replicas}");
        Assert.Equal(condition, reason);
    }

    public static TheoryData<string, (int Replicas, int SecondsAgo)[], int, int, int, int[]?, int, int> StabilizationCases() => new()
    {
        // name, recommendations, current, prenormalized, expected, expected stored recommendations, up window, down window
        { "empty recommendations for scaling down", [], 100, 5, 5, [5], 0, 0 },
        { "simple scale down stabilization", [(4, 120), (5, 60)], 100, 3, 5, [4, 5, 3], 0, 180 },
        { "simple scale up stabilization", [(4, 120), (5, 60)], 1, 7, 4, [4, 5, 7], 300, 0 },
        { "no scale down stabilization", [(1, 120), (2, 60)], 100, 3, 3, [1, 2, 3], 300, 0 },
        { "no scale up stabilization", [(4, 120), (5, 60)], 1, 3, 3, [4, 5, 3], 0, 300 },
        { "no scale down stabilization, reuse recommendation element", [(10, 600), (9, 540)], 100, 3, 3, [10, 3], 0, 0 },
        { "no scale up stabilization, reuse recommendation element", [(10, 600), (9, 540)], 1, 100, 100, [10, 100], 0, 0 },
        { "scale down stabilization, reuse one of obsolete recommendation element", [(10, 600), (4, 60), (5, 120), (9, 540)], 100, 3, 5, [10, 4, 5, 3], 0, 180 },
        { "scale up stabilization, reuse one of obsolete recommendation element", [(10, 6000), (6, 60), (5, 120), (9, 180)], 1, 100, 5, [100, 6, 5, 9], 300, 0 },
        { "scale up and down stabilization, do not scale up when prenormalized rec goes down", [(2, 6000), (3, 180)], 2, 1, 2, null, 300, 300 },
        { "scale up and down stabilization, do not scale down when prenormalized rec goes up", [(2, 6000), (1, 180)], 2, 3, 2, null, 300, 300 },
    };

    [Theory]
    [MemberData(nameof(StabilizationCases))]
    public void Stabilization_with_behaviors_matches_upstream(string name, (int Replicas, int SecondsAgo)[] recommendations, int current, int prenormalized, int expected, int[]? stored, int upWindow, int downWindow)
    {
        var controller = new HpaController(Duration.FromMinutes(5));
        controller.Recommendations.AddRange(recommendations.Select(r => new HpaRecommendation(r.Replicas, Now - Duration.FromSeconds(r.SecondsAgo))));
        var up = new HpaRules(upWindow, "Max", [], 0.1);
        var down = new HpaRules(downWindow, "Max", [], 0.1);

        var replicas = controller.StabilizeRecommendationWithBehaviors(current, prenormalized, up, down, Now);

        Assert.True(expected == replicas, $"{name}: expected {expected}, got {replicas}");
        if (stored is not null)
        {
            Assert.Equal(stored, controller.Recommendations.Select(r => r.Replicas));
        }
    }

    public static TheoryData<string, (int Replicas, int SecondsAgo)[], int, int, int> LegacyStabilizationCases() => new()
    {
        // name, recommendations, prenormalized, expected, log length afterwards (5-minute downscale window)
        { "empty log", [], 5, 5, 1 },
        { "stabilize", [(4, 120), (5, 60)], 3, 5, 3 },
        { "no stabilize", [(1, 120), (2, 60)], 3, 3, 3 },
        { "no stabilize - old recommendations", [(10, 600), (9, 540)], 3, 3, 2 },
        { "stabilize - old recommendations", [(10, 600), (4, 60), (5, 120), (9, 540)], 3, 5, 4 },
    };

    [Theory]
    [MemberData(nameof(LegacyStabilizationCases))]
    public void Stabilization_without_behavior_matches_upstream(string name, (int Replicas, int SecondsAgo)[] recommendations, int prenormalized, int expected, int logLength)
    {
        var controller = new HpaController(Duration.FromMinutes(5));
        controller.Recommendations.AddRange(recommendations.Select(r => new HpaRecommendation(r.Replicas, Now - Duration.FromSeconds(r.SecondsAgo))));

        var replicas = controller.StabilizeRecommendation(prenormalized, Now);

        Assert.True(expected == replicas, $"{name}: expected {expected}, got {replicas}");
        Assert.Equal(logLength, controller.Recommendations.Count);
    }

    public static TheoryData<string, (int Change, int SecondsAgo)[], int[]?, int, (int Change, bool Outdated)[]> StoreEventCases() => new()
    {
        // name, previous events, rules (pods, podsPeriod, percent, percentPeriod, window) or none, change in the last 60 s, events afterwards
        { "empty entries with default behavior", [], null, 0, [] },
        { "empty entries with two-policy-behavior", [], [10, 60, 100, 60, 0], 0, [(5, false)] },
        { "one outdated entry to be kept untouched without behavior", [(7, 61)], null, 0, [(7, false)] },
        { "one outdated entry to be replaced with behavior", [(7, 61)], [10, 60, 100, 60, 0], 0, [(5, false)] },
        { "one actual entry to be not touched with behavior", [(7, 58)], [10, 60, 100, 60, 0], 7, [(7, false), (5, false)] },
        { "two entries, one of them to be replaced", [(7, 61), (6, 59)], [10, 60, 0, 0, 0], 6, [(5, false), (6, false)] },
        { "replace one entry, use policies with different periods", [(8, 29), (6, 59), (7, 61), (9, 61)], [10, 60, 100, 30, 0], 14, [(8, false), (6, false), (7, true), (5, false)] },
        { "two entries, both actual", [(7, 58), (6, 59)], [10, 120, 100, 30, 0], 13, [(7, false), (6, false), (5, false)] },
    };

    [Theory]
    [MemberData(nameof(StoreEventCases))]
    public void Scale_events_are_stored_as_upstream(string name, (int Change, int SecondsAgo)[] previous, int[]? rules, int changeInLastMinute, (int Change, bool Outdated)[] after)
    {
        var given = rules is null ? null : Rules(rules[0], rules[1], rules[2], rules[3], rules[4]);
        foreach (var up in new[] { true, false })
        {
            var controller = new HpaController(Duration.FromMinutes(5));
            var events = up ? controller.ScaleUpEvents : controller.ScaleDownEvents;
            events.AddRange(previous.Select(e => new HpaScaleEvent(e.Change, Now - Duration.FromSeconds(e.SecondsAgo))));

            Assert.Equal(changeInLastMinute, HpaController.ChangeInPeriod(60, events, Now));
            controller.StoreScaleEvent(given is not null, HpaRules.Up(given, 0.1), HpaRules.Down(given, 300, 0.1), 10, up ? 15 : 5, Now);

            Assert.True(after.Length == events.Count, $"{name} ({(up ? "up" : "down")}): {events.Count} events");
            Assert.Equal(after, events.Select(e => (e.Change, e.Outdated)));
        }
    }

    [Theory]
    // TestReplicaCalcScaleDownCM, TestReplicaCalcToleranceCM, TestReplicaCalcScaleUpCMExternalNoLabels (a Pods metric despite its name)
    [InlineData(5, new long[] { 12000, 12000, 12000, 12000, 12000 }, 20000, 3)]
    [InlineData(3, new long[] { 20000, 21000, 21000 }, 20000, 3)]
    [InlineData(1, new long[] { 8600 }, 4400, 2)]
    public void Pods_metric_matches_upstream(int current, long[] levels, long target, int expected)
    {
        var proposal = HpaReplicaCalculator.PodsAverageValue(current, levels.Sum(), target, new HpaPods(levels.Length, 0), new HpaTolerances(0.1, 0.1));
        Assert.Equal(expected, proposal);
    }

    [Theory]
    // TestReplicaCalcScaleDown (5 pods at 100, 300, 500, 250, 250 of 1000 milli-CPU, 50 %), TestReplicaCalcTolerance (3060 of 3000, 100 %),
    // TestReplicaCalcMissingMetricsNoChangeEq, ...NoChangeGt and ...NoChangeLt (one of two pods reports 1000, 1900, 600; 100 %),
    // TestReplicaCalcMissingMetrics (two of four report 400 and 95; 100 %). Every pod requests 1000 milli-CPU.
    [InlineData(5, 1400, 5, 0, 50, 3)]
    [InlineData(3, 3060, 3, 0, 100, 3)]
    [InlineData(2, 1000, 1, 1, 100, 2)]
    [InlineData(2, 1900, 1, 1, 100, 2)]
    [InlineData(2, 600, 1, 1, 100, 2)]
    [InlineData(4, 495, 2, 2, 100, 3)]
    public void Resource_utilization_matches_upstream(int current, long usage, int ready, int missing, int target, int expected) =>
        Assert.Equal(expected, HpaReplicaCalculator.ResourceUtilization(current, usage, 1000, target, new HpaPods(ready, missing), new HpaTolerances(0.1, 0.1)));

    [Theory]
    // TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods (1 of 3 pods ready), TestReplicaCalcScaleDownCMExternal, TestReplicaCalcToleranceCMExternal
    [InlineData(3, 1, 8600, 4400, 2)]
    [InlineData(5, 5, 8600, 14334, 3)]
    [InlineData(3, 3, 8600, 8888, 3)]
    public void External_value_matches_upstream(int current, int ready, long level, long target, int expected) =>
        Assert.Equal(expected, HpaReplicaCalculator.ExternalValue(current, level, target, ready, new HpaTolerances(0.1, 0.1)));

    [Theory]
    // TestReplicaCalcScaleDownCMObject and TestReplicaCalcToleranceCMObject (Value targets: getUsageRatioReplicaCount, as for External);
    // TestReplicaCalcScaleDownPerPodCMObject and TestReplicaCalcTolerancePerPodCMObject (AverageValue: GetObjectPerPodMetricReplicas).
    [InlineData(5, 12000, 20000, false, 3)]
    [InlineData(3, 20666, 20000, false, 3)]
    [InlineData(5, 6000, 2000, true, 3)]
    [InlineData(4, 20166, 5000, true, 4)]
    public void Object_metrics_match_upstream(int current, long level, long target, bool perPod, int expected) =>
        Assert.Equal(expected, perPod
            ? HpaReplicaCalculator.ExternalAverageValue(current, level, target, new HpaTolerances(0.1, 0.1))
            : HpaReplicaCalculator.ExternalValue(current, level, target, current, new HpaTolerances(0.1, 0.1)));

    [Theory]
    // TestReplicaCalcScaleUpPerPodCMExternal, TestReplicaCalcScaleDownPerPodCMExternal, TestReplicaCalcTolerancePerPodCMExternal
    [InlineData(3, 8600, 2150, 4)]
    [InlineData(5, 8600, 2867, 3)]
    [InlineData(3, 8600, 2900, 3)]
    public void External_average_value_matches_upstream(int statusReplicas, long level, long target, int expected) =>
        Assert.Equal(expected, HpaReplicaCalculator.ExternalAverageValue(statusReplicas, level, target, new HpaTolerances(0.1, 0.1)));
}
