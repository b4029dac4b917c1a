using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using Autoscale.Traces;
using Autoscale.Policies.Reactive;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;

namespace Autoscale.Tests.Backtesting.LoadTime;

public sealed class PhasedLoadTimeTests
{
    /// <summary>Starts <paramref name="loads"/> at tick 0 and returns the tick each becomes ready, in completion order.</summary>
    private static List<long> ReadyTicks(PhasedLoadTime model, int loads, long seed = 1)
    {
        var sim = model.CreateSimulation(1, seed);
        for (var i = 0; i < loads; i++)
        {
            sim.Start(0, i);
        }

        var ready = new List<long>();
        for (long t = 1; sim.Loading > 0 && t < 10_000_000; t++)
        {
            var n = sim.CompleteDue(t);
            ready.AddRange(Enumerable.Repeat(t, n));
        }

        return ready;
    }

    [Fact]
    public void Exercise_23_6_1_a_140_GB_over_a_shared_link_is_pull_bound()
    {
        var model = new PhasedLoadTime { ModelSizeGb = 140, NodeBandwidthGbps = 1.25, ShardSeconds = 30, WarmSeconds = 40 };

        Assert.Equal(LoadTerm.Pull, model.BindingTerm());
        Assert.Equal(112, model.Breakdown().Pull, 9);
        Assert.Equal(182, model.ExpectedLoadTime.TotalSeconds, 9);
    }

    [Fact]
    public void Exercise_23_6_1_b_a_cached_3_GB_model_that_recompiles_graphs_is_warm_bound()
    {
        var model = new PhasedLoadTime
        {
            ModelSizeGb = 3, NodeBandwidthGbps = 1.25, ShardSeconds = 3, WarmSeconds = 60,
            Cache = new NodeCache(RetentionSeconds: 3600, BandwidthGbps: 3),
        };

        Assert.Equal(LoadTerm.Warm, model.BindingTerm(fromCache: true));
        Assert.Equal(1, model.Breakdown(fromCache: true).Pull, 9);
        // A snapshot restore attacks exactly that term.
        Assert.Equal(LoadTerm.Shard, (model with { SnapshotRestoreSeconds = 2 }).BindingTerm(fromCache: true));
    }

    [Fact]
    public void Exercise_23_6_1_c_a_70B_model_on_local_disk_sharded_over_8_GPUs_is_shard_bound()
    {
        var model = new PhasedLoadTime { ModelSizeGb = 140, NodeBandwidthGbps = 7, ShardSeconds = 90, WarmSeconds = 30 };

        Assert.Equal(LoadTerm.Shard, model.BindingTerm());
    }

    [Fact]
    public void The_seed_example_210_s_from_the_store_and_about_40_s_from_a_local_cache()
    {
        // 68 GB (the seed's 34B model): 0.4 GB/s from object storage, 3.5 GB/s from local NVMe, plus shard and warm.
        var model = new PhasedLoadTime
        {
            ModelSizeGb = 68, NodeBandwidthGbps = 0.4, ShardSeconds = 10, WarmSeconds = 30,
            Cache = new NodeCache(3600, 3.5),
        };

        Assert.Equal(210, model.NominalSeconds(), 0);
        Assert.InRange(model.NominalSeconds(fromCache: true), 39, 60);
    }

    [Fact]
    public void One_load_alone_takes_its_nominal_time_rounded_up_to_a_tick()
    {
        var model = new PhasedLoadTime { ModelSizeGb = 10, NodeBandwidthGbps = 0.3, ShardSeconds = 5.5, WarmSeconds = 7 };
        Assert.Equal([(long)Math.Ceiling(10 / 0.3 + 12.5)], ReadyTicks(model, 1));
    }

    [Fact]
    public void Streaming_overlaps_pull_and_shard()
    {
        var serial = new PhasedLoadTime { ModelSizeGb = 40, NodeBandwidthGbps = 1, ShardSeconds = 30, WarmSeconds = 10 };
        var streaming = serial with { Streaming = true };

        Assert.Equal(80, serial.NominalSeconds(), 9);
        Assert.Equal(50, streaming.NominalSeconds(), 9);
        Assert.Equal([50L], ReadyTicks(streaming, 1));
    }

