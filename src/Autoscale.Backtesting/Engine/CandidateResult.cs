namespace Autoscale.Backtesting.Engine;

/// <summary>What one candidate did over one replay: SLO risk, dollars and the fleet.</summary>
/// <remarks>Immutable; safe to share between threads.</remarks>
public sealed record CandidateResult
{

    /// <summary>The candidate's name.</summary>
    public required string Name { get; init; }

    /// <summary>Why the candidate failed (its policy threw), or null when it ran to the end.</summary>
    public string? Error { get; init; }

    /// <summary>Whether the candidate failed; its other figures are then not meaningful.</summary>
    public bool Failed => Error is not null;

    /// <summary>For a candidate expanded from a sweep: the name of the swept candidate; null otherwise.</summary>
    public string? SweepGroup { get; init; }

    /// <summary>For a candidate expanded from a sweep: its values (<c>spares=3</c>).</summary>
    public string? SweepValue { get; init; }

    /// <summary>The policy's name.</summary>
    public string Policy { get; init; } = "";

    /// <summary>Requests that arrived.</summary>
    public long Requests { get; init; }

    /// <summary>Requests that started service.</summary>
    public long Served { get; init; }

    /// <summary>Late requests: served after waiting more than maxWait, or still queued at the end and older than maxWait.</summary>
    public long Late { get; init; }

    /// <summary>Requests that left after the client timeout.</summary>
    public long Dropped { get; init; }

    /// <summary>Requests still queued after the last tick.</summary>
    public long QueuedAtEnd { get; init; }

    /// <summary>Late plus dropped.</summary>
    public long Violations => Late + Dropped;

    /// <summary>Violations as a percentage of requests (0 when there were none).</summary>
    public double ViolationPercent => Requests == 0 ? 0 : 100.0 * Violations / Requests;

    /// <summary>Whether the share of requests on time reaches the SLO target.</summary>
    public bool MeetsSlo { get; init; }

    /// <summary>Median wait before service, seconds (nearest rank, whole ticks).</summary>
    public double WaitP50Seconds { get; init; }

    /// <summary>95th percentile wait, seconds.</summary>
    public double WaitP95Seconds { get; init; }

    /// <summary>99th percentile wait, seconds.</summary>
    public double WaitP99Seconds { get; init; }

    /// <summary>Longest wait, seconds.</summary>
    public double WaitMaxSeconds { get; init; }

    /// <summary>Violations in the worst minute of the trace (minutes counted from its start).</summary>
    public long WorstMinuteViolations { get; init; }

    /// <summary>Start of the worst minute, seconds from the start of the trace.</summary>
    public double WorstMinuteStartSeconds { get; init; }

    /// <summary>Violations in the worst hour of the trace.</summary>
    public long WorstHourViolations { get; init; }

    /// <summary>Start of the worst hour, seconds from the start of the trace.</summary>
    public double WorstHourStartSeconds { get; init; }

    /// <summary>Minutes whose on-time share fell below the SLO target.</summary>
    public long BreachMinutes { get; init; }

    /// <summary>Minutes in the trace.</summary>
    public long Minutes { get; init; }

    /// <summary>The share of minutes in breach, percent.</summary>
    public double BreachMinutesPercent => Minutes == 0 ? 0 : 100.0 * BreachMinutes / Minutes;

    /// <summary>The longest run of consecutive minutes in breach.</summary>
    public long LongestBreachMinutes { get; init; }

    /// <summary>Violations over the error budget (requests x (100 - target)%): 1 spends it exactly, more overspends.</summary>
    public double ErrorBudgetBurn { get; init; }

    /// <summary>Decisions that changed the fleet's size.</summary>
    public long ScaleActions { get; init; }

    /// <summary>Reversals of direction within five minutes of the previous action.</summary>
    public long Flaps { get; init; }

    /// <summary>The longest stretch (seconds) from demand outgrowing ready capacity until ready capacity covered it again.</summary>
    public double CapacityLagMaxSeconds { get; init; }

    /// <summary>The mean of those stretches, seconds.</summary>
    public double CapacityLagMeanSeconds { get; init; }

    /// <summary>How many such stretches there were.</summary>
    public long CapacityLagEpisodes { get; init; }

