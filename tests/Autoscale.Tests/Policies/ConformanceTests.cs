using System.Text.Json;
using Autoscale.Policies.Conformance;
using Autoscale.Policies.Catalog;

namespace Autoscale.Tests.Policies;

public sealed class ConformanceTests
{
    public static TheoryData<string, string> BuiltIns => new()
    {
        { "textbook", """{ "baseReplicas": 2, "spares": 2 }""" },
        { "fixed", """{ "replicas": 4 }""" },
        { "reactive", """{ "minReplicas": 0, "maxReplicas": 40, "scaleToZeroGraceSeconds": 120 }""" },
        { "reactive", """{ "minReplicas": 1, "maxReplicas": 80, "panicThresholdPercent": 200, "metricWindowSeconds": 60 }""" },
        { "reactive", """{ "metric": "inFlightPerReplica", "targetInFlightPerReplica": 20 }""" },
        { "warm-floor", """{ "minReplicas": 3 }""" },
        { "scheduled-floor", """{ "timeZone": "Europe/Berlin", "schedule": [{ "days": "Mon-Fri", "from": "00:30", "to": "02:00", "minReplicas": 5 }] }""" },
        { "predictive", """{ "bucketSeconds": 300 }""" },
        { "hpa", """{ "maxReplicas": 60, "metrics": [ { "type": "Pods", "pods": { "metric": { "name": "inFlight" }, "target": { "type": "AverageValue", "averageValue": 20 } } } ] }""" },
        { "hpa", """{ "minReplicas": 0, "maxReplicas": 60, "behavior": { "scaleDown": { "stabilizationWindowSeconds": 60, "policies": [ { "type": "Pods", "value": 2, "periodSeconds": 30 } ] } }, "metrics": [ { "type": "External", "external": { "metric": { "name": "arrivalRps" }, "target": { "type": "Value", "value": 25 } } }, { "type": "External", "external": { "metric": { "name": "queue" }, "target": { "type": "AverageValue", "averageValue": 40 } } } ] }""" },
        { "hpa", """{ "maxReplicas": 60, "metrics": [ { "type": "Resource", "resource": { "name": "cpu", "signal": "arrivalRps", "target": { "type": "Utilization", "averageUtilization": 70 } } } ] }""" },
        { "keda", """{ "maxReplicaCount": 60, "triggers": [ { "type": "prometheus", "signal": "inFlight", "metadata": { "threshold": "20" } } ] }""" },
        { "keda", """{ "minReplicaCount": 2, "maxReplicaCount": 60, "cooldownPeriod": 60, "triggers": [ { "type": "prometheus", "signal": "arrivalRps", "metricType": "Value", "metadata": { "threshold": "25", "activationThreshold": "1" } } ] }""" },
        { "ray-serve", """{ "minReplicas": 1, "maxReplicas": 60 }""" },
        { "ray-serve", """{ "minReplicas": 0, "maxReplicas": 60, "targetOngoingRequests": 5, "upscaleDelayS": 0, "downscaleDelayS": 60, "downscaleToZeroDelayS": 120, "upscalingFactor": 2 }""" },
        { "knative", """{ "containerConcurrency": 10 }""" },
        { "knative", """{ "metric": "rps", "target": 20, "minScale": 1, "maxScale": 60, "scaleDownDelay": 30, "stableWindow": 30 }""" },
        { "max", """{ "policies": [ { "policy": "scheduled-floor", "options": { "defaultMinReplicas": 2 } }, { "policy": "predictive" } ] }""" },
    };

    [Theory]
    [MemberData(nameof(BuiltIns))]
    public void Every_built_in_policy_passes_the_conformance_checks(string policy, string options)
    {
        var catalog = PolicyCatalog.CreateBuiltIn();
        using var json = JsonDocument.Parse(options);
        var element = json.RootElement.Clone();

        var checks = PolicyConformance.Run(() => catalog.Create(policy, element));

        Assert.All(checks, c => Assert.True(c.Passed, $"{c.Name}: {c.Detail} (tick {c.Tick}, {c.Trace})"));
        Assert.Equal(["bounds", "determinism", "no-look-ahead", "empty-trace", "flat-trace"], checks.Select(c => c.Name));
    }

    [Fact]
    public void A_policy_that_remembers_the_future_between_runs_is_caught()
    {
        var checks = PolicyConformance.Run(() => new Clairvoyant());

        var check = checks.Single(c => c.Name == "no-look-ahead");
        Assert.False(check.Passed);
        Assert.Contains("sees the future or keeps state between runs", check.Detail);
        Assert.NotNull(check.Tick);
    }

    [Fact]
    public void A_policy_that_exceeds_max_replicas_is_caught_with_its_tick()
    {
        var checks = PolicyConformance.Run(() => new Greedy());

        var check = checks.Single(c => c.Name == "bounds");
        Assert.False(check.Passed);
        Assert.Equal("decided 61 replicas, outside [0, 60] (the signal's MaxReplicas)", check.Detail);
        Assert.NotNull(check.Tick);
    }

    [Fact]
    public void A_policy_that_throws_fails_with_the_message_and_tick()
    {
        var checks = PolicyConformance.Run(() => new Fragile());

        var check = checks.Single(c => c.Name == "bounds");
        Assert.False(check.Passed);
        Assert.Equal("the policy threw InvalidOperationException: no queue allowed", check.Detail);
        Assert.NotNull(check.Tick);
    }

    [Fact]
    public void A_flapping_policy_is_caught()
    {
        var checks = PolicyConformance.Run(() => new Flapper());

        Assert.False(checks.Single(c => c.Name == "flat-trace").Passed);
    }

    /// <summary>Keeps every arrival it has seen, by time, across instances: the next run knows the future.</summary>
    private sealed class Clairvoyant : IScalingPolicy
    {
        private static readonly Dictionary<NodaTime.Instant, long> Seen = [];

        public ScalingDecision Decide(in ScalingSignal signal)
        {
            lock (Seen)
            {
                var soon = Seen.TryGetValue(signal.Now + NodaTime.Duration.FromSeconds(60), out var a) ? a : 0;
                Seen[signal.Now] = signal.ArrivalsLastInterval;
                return new ScalingDecision((int)Math.Min(signal.MaxReplicas, 1 + soon / 30));
            }
        }
    }

    private sealed class Greedy : IScalingPolicy
    {
        public ScalingDecision Decide(in ScalingSignal signal) => new(signal.QueueDepth > 100 ? signal.MaxReplicas + 1 : 2);
    }

    private sealed class Fragile : IScalingPolicy
    {
        public ScalingDecision Decide(in ScalingSignal signal) =>
            signal.QueueDepth > 500 ? throw new InvalidOperationException("no queue allowed") : new ScalingDecision(1);
    }

    private sealed class Flapper : IScalingPolicy
    {
        private int _calls;

        public ScalingDecision Decide(in ScalingSignal signal) => new(12 + (_calls++ % 2));
    }
}
