using Autoscale.Backtesting.Cluster;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Serving;
using Autoscale.Policies.Fixed;
using Autoscale.Policies.Reactive;
using Autoscale.Tests.Serving;
using Autoscale.Traces;
using FsCheck;
using FsCheck.Fluent;
using NodaTime;
using Xunit;

namespace Autoscale.Tests.Backtesting;

/// <summary>Properties of replays on random clusters: bounds, conservation (with retries), determinism.</summary>
public sealed class ClusterProperties
{
    private static readonly Instant Start = Instant.FromUtc(2026, 1, 5, 0, 0);

    private static Gen<NodePoolSpec> Pools(int index) =>
        from gpus in Gen.Choose(1, 8)
        from price in Gen.Choose(1, 40)
        from provision in Gen.Choose(0, 600)
        from maxNodes in Gen.Choose(1, 30)
        from warm in Gen.Choose(0, 2)
        from committed in Gen.Choose(0, 2)
        from scaleDown in Gen.Choose(0, 900)
        from spot in Gen.Elements(false, true)
        from rate in Gen.Choose(0, 30)
        from notice in Gen.Choose(0, 180)
        from stockout in Gen.Choose(0, 3)
        select new NodePoolSpec($"p{index}", gpus, price, provision, Math.Max(maxNodes, warm + committed), warm, scaleDown, spot, spot ? rate / 10.0 : 0, notice,
            committed, price * 0.7, stockout == 0 ? new StockoutSpec([], 1800, 600, 60) : null);

    private static Gen<ClusterSpec> Clusters() =>
        from count in Gen.Choose(1, 3)
        from p0 in Pools(0)
        from p1 in Pools(1)
        from p2 in Pools(2)
        let pools = new[] { p0, p1, p2 }.Take(count)
        from placement in Gen.Choose(0, 2)
        from crashes in Gen.Choose(0, 20)
        from drop in Gen.Elements(false, true)
        let list = pools.ToList()
        let mixed = placement == 2 && list.Any(p => p.Spot) && list.Any(p => !p.Spot)
        select new ClusterSpec(list, placement == 1 ? PlacementKind.Priority : mixed ? PlacementKind.OnDemandBase : PlacementKind.CheapestFirst,
            [.. Enumerable.Range(0, count).Reverse()], 1, 40, drop, crashes / 10.0);

    private static Gen<long[]> Traffic() =>
        from minutes in Gen.Choose(10, 90)
        from level in Gen.Choose(0, 300)
        from spike in Gen.Choose(0, 1500)
        select Enumerable.Range(0, minutes * 60).Select(t => (long)(level + (t / 600 % 3 == 1 ? spike : 0))).ToArray();

