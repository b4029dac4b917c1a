using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using Autoscale.Backtesting.Serving;
using Autoscale.Policies.Disaggregated;
using Autoscale.Policies.Fixed;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;

namespace Autoscale.Tests.Serving;

/// <summary>
/// Disaggregated prefill and decode pools in the request-level replay: a request is prefilled in one pool, its KV cache
/// moves, the other pool decodes it; each pool is scaled by its own policy and billed at its own price.
/// </summary>
public sealed class DisaggregationTests
{
    // 10 ms a step, 1 ms a prompt token, 0.1 ms a decoding sequence: a request's times can be added up by hand.
    private static ServingProfile Profile(int maxSequences = 64, long kvTokens = 1_000_000) =>
        ServingFixtures.Profile(baseSeconds: 0.01, perPrefill: 0.001, perDecode: 0.0001, maxSequences: maxSequences, kvCacheTokens: kvTokens);

    private static ReplaySettings Settings(double bandwidthGBps = 25, double baseLatency = 0.00005, double bytesPerToken = 1e6, int prefillGpus = 1,
        double prefillPrice = 3.6, double decodePrice = 3.6, double? maxTtft = 2, double drainSeconds = 3600)
    {
        var profile = Profile();
        var pools = new Disaggregation(profile, new ReplicaSettings(1, prefillGpus, prefillPrice), profile, new ReplicaSettings(1, 1, decodePrice),
            new KvTransfer(bandwidthGBps, OptionDuration.FromSeconds(baseLatency), bytesPerToken, prefillGpus));
        return ServingFixtures.Settings(profile with { Disaggregation = pools }, maxTtft: maxTtft, drainSeconds: drainSeconds);
    }

    private static CandidateSpec Pooled(CandidateSpec prefill, CandidateSpec decode) =>
        prefill with { Name = $"{prefill.Name} + {decode.Name}", Pools = new PoolCandidates(prefill, decode) };

    private static CandidateSpec FixedPools(int prefill, int decode) => Pooled(ServingFixtures.Fixed(prefill), ServingFixtures.Fixed(decode));

    private static (RequestTimes Times, CandidateResult Result) Replay(ReplaySettings settings, CandidateSpec candidate, ServingWorkload workload)
    {
        var result = Backtest.RunServingOne(workload, settings, candidate);
        Assert.Null(result.Error);
        return (RequestTimes.Replay(workload, settings, candidate), result);
    }

    [Fact]
    public void One_request_is_prefilled_moved_and_decoded_as_added_up_by_hand()
    {
        // 100 prompt tokens, 10 output tokens. Prefill: 10 ms + 100 x 1 ms = 110 ms. Transfer: 7 blocks of 16 tokens at
        // 1 MB a token over 25 GB/s = 4.48 ms, plus 50 us. Decode: 10 steps of 10 ms + 0.1 ms, the first of which gives the
        // first token.
        var workload = ServingFixtures.Workload(Profile(), [0], [100], [10]);
        var (times, result) = Replay(Settings(), FixedPools(1, 1), workload);

        const long prefill = 110_000_000, transfer = 4_530_000, step = 10_100_000;
        Assert.Equal(prefill + transfer + step, times.FirstTokenNanos[0]);
        Assert.Equal(prefill + transfer + (10 * step), times.EndNanos[0]);
        Assert.Equal(prefill + transfer, times.AdmittedNanos[0]);
        // Percentiles come from a histogram of about 1 % resolution.
        Assert.InRange(result.Serving!.TtftP99Seconds, (prefill + transfer + step) / 1e9 * 0.99, (prefill + transfer + step) / 1e9 * 1.02);

        // Each pool has its own view: the prefill pool's TTFT ends with the prefill.
        Assert.InRange(result.Pools!.Prefill.Serving!.TtftP99Seconds, prefill / 1e9 * 0.99, prefill / 1e9 * 1.02);
        Assert.Equal(1, result.Pools.Prefill.Requests);
        Assert.Equal(1, result.Pools.Decode.Served);
    }

    [Fact]
    public void The_transfer_scales_with_the_prompt_blocks_and_the_prefill_replicas_links()
    {
        var workload = ServingFixtures.Workload(Profile(), [0], [1000], [2]);
        var slow = Replay(Settings(bandwidthGBps: 1), FixedPools(1, 1), workload).Times;
        var fast = Replay(Settings(bandwidthGBps: 1, prefillGpus: 4), FixedPools(1, 1), workload).Times;

        // 63 blocks (1,008 tokens) of 1 MB a token over 1 GB/s: 1.008 s over one link, a quarter over four.
        Assert.Equal(1_008_000_000 - 252_000_000, slow.FirstTokenNanos[0] - fast.FirstTokenNanos[0]);
    }

