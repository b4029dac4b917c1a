using Autoscale.Policies.Disaggregated;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;

namespace Autoscale.Tests.Policies;

/// <summary>The policies of a disaggregated fleet's pools: pd-ratio and Dynamo's SLA planner.</summary>
public sealed class PoolPolicyTests
{
    // 10 ms a step, 1 ms a prompt token, 0.1 ms a decoding sequence; 64 sequences, one GPU.
    private static readonly ServingPerformance Profile = new(0.01, 0.001, 0, 0.0001, 0, 64, 4096, 1_000_000, 1);

    private static ScalingSignal Signal(ServingPool pool, long arrivals, long input, long output, double? ttft = null, double? itl = null,
        int ready = 2, long running = 20, int prefill = 0, double seconds = 60) =>
        new(Instant.FromUtc(2026, 1, 5, 0, 0), Duration.FromSeconds(seconds), ready, 0, 0, arrivals, 1, Duration.FromSeconds(60))
        {
            Pool = pool,
            MaxReplicas = 1000,
            HasServingSignals = true,
            InputTokensLastInterval = input,
            OutputTokensLastInterval = output,
            RunningRequests = running,
            TtftMeanLastInterval = ttft is { } t ? Duration.FromNanoseconds((long)Math.Round(t * 1e9)) : null,
            ItlMeanLastInterval = itl is { } i ? Duration.FromNanoseconds((long)Math.Round(i * 1e9)) : null,
            PrefillReplicas = prefill,
            Performance = Profile,
        };

    [Theory]
    [InlineData(2.02, 0, 11)] // correction 2, used as 1: 10,000 tokens/s over 990 tokens/s a GPU
    [InlineData(0.505, 0, 6)] // correction 0.5: half the load
    [InlineData(2.02, 8, 7)] // a budget of 8 GPUs, one left for the decode pool
    public void Dynamo_sla_sizes_the_prefill_pool_by_its_rules(double ttft, int budget, int expected)
    {
        // 600 requests of 1,000 prompt tokens in 60 s; the profile prefills 1,000 tokens in 10 ms + 1 s.
        var policy = new DynamoSlaPolicy(new DynamoSlaOptions { MaxGpuBudget = budget });
        Assert.Equal(expected, policy.Decide(Signal(ServingPool.Prefill, 600, 600_000, 60_000, ttft: ttft)).DesiredReplicas);
    }

    [Theory]
    [InlineData(0, 0, 3)] // 10,000 output tokens/s; ITL correction 2 leaves a 25 ms target, met by 64 sequences (16.4 ms): 3,902 tokens/s a GPU
    [InlineData(8, 5, 3)] // a budget of 8 GPUs, 5 of them prefill's
    [InlineData(8, 6, 2)]
    public void Dynamo_sla_sizes_the_decode_pool_by_its_rules(int budget, int prefill, int expected)
    {
        // 6,000 requests of 1,000 in and 100 out tokens in 60 s; 20 running on 2 replicas: a 11 ms step expected, 22 ms seen.
        var policy = new DynamoSlaPolicy(new DynamoSlaOptions { MaxGpuBudget = budget });
        Assert.Equal(expected, policy.Decide(Signal(ServingPool.Decode, 6000, 6_000_000, 600_000, itl: 0.022, prefill: prefill)).DesiredReplicas);
    }