    [Fact]
    public void A_burst_of_a_hundred_starts_shares_the_store_and_loads_slower_than_one()
    {
        var model = new PhasedLoadTime { ModelSizeGb = 14, NodeBandwidthGbps = 2, StoreBandwidthGbps = 20, ShardSeconds = 5, WarmSeconds = 10 };

        var alone = ReadyTicks(model, 1).Single();
        var burst = ReadyTicks(model, 100);

        Assert.Equal(22, alone);                 // 7 s pull + 15 s
        Assert.Equal(100, burst.Count);
        Assert.Equal(85, burst.Min());           // 100 pulls share 20 GB/s: 70 s each, then 15 s
        Assert.True(burst.Max() >= burst.Min());
    }

    [Property(MaxTest = 100)]
    public Property More_bandwidth_never_loads_slower() =>
        Prop.ForAll(Gen.Choose(1, 300).ToArbitrary(), Gen.Choose(1, 50).ToArbitrary(), Gen.Choose(1, 30).ToArbitrary(), (sizeGb, bandwidthTenths, extraTenths) =>
        {
            var slow = new PhasedLoadTime { ModelSizeGb = sizeGb, NodeBandwidthGbps = bandwidthTenths / 10.0, StoreBandwidthGbps = 5, ShardSeconds = 7, WarmSeconds = 3 };
            var fast = slow with { NodeBandwidthGbps = (bandwidthTenths + extraTenths) / 10.0, StoreBandwidthGbps = 5 + extraTenths / 10.0 };
            return ReadyTicks(fast, 3).Max() <= ReadyTicks(slow, 3).Max();
        });

    [Property(MaxTest = 60)]
    public Property More_concurrent_loads_never_load_faster_each() =>
        Prop.ForAll(Gen.Choose(1, 40).ToArbitrary(), Gen.Choose(1, 20).ToArbitrary(), (loads, more) =>
        {
            var model = new PhasedLoadTime { ModelSizeGb = 20, NodeBandwidthGbps = 2, StoreBandwidthGbps = 10, ShardSeconds = 4, WarmSeconds = 6 };
            var few = ReadyTicks(model, loads);
            var many = ReadyTicks(model, loads + more);
            return many.Min() >= few.Min() && many.Average() >= few.Average();
        });

    [Property(MaxTest = 100)]
    public Property A_cache_hit_is_never_slower_than_a_miss_when_the_cache_is_at_least_as_fast() =>
        Prop.ForAll(Gen.Choose(1, 200).ToArbitrary(), Gen.Choose(1, 40).ToArbitrary(), Gen.Choose(0, 40).ToArbitrary(), (sizeGb, storeTenths, extraTenths) =>
        {
            var store = storeTenths / 10.0;
            var model = new PhasedLoadTime
            {
                ModelSizeGb = sizeGb, NodeBandwidthGbps = store, ShardSeconds = 5, WarmSeconds = 5,
                Cache = new NodeCache(600, store + extraTenths / 10.0),
            };
            var sim = model.CreateSimulation(1, 1);
            sim.Release(0, 1);
            sim.Start(1, 0);   // takes the cached node
            sim.Start(1, 1);   // no node left: from the store
            var ready = new List<long>();
            for (long t = 2; sim.Loading > 0; t++)
            {
                ready.AddRange(Enumerable.Repeat(t, sim.CompleteDue(t)));
            }

            var metrics = new Dictionary<string, double>();
            sim.Finish(ready.Max(), metrics);
            return metrics["cacheHits"] == 1 && ready[0] <= ready[1];
        });

