using Autoscale.Backtesting.Serving;
using Xunit;

namespace Autoscale.Tests.Serving;

/// <summary>
/// A fixed fleet replayed request by request agrees with BLIS (inference-sim b563c440, the linear step model, alpha
/// overheads zero, least-loaded ties to the lowest index) on the same requests: every request's TTFT and E2E to the
/// nanosecond. The cases and how they were made are in the blis folder beside this file.
/// </summary>
public sealed class BlisAgreementTests
{
    [Theory]
    [InlineData("rr2")]
    [InlineData("ll3")]
    [InlineData("chunked1")]
    public void Every_request_has_the_ttft_and_e2e_blis_gives_it(string name)
    {
        var c = ServingFixtures.LoadBlisCase(name);
        var workload = ServingFixtures.Workload(c.Profile, c.Arrivals, c.Input, c.Output);
        var run = new ServingRun(ServingFixtures.Fixed(c.Instances), ServingFixtures.Settings(c.Profile), workload, recordRequests: true);
        var result = run.Run();

        Assert.Equal(c.Arrivals.Length, result.Requests);
        Assert.Equal(0, result.Dropped);
        ServingFixtures.AgreesWithBlis(c, run);
    }

    /// <summary>
    /// Under KV pressure BLIS keeps a preempted request's prompt blocks in its prefix cache and prefills only what was
    /// evicted, which this replay (no prefix caching) does not model: there, the replay is a bound on BLIS, not equal
    /// to it. The first tokens still agree wherever no preemption came before; the measured gap is pinned.
    /// </summary>
    [Fact]
    public void Under_kv_pressure_the_replay_stays_close_to_blis()
    {
        var c = ServingFixtures.LoadBlisCase("kvtight2");
        var workload = ServingFixtures.Workload(c.Profile, c.Arrivals, c.Input, c.Output);
        var run = new ServingRun(ServingFixtures.Fixed(c.Instances), ServingFixtures.Settings(c.Profile), workload, recordRequests: true);
        var result = run.Run();
        double P(IEnumerable<long> values, double p)
        {
            var sorted = values.OrderBy(v => v).ToArray();
            return sorted[Math.Max(0, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)] / 1e9;
        }

        var ours = Enumerable.Range(0, c.Arrivals.Length).Select(r => (Ttft: run.FirstTokenAt(r) - c.Arrivals[r], E2e: run.EndAt(r) - c.Arrivals[r])).ToArray();
        void Close(string what, double mine, double blis, double tolerance) =>
            Assert.True(Math.Abs(mine - blis) <= tolerance * blis, $"{what}: {mine:0.###} s against BLIS's {blis:0.###} s, beyond {tolerance:P0}");

        // Measured: TTFT p50 0.026 vs 0.024 s; E2E p50 2.27 vs 2.075 s, p99 14.463 vs 13.545 s; TTFT p99 4.8 vs 2.65 s
        // (the tail is where re-prefilling without a prefix cache costs); 166 preemptions against BLIS's 41.
        Close("TTFT p50", P(ours.Select(o => o.Ttft), 50), P(c.TtftNanos, 50), 0.10);
        Close("E2E p50", P(ours.Select(o => o.E2e), 50), P(c.E2eNanos, 50), 0.12);
        Close("E2E p99", P(ours.Select(o => o.E2e), 99), P(c.E2eNanos, 99), 0.10);
        Assert.InRange(result.Serving!.Preemptions, 100, 250);
        Assert.Equal(c.Arrivals.Length, result.Served);
    }

    /// <summary>
    /// By default a replica is busy until its step ends (BLIS lets a replica whose batch empties start another step
    /// during its last one): the distributions still agree closely. Measured figures in docs/serving.md.
    /// </summary>
    [Theory]
    [InlineData("rr2")]
    [InlineData("ll3")]
    [InlineData("chunked1")]
    public void Without_blis_overlapping_steps_the_latency_distributions_stay_within_two_percent(string name)
    {
        var c = ServingFixtures.LoadBlisCase(name);
        var profile = c.Profile with { OverlapLastStep = false, RestartOnPreemption = false };
        var workload = ServingFixtures.Workload(profile, c.Arrivals, c.Input, c.Output);
        var run = new ServingRun(ServingFixtures.Fixed(c.Instances), ServingFixtures.Settings(profile), workload, recordRequests: true);
        run.Run();
        var ttft = Enumerable.Range(0, c.Arrivals.Length).Select(r => run.FirstTokenAt(r) - c.Arrivals[r]).ToArray();
        var e2e = Enumerable.Range(0, c.Arrivals.Length).Select(r => run.EndAt(r) - c.Arrivals[r]).ToArray();
        foreach (var p in new[] { 50.0, 90, 99 })
        {
            Assert.InRange(P(ttft, p), P(c.TtftNanos, p) * 0.98, P(c.TtftNanos, p) * 1.02);
            Assert.InRange(P(e2e, p), P(c.E2eNanos, p) * 0.98, P(c.E2eNanos, p) * 1.02);
        }
    }

    private static double P(IEnumerable<long> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted[Math.Max(0, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)] / 1e9;
    }
}
