using Autoscale.Traces.Synthesis;
using Autoscale.Backtesting.Engine;
using Autoscale.Config.Scenarios;
using Autoscale.Traces;
using NodaTime;

namespace Autoscale.Tests.Backtesting;

public sealed class TextbookGoldenTests
{
    [Fact]
    public void Python_random_is_reproduced_bit_for_bit()
    {
        // random.seed(7); [random.random() for _ in range(3)] in CPython.
        var random = new PythonRandom(7);
        Assert.Equal(0.32383276483316237, random.NextDouble());
        Assert.Equal(0.15084917392450192, random.NextDouble());
        Assert.Equal(0.6509344730398537, random.NextDouble());
    }

    [Fact]
    public void Seed_arrivals_are_regenerated()
    {
        var arrivals = TextbookTraffic.Arrivals();
        Assert.Equal(new long[] { 43, 46, 38, 47, 44, 47, 47, 45, 42, 44 }, arrivals[..10]);
        Assert.Equal(12804, arrivals.Sum());
    }

    [Fact]
    public void Output_23_6_1_is_reproduced_through_the_engine()
    {
        var results = TextbookScenario.Reproduce();

        Assert.Equal(
            "strategy                           requests  SLO_viol  viol_%  replicas_end\n" +
            "cold-start autoscaling (0 spare)      12804      6022   47.0%           124\n" +
            "warm pool (6 spare replicas)          12875         0    0.0%             8\n",
            TextbookScenario.FormatTable(results));
    }

    [Fact]
    public async Task The_bundled_spike_trace_holds_the_first_runs_arrivals()
    {
        var trace = await ParquetTrace.ReadAsync(TestPaths.TextbookTrace, Duration.FromSeconds(1));

        Assert.Equal(TextbookTraffic.Arrivals(), trace.Arrivals);
        Assert.Equal(TextbookScenario.Start, trace.Start);
    }

    [Fact]
    public async Task One_trace_for_every_candidate_gives_the_first_row_and_a_clean_warm_pool()
    {
        var trace = await ParquetTrace.ReadAsync(TestPaths.TextbookTrace, Duration.FromSeconds(1));
        var results = Backtest.Run(trace, TextbookScenario.Settings,
            [TextbookScenario.Candidate("cold", 0), TextbookScenario.Candidate("warm", 6)]);

        var cold = results.Single(r => r.Name == "cold");
        var warm = results.Single(r => r.Name == "warm");
        Assert.Equal((12804L, 6022L, 124), (cold.Requests, cold.Violations, cold.EndReplicas));
        Assert.Equal("47.0", cold.ViolationPercent.ToString("F1", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal((12804L, 0L, 8), (warm.Requests, warm.Violations, warm.EndReplicas));
        Assert.Equal(["warm", "cold"], results.Select(r => r.Name));
    }

    // Expected numbers computed with the seed's own Code 23.6.1, unchanged but for arrivals(t) replaced by
    // the first run's arrivals and HORIZON set to the cut: (total, late, ready, len(q)) =
    // 45 s: (5873, 4414, 2, 3527) cold and (5873, 0, 8, 0) warm; 50 s: (6894, 5426, 21, 2838) and (6894, 0, 8, 0).
    // Cut mid-spike, thousands of requests are still queued and the end-of-trace rule decides them.
    [Theory]
    [InlineData(45, 0, 5873, 4414, 2, 3527)]
    [InlineData(45, 6, 5873, 0, 8, 0)]
    [InlineData(50, 0, 6894, 5426, 21, 2838)]
    [InlineData(50, 6, 6894, 0, 8, 0)]
    public void A_trace_cut_in_the_spike_matches_the_seed(int horizon, int spares, long requests, long late, int endReady, long queued)
    {
        var arrivals = TextbookTraffic.Arrivals()[..horizon];
        var trace = new TickTrace(TextbookScenario.Start, Duration.FromSeconds(1), arrivals);

        var result = Backtest.RunOne(trace, TextbookScenario.Settings, TextbookScenario.Candidate("c", spares));

        Assert.Equal((requests, late, endReady, queued), (result.Requests, result.Late, result.EndReplicas, result.QueuedAtEnd));
    }

    [Fact]
    public void Dollars_of_the_textbook_runs_follow_from_the_fleet_by_hand()
    {
        var trace = new TickTrace(TextbookScenario.Start, Duration.FromSeconds(1), TextbookTraffic.Arrivals());
        var warm = Backtest.RunOne(trace, TextbookScenario.Settings, TextbookScenario.Candidate("warm", 6));

        // 8 replicas for 120 s at $3 per GPU-hour, 1 GPU: 960 replica-seconds = $0.80, nothing loading.
        Assert.Equal(960, warm.ReplicaSeconds, 9);
        Assert.Equal(0.80, warm.Dollars, 9);
        Assert.Equal(0, warm.LoadingDollars);
        // Idle = unused ready capacity: (8 * 30 * 120 - 12804) / 30 = 533.2 replica-seconds.
        Assert.Equal(533.2, warm.IdleReplicaSeconds, 6);
        Assert.Equal(533.2 * 3.0 / 3600, warm.IdleDollars, 9);
    }
}
