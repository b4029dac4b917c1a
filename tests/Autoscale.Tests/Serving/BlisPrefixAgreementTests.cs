using System.Globalization;
using Autoscale.Backtesting.Serving;
using Autoscale.Traces;

namespace Autoscale.Tests.Serving;

/// <summary>
/// With prefix caching, a fixed fleet's replay of a trace in prefix groups against BLIS b563c440 (which always caches
/// prefixes: chained block hashes, reference counts, LRU eviction of freed blocks last to first). The cases and how they
/// were made are in the blis folder (make-cases.sh).
/// </summary>
public sealed class BlisPrefixAgreementTests
{
    private static (ServingFixtures.BlisCase Case, RequestPrefixes Prefixes) Load(string name)
    {
        var c = ServingFixtures.LoadBlisCase(name);
        var rows = File.ReadAllLines(Path.Combine(TestPaths.Root, "tests", "Autoscale.Tests", "Serving", "blis", name + ".csv")).Skip(1).Select(l => l.Split(',')).ToArray();
        return (c, new RequestPrefixes([.. rows.Select(r => r[5])], [.. rows.Select(r => long.Parse(r[6], CultureInfo.InvariantCulture))]));
    }

    private static (ServingRun Run, Autoscale.Backtesting.Engine.CandidateResult Result) Replay(ServingFixtures.BlisCase c, RequestPrefixes prefixes, ServingProfile profile)
    {
        var workload = ServingFixtures.Workload(profile, c.Arrivals, c.Input, c.Output).WithPrefixes(prefixes);
        var run = new ServingRun(ServingFixtures.Fixed(c.Instances), ServingFixtures.Settings(profile), workload, recordRequests: true);
        return (run, run.Run());
    }

    /// <summary>
    /// Least-loaded on 2 and 4 replicas, prefix-aware routing on 4 against BLIS's weighted routing (its default profile
    /// precise-prefix-cache:2, queue-depth:1, kv-utilization:1), and a KV cache of 1,500 blocks where prefixes are evicted
    /// (with BLIS's last-token KV slot, <c>overlapLastStep</c>): every request's TTFT and E2E to the nanosecond.
    /// </summary>
    [Theory]
    [InlineData("prefix2", false)]
    [InlineData("prefix4", false)]
    [InlineData("prefix4w", true)]
    [InlineData("prefixkv2", false)]
    public void With_prefix_caching_every_request_has_blis_latencies(string name, bool prefixAware)
    {
        var (c, prefixes) = Load(name);
        var (run, result) = Replay(c, prefixes, prefixAware ? c.Profile with { Routing = ServingRouting.PrefixAware } : c.Profile);
        Assert.Equal(c.Arrivals.Length, result.Served);
        Assert.True(result.Serving!.PrefixCacheHitRate > 0.5, $"hit rate {result.Serving.PrefixCacheHitRate}");
        ServingFixtures.AgreesWithBlis(c, run);
    }

    [Fact]
    public void Without_caching_the_same_trace_is_far_from_blis()
    {
        // The agreement above is the cache's: replayed without it, the first tokens come much later than BLIS's.
        var (c, prefixes) = Load("prefix2");
        var (run, _) = Replay(c, prefixes, c.Profile with { PrefixCaching = false });
        var later = Enumerable.Range(0, c.Arrivals.Length).Count(r => run.FirstTokenAt(r) - c.Arrivals[r] > c.TtftNanos[r]);
        Assert.True(later > c.Arrivals.Length / 2, $"only {later} requests later than BLIS");
    }
}
