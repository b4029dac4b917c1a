using Autoscale.Backtesting.Engine;
using Autoscale.Traces;
using NodaTime;

namespace Autoscale.Tests.Backtesting;

public sealed class ReplayEngineTests
{
    private static readonly Instant Start = Instant.FromUtc(2026, 1, 5, 0, 0);

    private static ReplaySettings Settings(double capacity = 10, double? timeout = null, double maxWait = 2) =>
        new(new SloSettings(OptionDuration.FromSeconds(maxWait), 99, OptionDuration.FromSeconds(timeout)), new ReplicaSettings(capacity, 2, 3.6), Duration.FromSeconds(1));

    private static CandidateSpec Scripted(int[] script, int loadSeconds = 3, int every = 1, int delay = 0, ScriptedPolicy? policy = null) =>
        new("s", () => policy ?? new ScriptedPolicy(script), new FixedLoadTime(Duration.FromSeconds(loadSeconds)), every, delay);

    [Fact]
    public void The_first_decision_is_ready_at_tick_0_and_later_starts_load_for_their_load_time()
    {
        var run = new CandidateRun(Scripted([2, 4, 4, 4, 4, 4], loadSeconds: 3), Settings(), Start);

        run.Step(0);
        Assert.Equal((2, 0), (run.ReadyReplicas, run.LoadingReplicas));
        run.Step(0); // tick 1: two loads start, ready at tick 4
        run.Step(0);
        run.Step(0);
        Assert.Equal((2, 2), (run.ReadyReplicas, run.LoadingReplicas));
        run.Step(0); // tick 4: ready before the decision
        Assert.Equal((4, 0), (run.ReadyReplicas, run.LoadingReplicas));

        var result = run.Complete();
        Assert.Equal(2, result.ColdStarts);
        // Billing from load start: ticks 0..4 with 2 ready, plus 2 loading during ticks 1..3, plus 2 more at tick 4.
        Assert.Equal(2 * 5 + 2 * 3 + 2, result.ReplicaSeconds);
        Assert.Equal(6, result.LoadingReplicaSeconds);
        // 2 GPUs at $3.60/GPU-hour = $0.002 per replica-second.
        Assert.Equal(18 * 0.002, result.Dollars, 12);
        Assert.Equal(6 * 0.002, result.LoadingDollars, 12);
    }

    [Fact]
    public void Scaling_down_cancels_the_newest_loads_first_then_releases_ready_replicas()
    {
        // Tick 0: 1 ready. Tick 1: want 3 (2 loads, load 5 s -> ready at 6). Tick 2: want 5 (2 more, ready at 7).
        // Tick 3: want 2 -> cancel the 2 newest loads and one more: 1 ready + 1 loading (ready at 6).
        // Tick 4: want 0 -> cancel the last load and release the ready one.
        var run = new CandidateRun(Scripted([1, 3, 5, 2, 0], loadSeconds: 5), Settings(), Start);
        run.Step(0);
        run.Step(0);
        run.Step(0);
        Assert.Equal((1, 4), (run.ReadyReplicas, run.LoadingReplicas));
        run.Step(0);
        Assert.Equal((1, 1), (run.ReadyReplicas, run.LoadingReplicas));

        // Stop after tick 3 instead of going to 0: the surviving load is the oldest, ready at tick 6.
        var probe = new CandidateRun(Scripted([1, 3, 5, 2, 2, 2, 2, 2], loadSeconds: 5), Settings(), Start);
        for (var t = 0; t < 6; t++)
        {
            probe.Step(0);
        }

        Assert.Equal((1, 1), (probe.ReadyReplicas, probe.LoadingReplicas));
        probe.Step(0); // tick 6
        Assert.Equal((2, 0), (probe.ReadyReplicas, probe.LoadingReplicas));

        run.Step(0);
        Assert.Equal((0, 0), (run.ReadyReplicas, run.LoadingReplicas));
    }

