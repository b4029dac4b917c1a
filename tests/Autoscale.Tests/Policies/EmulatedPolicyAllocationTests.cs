using Autoscale.Policies.Hpa;
using Autoscale.Policies.Keda;
using Autoscale.Policies.Knative;
using Autoscale.Policies.RayServe;
using NodaTime;

namespace Autoscale.Tests.Policies;

/// <summary>The emulated autoscalers keep bounded state and allocate nothing per decision once warm, as the engine's loop needs.</summary>
[Collection(AllocationCollection.Name)]
public sealed class EmulatedPolicyAllocationTests
{
    public static TheoryData<string> Policies => new() { "hpa", "keda", "ray-serve", "knative" };

    private static IScalingPolicy Create(string name) => name switch
    {
        "hpa" => new HpaPolicy(new HpaOptions
        {
            MaxReplicas = 50,
            Behavior = new HpaBehavior { ScaleDown = new HpaScalingRules { StabilizationWindowSeconds = 120 } },
            Metrics = [new HpaMetricSpec { Type = "Pods", Pods = new HpaMetricSource { Metric = new() { Name = "inFlight" }, Target = new() { AverageValue = 10 } } }],
        }),
        "keda" => new KedaPolicy(new KedaOptions { MaxReplicaCount = 50, CooldownPeriod = 60, Triggers = [new KedaTrigger { Signal = "queue", Metadata = new() { ["threshold"] = "20" } }] }),
        "ray-serve" => new RayServePolicy(new RayServeOptions { MinReplicas = 0, MaxReplicas = 50, UpscaleDelayS = OptionDuration.FromSeconds(5), DownscaleDelayS = OptionDuration.FromSeconds(20) }),
        _ => new KnativePolicy(new KnativeOptions { ContainerConcurrency = 10, ScaleDownDelay = OptionDuration.FromSeconds(30) }),
    };

    [Theory]
    [MemberData(nameof(Policies))]
    public void Decisions_allocate_nothing_once_warm(string name)
    {
        var policy = Create(name);
        var start = Instant.FromUtc(2025, 6, 2, 0, 0);
        var replicas = 0;
        void Run(int from, int to)
        {
            for (var t = from; t < to; t++)
            {
                var load = (t / 300 % 3) switch { 0 => 0, 1 => 40, _ => 400 };
                var signal = new ScalingSignal(start + Duration.FromSeconds(t), Duration.FromSeconds(1), replicas, 0, load, load, 30, Duration.FromSeconds(60))
                {
                    ServedLastInterval = load / 2,
                    MaxReplicas = 60,
                };
                replicas = policy.Decide(signal).DesiredReplicas;
            }
        }

        Run(0, 5_000);
        var before = GC.GetAllocatedBytesForCurrentThread();
        Run(5_000, 20_000);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