    [Fact]
    public void Dynamo_sla_holds_a_pool_whose_interval_has_no_latency_and_refuses_a_fleet_of_one_pool()
    {
        var policy = new DynamoSlaPolicy(new DynamoSlaOptions());
        var idle = Signal(ServingPool.Prefill, 600, 600_000, 60_000, ttft: null, ready: 4);
        Assert.Equal(4, policy.Decide(idle).DesiredReplicas);
        var colocated = Signal(ServingPool.Colocated, 600, 600_000, 60_000, ttft: 1);
        Assert.Contains("policies.prefill or policies.decode", Assert.Throws<InvalidOperationException>(() => policy.Decide(colocated)).Message, StringComparison.Ordinal);
        var blind = Signal(ServingPool.Prefill, 600, 600_000, 60_000, ttft: 1) with { Performance = null };
        Assert.Contains("needs a serving profile", Assert.Throws<InvalidOperationException>(() => policy.Decide(blind)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pd_ratio_scales_only_a_decode_pool()
    {
        var policy = new PdRatioPolicy(new PdRatioOptions { Ratio = 2.5 });
        Assert.Equal(8, policy.Decide(Signal(ServingPool.Decode, 0, 0, 0, prefill: 3)).DesiredReplicas);
        Assert.Throws<InvalidOperationException>(() => policy.Decide(Signal(ServingPool.Prefill, 0, 0, 0, prefill: 3)));
        Assert.Contains("ratio", Assert.Throws<InvalidOptionsException>(() => new PdRatioPolicy(new PdRatioOptions { Ratio = -1 })).Message, StringComparison.Ordinal);
    }

    private static Gen<ScalingSignal[]> Signals(ServingPool pool) =>
        from n in Gen.Choose(1, 30)
        from steps in Gen.ArrayOf(
            from arrivals in Gen.Choose(0, 5000)
            from isl in Gen.Choose(1, 8000)
            from osl in Gen.Choose(1, 2000)
            from ttft in Gen.Choose(0, 5000)
            from itl in Gen.Choose(0, 500)
            from ready in Gen.Choose(0, 50)
            from running in Gen.Choose(0, 3000)
            from prefill in Gen.Choose(0, 60)
            from max in Gen.Choose(1, 200)
            select Signal(pool, arrivals, (long)arrivals * isl, (long)arrivals * osl, ttft == 0 ? null : ttft / 1000.0, itl == 0 ? null : itl / 1000.0, ready, running, prefill) with { MaxReplicas = max },
            n)
        select steps;

    [Property(MaxTest = 200)]
    public Property Dynamo_sla_stays_within_its_bounds_is_deterministic_and_never_looks_ahead()
    {
        var gen =
            from pool in Gen.Elements(ServingPool.Prefill, ServingPool.Decode)
            from signals in Signals(pool)
            from predictor in Gen.Elements("constant", "moving-average")
            from budget in Gen.Elements(0, 8, 64)
            from cut in Gen.Choose(0, 29)
            select (signals, predictor, budget, cut);
        return Prop.ForAll(gen.ToArbitrary(), c =>
        {
            DynamoSlaPolicy Fresh() => new(new DynamoSlaOptions { LoadPredictor = c.predictor, MaxGpuBudget = c.budget, LoadPredictionWindowSize = 5 });
            var a = Decisions(Fresh(), c.signals);
            var b = Decisions(Fresh(), c.signals);
            var prefix = Decisions(Fresh(), c.signals.Take(c.cut));
            var bounded = a.Zip(c.signals).All(x => x.First >= 0 && x.First <= x.Second.MaxReplicas);
            return bounded.Label("within [0, MaxReplicas]")
                .And(a.SequenceEqual(b).Label("deterministic"))
                .And(a.Take(c.cut).SequenceEqual(prefix).Label("no look-ahead"));
        });
    }

    private static int[] Decisions(IScalingPolicy policy, IEnumerable<ScalingSignal> signals)
    {
        var decisions = new List<int>();
        foreach (var signal in signals)
        {
            decisions.Add(policy.Decide(signal).DesiredReplicas);
        }

        return [.. decisions];
    }

    [Property(MaxTest = 200)]
    public Property Pd_ratio_is_its_ratio_of_the_prefill_pool_within_bounds()
    {
        var gen =
            from signals in Signals(ServingPool.Decode)
            from ratio in Gen.Choose(0, 400)
            from min in Gen.Choose(0, 10)
            from span in Gen.Choose(0, 100)
            select (signals, ratio: ratio / 100.0, min, max: min + Math.Max(1, span));
        return Prop.ForAll(gen.ToArbitrary(), c =>
        {
            var policy = new PdRatioPolicy(new PdRatioOptions { Ratio = c.ratio, MinReplicas = c.min, MaxReplicas = c.max });
            return c.signals.All(s =>
            {
                var d = policy.Decide(s).DesiredReplicas;
                var expected = Math.Min(Math.Clamp((int)Math.Ceiling((c.ratio * s.PrefillReplicas) - 1e-9), c.min, c.max), s.MaxReplicas);
                return d == expected;
            }).Label("decode = ceil(ratio x prefill), within [min, max] and the signal's MaxReplicas");
        });
    }
}