    [Fact]
    public void Each_pool_is_billed_at_its_own_price_and_the_totals_add_them()
    {
        var workload = ServingFixtures.Workload(Profile(), [0, 500_000_000, 3_000_000_000], [200, 300, 100], [20, 5, 40]);
        var (_, result) = Replay(Settings(prefillPrice: 7.2, decodePrice: 1.8), FixedPools(2, 3), workload);

        var pools = result.Pools!;
        Assert.Equal(pools.Prefill.Dollars + pools.Decode.Dollars, result.Dollars, 9);
        Assert.Equal(pools.Prefill.ReplicaSeconds + pools.Decode.ReplicaSeconds, result.ReplicaSeconds, 9);
        Assert.Equal(5, result.PeakReplicas);
        Assert.Equal(2, pools.Prefill.PeakReplicas);
        Assert.Equal(3, pools.Decode.PeakReplicas);

        // Over the trace's 4 s, 2 prefill replicas at $7.20 an hour cost four times as much a second as 2 decode ones at $1.80.
        Assert.True(pools.Prefill.Dollars > pools.Decode.Dollars, $"{pools.Prefill.Dollars} vs {pools.Decode.Dollars}");
        Assert.Equal("fixed (prefill) + fixed (decode)", result.Policy);
    }

    [Fact]
    public void Pd_ratio_keeps_the_decode_pool_at_its_ratio_of_the_prefill_pool()
    {
        // The prefill pool follows a step of load 1, 3, 5 replicas (a policy that counts ticks); the decode pool is 1.5 x it.
        var prefill = ServingFixtures.Policy("steps", () => new Steps([1, 3, 5], every: 10), loadSeconds: 0);
        var decode = ServingFixtures.Policy("pd-ratio", () => new PdRatioPolicy(new PdRatioOptions { Ratio = 1.5, MinReplicas = 1, MaxReplicas = 7 }), loadSeconds: 0);
        var arrivals = Enumerable.Range(0, 30).Select(i => i * 1_000_000_000L).ToArray();
        var workload = ServingFixtures.Workload(Profile(), arrivals, [.. arrivals.Select(_ => 50)], [.. arrivals.Select(_ => 5)]);
        var result = Backtest.RunServingOne(workload, Settings(), Pooled(prefill, decode), bucket: 1);

        var prefillReady = result.Pools!.Prefill.Timeline.Points.Select(p => p.ReadyReplicas).ToArray();
        var decodeReady = result.Pools.Decode.Timeline.Points.Select(p => p.ReadyReplicas).ToArray();
        Assert.Equal(30, prefillReady.Length);
        for (var t = 0; t < 30; t++)
        {
            Assert.Equal(Math.Min(7, Math.Ceiling(1.5 * prefillReady[t])), decodeReady[t]);
        }

        Assert.Equal([1.0, 3, 5], prefillReady.Distinct());
        Assert.Equal([2.0, 5, 7], decodeReady.Distinct());
    }

    [Fact]
    public void Requests_the_prefill_pool_drops_are_the_clients_drops()
    {
        // No prefill replica at all: every request waits at the gateway until the drain gives up, and the decode pool,
        // which never sees one, counts them dropped.
        var workload = ServingFixtures.Workload(Profile(), [0, 1_000_000_000], [100, 100], [5, 5]);
        var (times, result) = Replay(Settings(drainSeconds: 5), FixedPools(0, 1), workload);

        Assert.Equal(2, result.Requests);
        Assert.Equal(2, result.Dropped);
        Assert.Equal(0, result.Served);
        Assert.Equal(2, result.Pools!.Prefill.Dropped);
        Assert.Equal(2, result.Pools.Decode.Dropped);
        Assert.All(times.EndNanos, e => Assert.Equal(-1, e));
        Assert.False(result.MeetsSlo);
    }

    [Fact]
    public void The_decode_pool_policy_sees_its_own_pool_and_the_prefill_pools_size()
    {
        var seen = new List<ScalingSignal>();
        var prefill = ServingFixtures.Fixed(3);
        var decode = ServingFixtures.Policy("spy", () => new Spy(seen, 2), loadSeconds: 0);
        var workload = ServingFixtures.Workload(Profile(), [0, 100_000_000, 2_500_000_000], [400, 400, 400], [50, 50, 50]);
        Backtest.RunServingOne(workload, Settings(), Pooled(prefill, decode));

        Assert.All(seen, s => Assert.Equal(ServingPool.Decode, s.Pool));
        Assert.All(seen, s => Assert.Equal(3, s.PrefillReplicas));
        Assert.All(seen, s => Assert.NotNull(s.Performance));

        // The decode pool's arrivals are the handed-on requests (the first two within the first second; the third reaches it
        // after the trace's last decision), and its ITL is the decode steps' time per token.
        Assert.Equal(2, seen.Sum(s => s.ArrivalsLastInterval));
        Assert.Contains(seen, s => s.ArrivalsLastInterval == 2);
        Assert.True(seen.Any(s => s.ItlMeanLastInterval is { } itl && itl >= Duration.FromMilliseconds(10)), "an interval with decoded tokens shows their ITL");
    }