    /// <summary>Dollars added by billing granularity and minimums (part of <see cref="Dollars"/>).</summary>
    public double RoundingDollars { get; init; }

    /// <summary>Dollars per 1,000 requests (0 without requests).</summary>
    public double DollarsPer1000Requests => Requests == 0 ? 0 : Dollars / Requests * 1000;

    /// <summary>The downsampled timeline, when it was recorded.</summary>
    public Timeline Timeline { get; init; } = Timeline.Empty;

    /// <summary>Total replica-seconds billed, from each load's start to its release.</summary>
    public double ReplicaSeconds { get; init; }

    /// <summary>
    /// Replica-seconds of ready capacity left unused: per tick, <c>(ready * capacity * tick - served) / capacity</c>
    /// when the queue empties (with a fractional capacity, the remainder carries only while requests wait).
    /// </summary>
    public double IdleReplicaSeconds { get; init; }

    /// <summary>Replica-seconds spent loading (billed, not serving).</summary>
    public double LoadingReplicaSeconds { get; init; }

    /// <summary>Total dollars billed.</summary>
    public double Dollars { get; init; }

    /// <summary>Dollars of ready capacity left unused.</summary>
    public double IdleDollars { get; init; }

    /// <summary>Dollars paid for replicas while they loaded.</summary>
    public double LoadingDollars { get; init; }

    /// <summary>Dollars for nodes kept up only to hold a weight cache (part of <see cref="Dollars"/>).</summary>
    public double HoldDollars { get; init; }

    /// <summary>Figures of the load path (cache hits, mean load seconds, ...); empty for fixed loads.</summary>
    public MetricSet LoadMetrics { get; init; } = MetricSet.Empty;

    /// <summary>Dollars plus violations at the configured price per violation.</summary>
    public double CostDollars { get; init; }

    /// <summary>Loads started after tick 0.</summary>
    public long ColdStarts { get; init; }

    /// <summary>The largest ready + loading count.</summary>
    public int PeakReplicas { get; init; }

    /// <summary>Ready replicas after the last tick.</summary>
    public int EndReplicas { get; init; }

    /// <summary>Figures the policy reported about itself (e.g. <c>forecastWape</c>); empty for most policies.</summary>
    public MetricSet PolicyMetrics { get; init; } = MetricSet.Empty;

    /// <summary>What a user should know about this run: a limit it ran into, a part of its policy that never set a decision.</summary>
    public TextList Warnings { get; init; } = TextList.Empty;

    /// <summary>The instant the run's first tick began (the trace's start).</summary>
    public NodaTime.Instant Start { get; init; }

    /// <summary>Ticks replayed.</summary>
    public long Ticks { get; init; }

    /// <summary>Seconds replayed (ticks x the tick's length).</summary>
    public double SpanSeconds { get; init; }

    /// <summary>Dollars per hour of the replayed span (0 for an empty one).</summary>
    public double DollarsPerHour => SpanSeconds > 0 ? Dollars / SpanSeconds * 3600 : 0;

    /// <summary>Rank in the backtest (1 is best); 0 before ranking.</summary>
    public int Rank { get; init; }

    /// <summary>Whether no other candidate is at least as good on both violation percentage and dollars and better on one.</summary>
    public bool OnParetoFront { get; init; }

    /// <summary>Token latencies, throughput and KV use of a serving replay; null for the <c>capacityRps</c> model.</summary>
    public Serving.ServingMetrics? Serving { get; init; }

    /// <summary>On a cluster (the config's <c>cluster</c> section): nodes, pools, stockouts, reclaims, crashes; null otherwise.</summary>
    public Cluster.ClusterMetrics? Cluster { get; init; }

    /// <summary>On a disaggregated fleet: each pool's own result (its replicas, dollars, decisions; the prefill pool's requests end with their first token, the decode pool's are the clients'); null for one fleet.</summary>
    public PoolResults? Pools { get; init; }

