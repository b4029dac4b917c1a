using NodaTime;

namespace Autoscale.Backtesting.Engine;

/// <summary>
/// What a finished run (count or serving replay) hands over to become its <see cref="CandidateResult"/>: its own totals,
/// beside the ledgers every run keeps. <see cref="Result"/> derives the shared fields (SLO outcome, error budget, dollars,
/// fleet behaviour) one way for every kind of run.
/// </summary>
internal readonly record struct RunOutcome
{
    public required long Requests { get; init; }

    public required long Served { get; init; }

    public required long Late { get; init; }

    public required long Dropped { get; init; }

    public required long QueuedAtEnd { get; init; }

    public required double WaitP50Seconds { get; init; }

    public required double WaitP95Seconds { get; init; }

    public required double WaitP99Seconds { get; init; }

    public required double WaitMaxSeconds { get; init; }

    /// <summary>Replica-seconds billed (before billing granularity rounds them up).</summary>
    public required double BilledSeconds { get; init; }

    public required double IdleSeconds { get; init; }

    public required double LoadingSeconds { get; init; }

    public required double HoldDollars { get; init; }

    public required Dictionary<string, double> LoadMetrics { get; init; }

    public required long ColdStarts { get; init; }

    public required int PeakReplicas { get; init; }

    public required int EndReplicas { get; init; }

    public required Instant Start { get; init; }

    public required long Ticks { get; init; }

    /// <summary>The run's own warnings, after the engine's cap and before the policy's.</summary>
    public IEnumerable<string>? Warnings { get; init; }

    public Serving.ServingMetrics? Serving { get; init; }

    /// <summary>On a cluster: its figures; the dollars are then its node dollars.</summary>
    public Cluster.ClusterMetrics? Cluster { get; init; }

    /// <summary>What the replicas cost: billed seconds, rounded up by billing, at the replica's price, plus what the loads held.</summary>
    public static double Dollars(double billedSeconds, FleetLedger fleet, ReplaySettings settings, double holdDollars) =>
        (billedSeconds + fleet.RoundedExtraSeconds) * settings.Replica.DollarsPerReplicaSecond + holdDollars;

    /// <summary>The candidate's result: these totals, with the SLO, fleet and decision ledgers of the run.</summary>
    public CandidateResult Result(CandidateSpec spec, ReplaySettings settings, SloLedger slo, FleetLedger fleet, DecisionRecord record, TimelineRecorder? timeline)
    {
        var perReplicaSecond = settings.Replica.DollarsPerReplicaSecond;
        var dollars = Cluster is { } cluster ? cluster.NodeDollars + HoldDollars : Dollars(BilledSeconds, fleet, settings, HoldDollars);
        var violations = Late + Dropped;
        var budget = Requests * (100 - settings.Slo.TargetPercent) / 100;

        // On a cluster, a replica waiting for a node counts as loading for the policy (as a Pending pod counts toward a
        // Deployment's replicas), but it holds no GPU: no replica-seconds, no loading dollars, no cold start, no peak.
        var (billedSeconds, loadingSeconds, idleSeconds, coldStarts, peak) = Cluster is { } placed
            ? (Math.Max(0, BilledSeconds - placed.PendingSeconds), Math.Max(0, LoadingSeconds - placed.PendingSeconds), IdleSeconds,
                Math.Min(ColdStarts, placed.LoadsStarted), Math.Max(EndReplicas, Math.Min(PeakReplicas, placed.PeakPlacedReplicas)))
            : (BilledSeconds, LoadingSeconds, IdleSeconds, ColdStarts, PeakReplicas);

        // On a cluster the bill is for nodes. Where the nodes cost less per GPU than the replica's own price, a replica-second
        // costs what its GPUs cost on their nodes, on average, so idle and loading dollars stay parts of the bill.
        var replicaSecondDollars = Cluster is { } nodes && billedSeconds > 0 && nodes.ReplicaDollars < billedSeconds * perReplicaSecond * (1 - 1e-9)
            ? nodes.ReplicaDollars / billedSeconds
            : perReplicaSecond;
        return new CandidateResult
        {
            Name = spec.Name,
            Policy = spec.PolicyName,
            SweepGroup = spec.SweepGroup,
            SweepValue = spec.SweepValue,
            Requests = Requests,
            Served = Served,
            Late = Late,
            Dropped = Dropped,
            QueuedAtEnd = QueuedAtEnd,
            MeetsSlo = Requests == 0 || 100.0 * (Requests - violations) >= settings.Slo.TargetPercent * Requests,
            WaitP50Seconds = WaitP50Seconds,
            WaitP95Seconds = WaitP95Seconds,
            WaitP99Seconds = WaitP99Seconds,
            WaitMaxSeconds = WaitMaxSeconds,
            WorstMinuteViolations = slo.WorstMinuteViolations,
            WorstMinuteStartSeconds = slo.WorstMinute * 60.0,
            WorstHourViolations = slo.WorstHourViolations,
            WorstHourStartSeconds = slo.WorstHour * 3600.0,
            BreachMinutes = slo.BreachMinutes,
            Minutes = slo.Minutes,
            LongestBreachMinutes = slo.LongestBreachMinutes,
            ErrorBudgetBurn = budget > 0 ? violations / budget : (violations > 0 ? double.PositiveInfinity : 0),
            ScaleActions = fleet.ScaleActions,
            Flaps = fleet.Flaps,
            CapacityLagMaxSeconds = fleet.MaxLagSeconds,
            CapacityLagMeanSeconds = fleet.MeanLagSeconds,
            CapacityLagEpisodes = fleet.LagEpisodes,
            RoundingDollars = fleet.RoundedExtraSeconds * perReplicaSecond,
            Timeline = timeline?.Finish() ?? Timeline.Empty,
            ReplicaSeconds = billedSeconds,
            IdleReplicaSeconds = idleSeconds,
            LoadingReplicaSeconds = loadingSeconds,
            Dollars = dollars,
            IdleDollars = idleSeconds * replicaSecondDollars,
            LoadingDollars = loadingSeconds * replicaSecondDollars,
            CostDollars = dollars + violations * settings.Slo.DollarsPerViolation,
            ColdStarts = coldStarts,
            PeakReplicas = peak,
            EndReplicas = EndReplicas,
            Start = Start,
            Ticks = Ticks,
            SpanSeconds = Ticks * settings.TickSeconds,
            PolicyMetrics = record.PolicyMetrics(),
            Warnings = record.Warnings(Start, settings.Tick, Warnings),
            LoadMetrics = new MetricSet(LoadMetrics),
            HoldDollars = HoldDollars,
            Serving = Serving,
            Cluster = Cluster,
        };
    }
}