    [Fact]
    public void Requests_are_served_fifo_and_late_only_when_they_wait_strictly_more_than_max_wait()
    {
        // One replica of 10 req/s; 30 arrive at tick 0: 10 wait 0, 10 wait 1, 10 wait 2 -> none late.
        var ok = Backtest.RunOne(new TickTrace(Start, Duration.FromSeconds(1), [30, 0, 0]), Settings(), Scripted([1]));
        Assert.Equal((30L, 0L, 2.0), (ok.Served, ok.Late, ok.WaitMaxSeconds));

        // 40 arrive: the last 10 wait 3 s > 2 s.
        var late = Backtest.RunOne(new TickTrace(Start, Duration.FromSeconds(1), [40, 0, 0, 0]), Settings(), Scripted([1]));
        Assert.Equal((40L, 10L), (late.Served, late.Late));
        Assert.Equal((1.0, 3.0, 3.0), (late.WaitP50Seconds, late.WaitP99Seconds, late.WaitMaxSeconds));
    }

    [Fact]
    public void Requests_left_at_the_end_are_late_when_older_than_max_wait()
    {
        // No replicas: 5 arrive at each of 4 ticks. At the horizon (4) their ages are 4, 3, 2, 1: 10 are late.
        var r = Backtest.RunOne(new TickTrace(Start, Duration.FromSeconds(1), [5, 5, 5, 5]), Settings(), Scripted([0]));
        Assert.Equal((20L, 0L, 10L, 20L), (r.Requests, r.Served, r.Late, r.QueuedAtEnd));
    }

    [Fact]
    public void A_client_timeout_drops_requests_and_counts_them_as_violations()
    {
        // No replicas, timeout 2 s: requests leave once they have waited 3 ticks.
        var r = Backtest.RunOne(new TickTrace(Start, Duration.FromSeconds(1), [5, 0, 0, 0, 0, 7]), Settings(timeout: 2), Scripted([0]));
        Assert.Equal((5L, 7L, 0L), (r.Dropped, r.QueuedAtEnd, r.Late));
        Assert.Equal(5, r.Violations);
        Assert.False(r.MeetsSlo);
    }

    [Fact]
    public void A_fractional_capacity_carries_its_remainder_while_requests_wait()
    {
        // 0.4 req/s: one request is served every 2.5 s on average; 10 queued at tick 0 take 25 ticks.
        var trace = new TickTrace(Start, Duration.FromSeconds(1), [10, .. new long[30]]);
        var r = Backtest.RunOne(trace, Settings(capacity: 0.4, maxWait: 100), Scripted([1]));
        Assert.Equal(10, r.Served);
        Assert.Equal(24, r.WaitMaxSeconds); // served at ticks 2, 4, 7, 9, 12, 14, 17, 19, 22, 24
    }

    [Fact]
    public void The_policy_is_asked_every_decision_interval_with_the_arrivals_summed()
    {
        var policy = new ScriptedPolicy([1]);
        var trace = new TickTrace(Start, Duration.FromSeconds(1), [1, 2, 3, 4, 5, 6, 7]);
        Backtest.RunOne(trace, Settings(), Scripted([1], every: 3, policy: policy));

        Assert.Equal([0L, 3L, 6L], policy.Seen.Select(s => (s.Now - Start).ToInt64Nanoseconds() / 1_000_000_000L));
        Assert.Equal([0L, 1 + 2 + 3L, 4 + 5 + 6L], policy.Seen.Select(s => s.ArrivalsLastInterval));
        Assert.All(policy.Seen, s => Assert.Equal(Duration.FromSeconds(3), s.Interval));
    }

    [Fact]
    public void A_metrics_delay_shows_the_queue_and_arrivals_of_earlier_ticks()
    {
        var policy = new ScriptedPolicy([0]);
        var trace = new TickTrace(Start, Duration.FromSeconds(1), [1, 2, 3, 4, 5]);
        Backtest.RunOne(trace, Settings(), Scripted([0], delay: 2, policy: policy));

        // Without replicas the queue at the start of tick t holds every earlier arrival.
        Assert.Equal([0L, 0L, 0L, 1L, 3L], policy.Seen.Select(s => s.QueueDepth));
        Assert.Equal([0L, 0L, 0L, 1L, 2L], policy.Seen.Select(s => s.ArrivalsLastInterval));
    }

    [Fact]
    public void The_engine_clamps_decisions_to_zero_and_max_replicas()
    {
        var settings = Settings() with { MaxReplicas = 3 };
        var run = new CandidateRun(Scripted([-5, 50]), settings, Start);
        run.Step(0);
        Assert.Equal(0, run.ReadyReplicas);
        run.Step(0);
        Assert.Equal(3, run.LoadingReplicas);
        Assert.Equal(3, run.Complete().PeakReplicas);
    }
}
