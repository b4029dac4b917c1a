using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Serving;
using Autoscale.Traces;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Autoscale.Tests.Serving;

/// <summary>
/// Prefix caching in the request-level replay: prompt blocks a replica holds are not prefilled again, blocks are shared
/// and evicted least recently freed first, a new replica starts empty, and prefix-aware routing sends a request where its
/// prefix is.
/// </summary>
public sealed class PrefixCachingTests
{
    // 5 ms a step plus 20 us a prefill token: a step's length tells how many prompt tokens it prefilled.
    private static ServingProfile Profile(long kvTokens = 1_000_000, ServingRouting routing = ServingRouting.LeastLoaded, bool caching = true) =>
        ServingFixtures.Profile(perDecode: 0, kvCacheTokens: kvTokens, routing: routing) with { PrefixCaching = caching };

    private static (ServingRun Run, CandidateResult Result) Replay(ServingProfile profile, long[] arrivals, int[] input, int[] output, RequestPrefixes? prefixes, int replicas = 1)
    {
        var workload = ServingFixtures.Workload(profile, arrivals, input, output);
        if (prefixes is not null)
        {
            workload = workload.WithPrefixes(prefixes);
        }

        var run = new ServingRun(ServingFixtures.Fixed(replicas), ServingFixtures.Settings(profile), workload, recordRequests: true);
        var result = run.Run();
        Assert.Null(result.Error);
        return (run, result);
    }

    [Fact]
    public void A_shared_prefix_is_prefilled_once_and_the_hit_rate_counts_its_tokens()
    {
        // Two requests of one group, 1,040 prompt tokens of which 1,024 (64 blocks of 16) are shared, one after the other.
        long[] arrivals = [0, 2_000_000_000];
        int[] input = [1040, 1040];
        int[] output = [1, 1];
        var prefixes = new RequestPrefixes(["system", "system"], [1024, 1024]);

        var (cached, result) = Replay(Profile(), arrivals, input, output, prefixes);
        var (plain, _) = Replay(Profile(caching: false), arrivals, input, output, prefixes);

        // The first prefills all 1,040 tokens in one step: 5 ms + 1,040 x 20 us = 25.8 ms; the second only the 16 after
        // the cached prefix: 5 ms + 16 x 20 us = 5.32 ms. Without caching both take 25.8 ms.
        Assert.Equal(25_800_000, cached.FirstTokenAt(0));
        Assert.Equal(2_000_000_000 + 5_320_000, cached.FirstTokenAt(1));
        Assert.Equal(2_000_000_000 + 25_800_000, plain.FirstTokenAt(1));
        Assert.Equal(1024.0 / 2080, result.Serving!.PrefixCacheHitRate!.Value, 12);
    }

    [Fact]
    public void A_whole_prompt_in_the_cache_still_computes_its_last_token()
    {
        // 1,024 tokens, all shared: 63 blocks come from the cache and the last block's 16 tokens are prefilled, as vLLM
        // leaves at least one token to compute.
        var (run, result) = Replay(Profile(), [0, 2_000_000_000], [1024, 1024], [1, 1], new RequestPrefixes(["g", "g"], [1024, 1024]));
        Assert.Equal(2_000_000_000 + 5_320_000, run.FirstTokenAt(1));
        Assert.Equal(63.0 * 16 / 2048, result.Serving!.PrefixCacheHitRate!.Value, 12);
    }

    [Fact]
    public void Without_prefix_columns_or_with_caching_off_the_replay_is_unchanged()
    {
        long[] arrivals = [0, 100_000_000, 150_000_000, 2_000_000_000];
        int[] input = [500, 800, 800, 300];
        int[] output = [20, 5, 50, 3];
        var prefixes = new RequestPrefixes(["a", "a", null, "a"], [300, 300, 0, 300]);
        var (_, none) = Replay(Profile(), arrivals, input, output, null);
        var (_, off) = Replay(Profile(caching: false), arrivals, input, output, prefixes);
        Assert.Null(none.Serving!.PrefixCacheHitRate);
        Assert.Null(off.Serving!.PrefixCacheHitRate);
        Assert.Equal(none, off with { Name = none.Name });
    }