    [Fact]
    public void Node_dollars_cover_the_replicas_requests_are_conserved_and_a_second_run_is_the_same()
    {
        var cases = from cluster in Clusters() from arrivals in Traffic() from gpus in Gen.Choose(1, 4) from reactive in Gen.Elements(false, true) select (cluster, arrivals, gpus, reactive);
        Prop.ForAll(cases.ToArbitrary(), x =>
        {
            var (cluster, arrivals, gpus, reactive) = x;
            var fits = cluster.Pools.Max(p => p.GpusPerNode);
            var settings = new ReplaySettings(new SloSettings(NodaTime.Duration.FromSeconds(2), 99), new ReplicaSettings(30, Math.Min(gpus, fits), 3), Duration.FromSeconds(1), 100) { Cluster = cluster };
            var candidate = reactive
                ? new CandidateSpec("reactive", () => new ReactivePolicy(new ReactiveOptions { MinReplicas = 1, MaxReplicas = 100 }), new FixedLoadTime(Duration.FromSeconds(30)), 15)
                : new CandidateSpec("fixed", () => new FixedPolicy(new FixedOptions { Replicas = 12 }), new FixedLoadTime(Duration.FromSeconds(30)));
            var trace = new TickTrace(Start, Duration.FromSeconds(1), arrivals);
            var first = Autoscale.Backtesting.Engine.Backtest.RunOne(trace, settings, candidate);
            var second = Autoscale.Backtesting.Engine.Backtest.RunOne(trace, settings, candidate);
            var c = first.Cluster!;
            var failed = new List<string>();
            void Check(bool ok, string what)
            {
                if (!ok)
                {
                    failed.Add(what);
                }
            }

            Check(c.NodeDollars >= c.ReplicaDollars - 1e-6, $"node {c.NodeDollars} < replicas {c.ReplicaDollars}");
            Check(c.IdleGpuDollars >= -1e-9, "idle GPU dollars >= 0");
            Check(Math.Abs(c.NodeDollars - (c.OnDemandDollars + c.SpotDollars + c.CommittedDollars)) < 1e-6, "kinds add up");
            Check(Math.Abs(first.Dollars - c.NodeDollars) < 1e-9, $"dollars {first.Dollars} are node dollars {c.NodeDollars}");
            Check(c.ProvisionWaitP50Seconds <= c.ProvisionWaitP99Seconds && c.ProvisionWaitP99Seconds <= c.ProvisionWaitMaxSeconds, "wait percentiles ordered");
            Check(first.Requests == first.Served + first.Dropped + first.QueuedAtEnd, "requests conserved");
            Check(first.PeakReplicas <= 100, $"fleet bounded ({first.PeakReplicas})");
            Check(c.Pools.All(p => p.PeakNodes <= cluster.Pools.First(q => q.Name == p.Name).MaxNodes), "maxNodes holds");
            Check(first.Dollars == second.Dollars && first.Late == second.Late && c.Preemptions == second.Cluster!.Preemptions && c.Crashes == second.Cluster.Crashes, "deterministic");
            return (failed.Count == 0).Label(string.Join("; ", failed));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Serving_on_a_cluster_conserves_requests_through_reclaims_crashes_and_retries_in_both_replays()
    {
        Prop.ForAll(Gen.Choose(20, 400).ToArbitrary(), Gen.Elements(false, true).ToArbitrary(), Gen.Choose(1, 6).ToArbitrary(), (count, drop, replicas) =>
        {
            var profile = ServingFixtures.Profile(maxSequences: 8, maxBatchedTokens: 2048);
            var arrivals = Enumerable.Range(0, count).Select(i => i * 900_000_000L).ToArray();
            var workload = ServingFixtures.Workload(profile, arrivals, [.. Enumerable.Repeat(800, count)], [.. Enumerable.Repeat(200, count)]);
            var cluster = new ClusterSpec(
                [new NodePoolSpec("spot", 2, 2, 30, 100, 0, 0, true, 6, 20, 0, 2, null)], PlacementKind.CheapestFirst, [], 0, 0, drop, 3);
            var settings = ServingFixtures.Settings(profile, maxTtft: 5, drainSeconds: 600) with { Cluster = cluster };
            var r = new ServingRun(ServingFixtures.Fixed(replicas, loadSeconds: 10), settings, workload).Run();
            var fluid = new FluidRun(ServingFixtures.Fixed(replicas, loadSeconds: 10), settings with { FluidServing = true }, workload).Run();
            var c = r.Cluster!;
            return (r.Served + r.Dropped == r.Requests).Label($"served {r.Served} + dropped {r.Dropped} != {r.Requests}")
                .And(drop ? c.RequestsRetried == 0 : c.RequestsLost == 0).Label("onPreemption decides retry or drop")
                .And(!drop || r.Dropped >= c.RequestsLost).Label("lost requests are dropped")
                .And(c.NodeDollars >= c.ReplicaDollars - 1e-6).Label("node dollars cover replicas")
                .And(fluid.Served + fluid.Dropped == fluid.Requests).Label($"fluid: served {fluid.Served} + dropped {fluid.Dropped} != {fluid.Requests}")
                .And(drop ? fluid.Cluster!.RequestsRetried == 0 : fluid.Cluster!.RequestsLost == 0).Label("fluid: onPreemption decides")
                .And(fluid.Cluster!.NodeDollars >= fluid.Cluster.ReplicaDollars - 1e-6).Label("fluid: node dollars cover replicas");
        }).QuickCheckThrowOnFailure();
    }
}