    /// <summary>
    /// What is inconsistent in this result, or null (checked where results are made and where part files are read): every
    /// count within the requests and adding up (served, dropped and still queued make the requests; late within served and queued), every
    /// figure finite (latencies of a serving replay may be infinite, for a dropped request, or absent), dollars and their
    /// parts non-negative with the parts within the total, and <c>meetsSlo</c> as the violations and the target give it.
    /// </summary>
    public string? Inconsistency(ReplaySettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var r = this;
        var at = $"candidate \"{r.Name}\"";
        if (r.Error is not null)
        {
            return null;
        }

        if (CountProblem() is { } counted)
        {
            return $"{at}: {counted}";
        }

        (string Name, double Value)[] figures = [("waitP50Seconds", r.WaitP50Seconds), ("waitP95Seconds", r.WaitP95Seconds), ("waitP99Seconds", r.WaitP99Seconds),
            ("waitMaxSeconds", r.WaitMaxSeconds), ("worstMinuteStartSeconds", r.WorstMinuteStartSeconds), ("worstHourStartSeconds", r.WorstHourStartSeconds),
            ("capacityLagMaxSeconds", r.CapacityLagMaxSeconds), ("capacityLagMeanSeconds", r.CapacityLagMeanSeconds), ("roundingDollars", r.RoundingDollars),
            ("replicaSeconds", r.ReplicaSeconds), ("idleReplicaSeconds", r.IdleReplicaSeconds), ("loadingReplicaSeconds", r.LoadingReplicaSeconds),
            ("dollars", r.Dollars), ("idleDollars", r.IdleDollars), ("loadingDollars", r.LoadingDollars), ("holdDollars", r.HoldDollars),
            ("costDollars", r.CostDollars), ("spanSeconds", r.SpanSeconds)];
        if (figures.FirstOrDefault(f => !double.IsFinite(f.Value) || f.Value < 0) is { Name: not null } bad)
        {
            return $"{at}: {bad.Name} ({bad.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}) is negative or not a finite number";
        }

        if (!(r.WaitP50Seconds <= r.WaitP95Seconds && r.WaitP95Seconds <= r.WaitP99Seconds && r.WaitP99Seconds <= r.WaitMaxSeconds))
        {
            return $"{at}: its wait percentiles are out of order";
        }

        const double slack = 1e-6;
        if (r.IdleDollars > (r.Dollars * (1 + slack)) + slack || r.LoadingDollars > (r.Dollars * (1 + slack)) + slack || r.HoldDollars > (r.Dollars * (1 + slack)) + slack
            || r.IdleReplicaSeconds > (r.ReplicaSeconds * (1 + slack)) + slack)
        {
            return $"{at}: a part of its dollars or replica-seconds exceeds the whole";
        }

        if (!double.IsFinite(r.ErrorBudgetBurn) && r.Requests > 0 && settings.Slo.TargetPercent < 100)
        {
            return $"{at}: errorBudgetBurn is not a finite number";
        }

        var meets = r.Requests == 0 || 100.0 * (r.Requests - r.Violations) >= settings.Slo.TargetPercent * r.Requests;
        if (r.MeetsSlo != meets)
        {
            return $"{at}: meetsSlo is {(r.MeetsSlo ? "true" : "false")}, but {r.Violations} violations of {r.Requests} requests {(meets ? "meet" : "miss")} the {settings.Slo.TargetPercent} % target";
        }

        if (PartsProblem() is { } part)
        {
            return $"{at}: {part}";
        }

        return TimelineProblem(r.Timeline) is { } problem ? $"{at}: its timeline {problem}" : null;
    }

    /// <summary>What is wrong with the counts (negative, not adding up to the requests, violations or minutes out of order); null when they hold.</summary>
    private string? CountProblem()
    {
        long[] counts = [Requests, Served, Late, Dropped, QueuedAtEnd, WorstMinuteViolations, WorstHourViolations, BreachMinutes, Minutes,
            LongestBreachMinutes, ScaleActions, Flaps, CapacityLagEpisodes, ColdStarts, PeakReplicas, EndReplicas, Ticks];
        if (counts.Any(c => c < 0))
        {
            return "a count is negative";
        }

        if (Served > Requests || Dropped > Requests || QueuedAtEnd > Requests || Served + Dropped + QueuedAtEnd != Requests)
        {
            return $"served ({Served}), dropped ({Dropped}) and queued at the end ({QueuedAtEnd}) do not add up to its {Requests} requests";
        }

        if (Late > Served + QueuedAtEnd || WorstMinuteViolations > WorstHourViolations || WorstHourViolations > Violations)
        {
            return $"its violations do not add up (late {Late} of {Served + QueuedAtEnd} served or queued; worst minute {WorstMinuteViolations}, worst hour {WorstHourViolations}, of {Violations} in all)";
        }

        if (BreachMinutes > Minutes || LongestBreachMinutes > BreachMinutes || EndReplicas > PeakReplicas)
        {
            return "its minutes in breach or its replicas do not add up";
        }

        return null;
    }