    [Fact]
    public void Blocks_are_evicted_least_recently_freed_first()
    {
        // A KV cache of 100 blocks of 16 tokens. Group a's request (64 shared blocks) finishes, then group b's, whose 65
        // blocks come from the 36 never used and then 29 of a's freed ones, the prefix's last blocks first (a request's
        // blocks are freed last to first). Group a again finds its first 35 blocks.
        var profile = Profile(kvTokens: 1600);
        long[] arrivals = [0, 1_000_000_000, 2_000_000_000];
        int[] input = [1030, 1030, 1030];
        int[] output = [1, 1, 1];
        var (run, result) = Replay(profile, arrivals, input, output, new RequestPrefixes(["a", "b", "a"], [1024, 1024, 1024]));
        Assert.Equal(2_000_000_000 + 5_000_000 + ((1030 - (35 * 16)) * 20_000), run.FirstTokenAt(2));
        Assert.Equal(35.0 * 16 / 3090, result.Serving!.PrefixCacheHitRate!.Value, 12);
    }

    [Fact]
    public void A_preempted_request_finds_its_own_prompt_blocks_again()
    {
        // 100 blocks of 16 tokens. A (800 tokens, 50 blocks) and B (640, 40 blocks, in no group) run together; as A
        // decodes it needs more blocks and B, the newest, is preempted. B's own prompt blocks are freed with their keys,
        // and when it is admitted again it finds the ones not taken since: more than none, at most its 39 (one token is
        // always computed).
        var profile = Profile(kvTokens: 1600) with { RestartOnPreemption = true };
        var (_, result) = Replay(profile, [0, 1_000_000], [800, 640], [600, 100], new RequestPrefixes(["a", null], [0, 0]));
        Assert.True(result.Serving!.Preemptions > 0);
        var cachedTokens = result.Serving.PrefixCacheHitRate!.Value * (800 + (640 * (1 + result.Serving.Preemptions)));
        Assert.InRange(cachedTokens, 16, 39 * 16 * result.Serving.Preemptions + 1e-6);
    }

    [Fact]
    public void Block_hashes_are_shared_as_far_as_they_agree()
    {
        // hash_ids of 512 tokens: the second request shares the first hash block (32 KV blocks) and then departs.
        var (run, result) = Replay(Profile(), [0, 2_000_000_000], [1500, 1500], [1, 1], new RequestPrefixes([[7, 8, 9], [7, 5, 9]]));
        Assert.Equal(2_000_000_000 + 5_000_000 + ((1500 - 512) * 20_000), run.FirstTokenAt(1));
        Assert.Equal(512.0 / 3000, result.Serving!.PrefixCacheHitRate!.Value, 12);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("b")]
    public void Prefix_aware_routing_sends_a_request_to_the_replica_holding_its_prefix(string third)
    {
        // Both replicas are ready well before 10 s. Request 0 (group a) goes to one replica,
        // request 1 (group b) to the other while the first is busy; request 2 comes when both are idle. Least-loaded sends it to the same replica whatever its group (so it hits for one group
        // and misses for the other); prefix-aware sends it where its group's prefix is, a hit either way.
        long[] arrivals = [10_000_000_000, 10_001_000_000, 20_000_000_000];
        int[] input = [2000, 2000, 2000];
        int[] output = [50, 50, 1]; // the first two still decoding when the second comes
        RequestPrefixes Prefixes(string g) => new(["a", "b", g], [1600, 1600, 1600]);
        var (aware, scored) = Replay(Profile(routing: ServingRouting.PrefixAware), arrivals, input, output, Prefixes(third), replicas: 2);
        Assert.Equal(1600.0 / 6000, scored.Serving!.PrefixCacheHitRate!.Value, 12);
        Assert.Equal(10_001_000_000 + 45_000_000, aware.FirstTokenAt(1));
        Assert.Equal(20_000_000_000 + 5_000_000 + (400 * 20_000), aware.FirstTokenAt(2));

        var leastA = Replay(Profile(), arrivals, input, output, Prefixes("a"), replicas: 2).Result.Serving!.PrefixCacheHitRate!.Value;
        var leastB = Replay(Profile(), arrivals, input, output, Prefixes("b"), replicas: 2).Result.Serving!.PrefixCacheHitRate!.Value;
        Assert.Equal(1600.0 / 6000, leastA + leastB, 12);
    }