    [Fact]
    public void Jitter_is_the_same_for_the_same_seed_and_keyed_by_the_start()
    {
        var model = new PhasedLoadTime { ModelSizeGb = 50, NodeBandwidthGbps = 1, ShardSeconds = 10, WarmSeconds = 20, JitterSigma = 0.3 };

        Assert.Equal(ReadyTicks(model, 20, seed: 5), ReadyTicks(model, 20, seed: 5));
        Assert.NotEqual(ReadyTicks(model, 20, seed: 5), ReadyTicks(model, 20, seed: 6));
        // One more start does not reshuffle the others' draws.
        Assert.Equal(Jitter.LogNormalFactor(0.3, 5, 7, RandomStream.LoadJitter), Jitter.LogNormalFactor(0.3, 5, 7, RandomStream.LoadJitter));
        Assert.Equal(model.LoadDuration(3), model.LoadDuration(3));
    }

    [Fact]
    public void The_mean_of_many_jittered_loads_matches_the_nominal_time()
    {
        var model = new PhasedLoadTime { ModelSizeGb = 50, NodeBandwidthGbps = 1, ShardSeconds = 10, WarmSeconds = 20, JitterSigma = 0.4 };

        var mean = Enumerable.Range(0, 20_000).Average(i => model.LoadDuration(i).TotalSeconds);

        Assert.Equal(model.NominalSeconds(), mean, 0.02 * model.NominalSeconds());
    }

    [Fact]
    public void A_node_cache_that_outlives_the_gap_between_spikes_recovers_faster_and_pays_for_the_hold()
    {
        // Two 10-minute spikes of 600 req/s an hour apart on a 30 req/s base; reactive scales down in between.
        var arrivals = new long[2 * 3600];
        for (var t = 0; t < arrivals.Length; t++)
        {
            var inSpike = t % 3600 is >= 600 and < 1200;
            arrivals[t] = inSpike ? 600 : 30;
        }

        var trace = new TickTrace(Instant.FromUtc(2026, 1, 5, 0, 0), Duration.FromSeconds(1), arrivals);
        var settings = new ReplaySettings(new SloSettings(NodaTime.Duration.FromSeconds(2), 99), new ReplicaSettings(30, 1, 3), Duration.FromSeconds(1), 100);
        var store = new PhasedLoadTime { ModelSizeGb = 68, NodeBandwidthGbps = 0.4, StoreBandwidthGbps = 4, ShardSeconds = 10, WarmSeconds = 30 };
        var cached = store with { Cache = new NodeCache(RetentionSeconds: 3 * 3600, BandwidthGbps: 3.5, HoldDollarsPerHour: 1.0) };
        var reactive = new ReactiveOptions { MinReplicas = 1, MaxReplicas = 100, ScaleDownStabilizationSeconds = OptionDuration.FromSeconds(120) };
        CandidateSpec Spec(string name, ILoadTimeModel model) => new(name, () => new ReactivePolicy(reactive), model, DecisionIntervalTicks: 15) { PolicyName = "reactive" };

        // Violations during the second spike only.
        long SecondSpikeViolations(ILoadTimeModel model)
        {
            var first = Backtest.RunOne(new TickTrace(trace.Start, trace.Tick, arrivals[..3600]), settings, Spec("a", model));
            var both = Backtest.RunOne(trace, settings, Spec("b", model));
            return both.Violations - first.Violations;
        }

        var withoutCache = Backtest.RunOne(trace, settings, Spec("store", store));
        var withCache = Backtest.RunOne(trace, settings, Spec("cache", cached));

        Assert.True(SecondSpikeViolations(cached) < SecondSpikeViolations(store) / 2,
            $"second spike: {SecondSpikeViolations(cached)} late with the cache, {SecondSpikeViolations(store)} without");
        Assert.True(withCache.LoadMetrics["cacheHits"] > 0);
        Assert.True(withCache.HoldDollars > 0);
        Assert.Equal(withCache.LoadMetrics["cacheHoldSeconds"] / 3600 * 1.0, withCache.HoldDollars, 9);
        Assert.Equal(0, withoutCache.HoldDollars);
    }
}