    /// <summary>What is wrong with the serving or cluster figures (negative, out of range, not finite); null when they hold.</summary>
    private string? PartsProblem()
    {
        if (Serving is { } s)
        {
            double[] latencies = [s.TtftP50Seconds, s.TtftP90Seconds, s.TtftP99Seconds, s.TpotP50Seconds, s.TpotP99Seconds, s.E2eP50Seconds, s.E2eP99Seconds, s.TtftMeanSeconds, s.TpotMeanSeconds, s.E2eMeanSeconds];
            double[] rates = [s.GoodputRps, s.InputTokensPerSecond, s.OutputTokensPerSecond, s.NominalCapacityRps, s.MeanInputTokens, s.MeanOutputTokens];
            if (latencies.Any(l => l < 0 || double.IsNegativeInfinity(l)) || rates.Any(f => !double.IsFinite(f) || f < 0) || s.Preemptions < 0
                || !(s.KvCacheUtilization is >= 0 and <= 1) || s.PrefixCacheHitRate is < 0 or > 1 or double.NaN || s.DollarsPerMillionTokens < 0 || double.IsInfinity(s.DollarsPerMillionTokens))
            {
                return "a serving figure is negative, out of its range or not a number";
            }
        }

        if (Cluster is { } c)
        {
            double[] cluster = [c.NodeDollars, c.IdleGpuDollars, c.ReplicaDollars, c.OnDemandDollars, c.SpotDollars, c.CommittedDollars, c.WarmNodeDollars,
                c.ProvisionWaitP50Seconds, c.ProvisionWaitP99Seconds, c.ProvisionWaitMaxSeconds, c.PendingSeconds, c.StockoutMinutes];
            long[] events = [c.UnplacedReplicas, c.Preemptions, c.PreemptedReplicas, c.Crashes, c.RequestsLost, c.RequestsRetried, c.ProvisionFailures, c.PeakNodes];
            if (cluster.Any(f => !double.IsFinite(f) || f < 0) || events.Any(e => e < 0) || c.Pools is null || c.Pools.Any(p => p is null || !double.IsFinite(p.Dollars) || p.Dollars < 0))
            {
                return "a cluster figure is negative or not a finite number";
            }
        }

        return null;
    }


    private static string? TimelineProblem(Timeline? timeline)
    {
        if (timeline is null || timeline.Points is null)
        {
            return "is missing its points";
        }

        if (timeline.Points.Count > 0 && !(double.IsFinite(timeline.BucketSeconds) && timeline.BucketSeconds > 0))
        {
            return "has no positive bucket width";
        }

        foreach (var p in timeline.Points)
        {
            if (!double.IsFinite(p.StartSeconds) || !(p.DemandRps is >= 0 and < double.PositiveInfinity) || !(p.ReadyReplicas is >= 0 and < double.PositiveInfinity)
                || !(p.LoadingReplicas is >= 0 and < double.PositiveInfinity) || p.QueueMax < 0 || p.Violations < 0)
            {
                return "holds a point that is negative or not a finite number";
            }
        }

        return timeline.Zoom is { } zoom ? TimelineProblem(zoom) : null;
    }
}

/// <summary>The results of a disaggregated fleet's two pools.</summary>
/// <param name="Prefill">The prefill pool's: its requests end when prefilled (their TTFT is the prefill's).</param>
/// <param name="Decode">The decode pool's: the clients' requests, first token and end included.</param>
public sealed record PoolResults(CandidateResult Prefill, CandidateResult Decode);