    [Property(MaxTest = 40)]
    public Property Every_request_is_served_or_dropped_once_and_the_replay_is_deterministic()
    {
        var gen =
            from n in Gen.Choose(1, 40)
            from gaps in Gen.ArrayOf(Gen.Choose(0, 400), n)
            from input in Gen.ArrayOf(Gen.Choose(1, 3000), n)
            from output in Gen.ArrayOf(Gen.Choose(1, 200), n)
            from p in Gen.Choose(0, 3)
            from d in Gen.Choose(0, 3)
            from kv in Gen.Elements(2_000L, 20_000L, 1_000_000L)
            select (gaps, input, output, p, d, kv);
        return Prop.ForAll(gen.ToArbitrary(), c =>
        {
            var arrivals = new long[c.gaps.Length];
            for (var i = 1; i < arrivals.Length; i++)
            {
                arrivals[i] = arrivals[i - 1] + (c.gaps[i] * 10_000_000L);
            }

            var input = c.input.Select(i => (int)Math.Min(i, c.kv - 300)).ToArray();
            var profile = Profile(maxSequences: 8, kvTokens: c.kv);
            var pools = new Disaggregation(profile, new ReplicaSettings(1, 1, 3), profile, new ReplicaSettings(1, 1, 2), new KvTransfer(10, NodaTime.Duration.FromNanoseconds(100_000), 2e5, 1));
            var settings = ServingFixtures.Settings(profile with { Disaggregation = pools }, drainSeconds: 3600);
            var workload = ServingFixtures.Workload(profile, arrivals, input, c.output);
            var a = Backtest.RunServingOne(workload, settings, FixedPools(c.p, c.d));
            var b = Backtest.RunServingOne(workload, settings, FixedPools(c.p, c.d));

            return (a.Error is null).Label($"no error: {a.Error}")
                .And((a.Requests == arrivals.Length).Label("every request counted"))
                .And((a.Served + a.Dropped == a.Requests).Label("served or dropped"))
                .And((a.Pools!.Prefill.Requests == a.Requests && a.Pools.Decode.Requests == a.Requests).Label("both pools count every request"))
                .And((a.Pools.Decode.Served <= a.Pools.Prefill.Served).Label("no request decoded that was not prefilled"))
                .And((c.p > 0 && c.d > 0 ? a.Served == a.Requests : a.Served == 0).Label("served when both pools have replicas (the drain is long enough), else none"))
                .And((a.Served == b.Served && a.Late == b.Late && a.Dollars == b.Dollars && a.Serving!.TtftP99Seconds.Equals(b.Serving!.TtftP99Seconds)
                    && a.Serving.E2eMeanSeconds.Equals(b.Serving.E2eMeanSeconds)).Label("deterministic"));
        });
    }

    [Fact]
    public void The_first_token_of_every_request_comes_a_transfer_after_its_prefill()
    {
        // A second of fixed transfer latency on top: every request's first token comes at least 1 s after it arrived, and on
        // a fleet that is never busy exactly 1 s later than without it.
        var arrivals = Enumerable.Range(0, 20).Select(i => i * 3_000_000_000L).ToArray();
        var workload = ServingFixtures.Workload(Profile(), arrivals, [.. arrivals.Select(_ => 120)], [.. arrivals.Select(_ => 8)]);
        var near = Replay(Settings(baseLatency: 0.001), FixedPools(1, 1), workload).Times;
        var far = Replay(Settings(baseLatency: 1.001), FixedPools(1, 1), workload).Times;
        for (var i = 0; i < arrivals.Length; i++)
        {
            Assert.Equal(1_000_000_000, far.FirstTokenNanos[i] - near.FirstTokenNanos[i]);
            Assert.Equal(1_000_000_000, far.EndNanos[i] - near.EndNanos[i]);
            Assert.True(far.FirstTokenNanos[i] - arrivals[i] > 1_000_000_000);
        }
    }

    [Fact]
    public void A_candidate_with_pools_needs_a_disaggregated_profile_and_a_request_level_replay()
    {
        var workload = ServingFixtures.Workload(Profile(), [0], [10], [2]);
        var colocated = ServingFixtures.Settings(Profile());
        Assert.Contains("disaggregation", Assert.Throws<InvalidOptionsException>(() => new DisaggregatedRun(FixedPools(1, 1), colocated, workload)).Message, StringComparison.Ordinal);
        var fluid = Settings() with { FluidServing = true };
        Assert.Contains("engine.serving", Assert.Throws<InvalidOptionsException>(() => new DisaggregatedRun(FixedPools(1, 1), fluid, workload)).Message, StringComparison.Ordinal);
    }

    /// <summary>A policy that holds each count of <c>counts</c> for <c>every</c> decisions in turn.</summary>
    private sealed class Steps(int[] counts, int every) : IScalingPolicy
    {
        private int _calls;

        public ScalingDecision Decide(in ScalingSignal signal) => new(counts[Math.Min(counts.Length - 1, _calls++ / every)]);
    }

    /// <summary>A policy that keeps every signal and holds a fixed fleet.</summary>
    private sealed class Spy(List<ScalingSignal> seen, int replicas) : IScalingPolicy
    {
        public ScalingDecision Decide(in ScalingSignal signal)
        {
            seen.Add(signal);
            return new(replicas);
        }
    }
}