    [Fact]
    public void A_new_replica_starts_with_an_empty_cache()
    {
        // One replica serves group a; the policy then replaces it (0 replicas, then 1 again): the next request of a misses.
        var profile = Profile();
        var workload = ServingFixtures.Workload(profile, [0, 5_000_000_000], [1040, 1040], [1, 1]).WithPrefixes(new RequestPrefixes(["a", "a"], [1024, 1024]));
        var spec = ServingFixtures.Policy("off and on", () => new ScriptedPolicy([1, 1, 0, 1, 1, 1]), loadSeconds: 0);
        var result = new ServingRun(spec, ServingFixtures.Settings(profile), workload).Run();
        Assert.Null(result.Error);
        Assert.Equal(2, result.Requests);
        Assert.Equal(0, result.Serving!.PrefixCacheHitRate);
    }

    [Fact]
    public void The_signal_carries_the_last_intervals_hit_rate_and_the_stand_in_reads_it()
    {
        // Admissions at 0 s (a miss) and 2 s (1,024 of 1,040 tokens cached): the decisions after them see 0, then 1024/1040.
        var profile = Profile();
        var workload = ServingFixtures.Workload(profile, [0, 2_000_000_000, 4_500_000_000], [1040, 1040, 100], [1, 1, 1])
            .WithPrefixes(new RequestPrefixes(["a", "a", null], [1024, 1024, 0]));
        var seen = new List<ScalingSignal>();
        var spec = ServingFixtures.Policy("watch", () => new ScriptedPolicy { Answer = s => { seen.Add(s); return new ScalingDecision(1, "one"); } }, loadSeconds: 0);
        Assert.Null(new ServingRun(spec, ServingFixtures.Settings(profile), workload).Run().Error);
        var rates = seen.Select(s => s.PrefixCacheHitRate).ToArray();
        Assert.Equal([0, 0, 0, 1024.0 / 1040, 0], rates);
        var signal = seen[3] with { ReadyReplicas = 2 };
        Assert.Equal(2 * 1024.0 / 1040, Autoscale.Policies.Common.StandInSignals.Total("prefixCacheHitRate", signal), 12);
    }

    /// <summary>Generated scenarios with prefix groups or block hashes over small KV caches.</summary>
    public static Arbitrary<(ServingProperties.Scenario Scenario, RequestPrefixes Prefixes)> WithPrefixes { get; } =
        (from s in ServingProperties.Scenarios.Generator
         from hashes in Gen.Elements(false, true)
         from groups in Gen.ArrayOf(Gen.Choose(-1, 3), s.Input.Length)
         from shares in Gen.ArrayOf(Gen.Choose(0, 100), s.Input.Length)
         from routing in Gen.Elements(ServingRouting.LeastLoaded, ServingRouting.PrefixAware, ServingRouting.SharedQueue)
         let scenario = s with { Profile = s.Profile with { Routing = routing, HashBlockTokens = 4 * s.Profile.BlockTokens } }
         let prefixes = hashes
             ? new RequestPrefixes(s.Input.Select((n, i) => Enumerable.Range(0, (n / (4 * s.Profile.BlockTokens)) + 1).Select(k => (long)(k < 2 ? groups[i] : 100 + i)).ToArray()).ToArray())
             : new RequestPrefixes(groups.Select(g => g < 0 ? null : $"g{g}").ToArray(), s.Input.Select((n, i) => groups[i] < 0 ? 0L : n * shares[i] / 100).ToArray())
         select (scenario, prefixes)).ToArbitrary();

    [Property(MaxTest = 200)]
    public Property Every_request_is_accounted_for_and_the_hit_rate_is_a_share() =>
        Prop.ForAll(WithPrefixes, c =>
        {
            var (s, prefixes) = c;
            var workload = s.Workload().WithPrefixes(prefixes);
            var result = new ServingRun(s.Candidate(), s.Settings(), workload).Run();
            var again = new ServingRun(s.Candidate(), s.Settings(), workload).Run();
            return result.Error is null
                && result.Requests == s.Arrivals.Length
                && result.Serving!.PrefixCacheHitRate is >= 0 and <= 1
                && result == again;
        });

    [Property(MaxTest = 100)]
    public Property Caching_off_replays_as_without_prefixes() =>
        Prop.ForAll(WithPrefixes, c =>
        {
            var (s, prefixes) = c;
            var off = s with { Profile = s.Profile with { PrefixCaching = false } };
            var with = new ServingRun(off.Candidate(), off.Settings(), off.Workload().WithPrefixes(prefixes)).Run();
            var without = new ServingRun(off.Candidate(), off.Settings(), off.Workload()).Run();
            return with == without;
        });
}
