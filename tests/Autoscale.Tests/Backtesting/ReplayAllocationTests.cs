using Autoscale.Backtesting.Engine;
using Autoscale.Config.Scenarios;

namespace Autoscale.Tests.Backtesting;

[Collection(AllocationCollection.Name)]
public sealed class ReplayAllocationTests
{
    // Counts bytes, not time: deterministic, so it can live among the unit tests.
    [Fact]
    public void The_per_tick_loop_allocates_nothing_once_warm()
    {
        var candidate = TextbookScenario.Candidate("textbook", 2) with { DecisionIntervalTicks = 1, MetricsDelayTicks = 3 };
        var settings = TextbookScenario.Settings with { Slo = TextbookScenario.Settings.Slo with { ClientTimeout = NodaTime.Duration.FromSeconds(30) } };
        var arrivals = new long[200_000];
        for (var i = 0; i < arrivals.Length; i++)
        {
            arrivals[i] = 100 + (i % 97 == 0 ? 400 : i % 7);
        }

        // The runtime may allocate on this thread while it recompiles hot code (tiering, on-stack replacement), which the
        // replay does not control: a fresh run is measured again, at most three times, and the least counts. A loop that
        // allocates per tick fails every attempt.
        var allocated = long.MaxValue;
        for (var attempt = 0; attempt < 3 && allocated > 0; attempt++)
        {
            var run = new CandidateRun(candidate, settings, TextbookScenario.Start);
            run.Advance(arrivals.AsSpan(0, 10_000));
            var before = GC.GetAllocatedBytesForCurrentThread();
            run.Advance(arrivals.AsSpan(10_000));
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, allocated);
    }
}
