using NodaTime;

namespace Autoscale.Backtesting.Engine;

/// <summary>The settings every candidate of one backtest shares: tick, SLO, replica, limits.</summary>
/// <param name="Slo">The latency objective.</param>
/// <param name="Replica">Capacity and price of one replica.</param>
/// <param name="Tick">Length of one engine tick (default 1 s).</param>
/// <param name="MaxReplicas">The engine clamps every decision to [0, MaxReplicas].</param>
/// <param name="Seed">Seed of jittered load-time models and generated traffic.</param>
/// <remarks>Immutable; safe to share between threads.</remarks>
public sealed record ReplaySettings(SloSettings Slo, ReplicaSettings Replica, Duration Tick, int MaxReplicas = 10_000, long Seed = 1)
{
    /// <summary>Each replica's billed lifetime is rounded up to a multiple of this (zero: billed per tick, exactly).</summary>
    public Duration BillingGranularity { get; init; }

    /// <summary>Each replica is billed for at least this long (zero: no minimum).</summary>
    public Duration BillingMinimum { get; init; }

    /// <summary>The tick in seconds.</summary>
    public double TickSeconds => Tick.TotalSeconds;

    /// <summary>The replicas' serving profile; null for the <c>capacityRps</c> model.</summary>
    public Serving.ServingProfile? Serving { get; init; }

    /// <summary>With a serving profile: replay it as a fluid of cohorts (<c>engine.serving: "fluid"</c>, fast) instead of request by request.</summary>
    public bool FluidServing { get; init; }

    /// <summary>The cluster replicas run on (nodes, pools, stockouts, reclaims, crashes); null bills replicas and starts loads at once.</summary>
    public Cluster.ClusterSpec? Cluster { get; init; }

    /// <summary>With a serving profile: how long the fleet may serve what is left after the trace ends.</summary>
    public Duration Drain { get; init; } = Duration.FromHours(1);

    /// <summary>The most requests a request-level serving replay takes (<c>engine.maxRequests</c>); a longer trace is refused before it starts.</summary>
    public long MaxRequests { get; init; } = EngineOptions.DefaultMaxRequests;

    /// <summary>
    /// Why a replay of <paramref name="requests"/> requests is refused before it starts, or null: a request-level serving
    /// replay of more than <see cref="MaxRequests"/> (its work and memory grow with every request and every step).
    /// </summary>
    public string? WorkProblem(long requests) =>
        Serving is not null && !FluidServing && requests > MaxRequests
            ? $"{requests:N0} requests are more than engine.maxRequests ({MaxRequests:N0}) for a request-by-request replay: set engine.serving to \"fluid\", replay a window (trace synth --from T --from-offset 13h --duration 1h), or raise engine.maxRequests"
            : null;

    /// <summary>
    /// Every rule the settings break, by the rules of the config's sections (<see cref="SloOptions"/>,
    /// <see cref="ReplicaOptions"/>, <see cref="EngineOptions"/>, <see cref="BillingOptions"/>), each at its path.
    /// </summary>
    public IReadOnlyList<OptionError> Validate() =>
    [
        .. Slo.Validate().Select(e => e.Under("slo")),
        .. Replica.Validate().Select(e => e.Under("replica")),
        .. OptionRules.Validate(new EngineOptions { TickSeconds = Tick, MaxReplicas = MaxReplicas, Seed = Seed }, typeof(EngineOptions)).Select(e => e.Under("engine")),
        .. OptionRules.Validate(new BillingOptions { GranularitySeconds = BillingGranularity, MinimumSeconds = BillingMinimum }, typeof(BillingOptions)).Select(e => e.Under("billing")),
        .. (Cluster?.Validate() ?? []).Select(e => e.Under("cluster")),
    ];
}

/// <summary>One candidate: a named policy (built fresh for every run) on the load path of a load-time model.</summary>
/// <param name="Name">Unique name in the backtest.</param>
/// <param name="PolicyFactory">Builds a fresh policy instance for one run.</param>
/// <param name="LoadTime">The load-time model of the candidate's load path.</param>
/// <param name="DecisionIntervalTicks">The policy is asked every this many ticks; the target stands in between.</param>
/// <param name="MetricsDelayTicks">Queue and arrivals in the signal are those of this many ticks earlier.</param>
/// <remarks>Immutable; the factory must be safe to call from several threads.</remarks>
public sealed record CandidateSpec(
    string Name,
    Func<IScalingPolicy> PolicyFactory,
    ILoadTimeModel LoadTime,
    int DecisionIntervalTicks = 1,
    int MetricsDelayTicks = 0)
{
    /// <summary>The policy's name in the catalog, or its type; shown in reports.</summary>
    public string PolicyName { get; init; } = "";

    /// <summary>For a candidate expanded from a sweep: the name of the swept candidate; null otherwise.</summary>
    public string? SweepGroup { get; init; }

    /// <summary>For a candidate expanded from a sweep: its values, as in its name (<c>spares=3</c>).</summary>
    public string? SweepValue { get; init; }

    /// <summary>The candidate's replica shape (<c>"replica": "name"</c> of the config's <c>replicas</c>); null for the config's <c>replica</c>.</summary>
    public ReplicaSettings? Replica { get; init; }

    /// <summary>The name of the candidate's replica shape (<c>"replica"</c>, or the swept value); null for the config's <c>replica</c>.</summary>
    public string? Shape { get; init; }

    /// <summary>The serving profile of the candidate's replica shape, in place of the backtest's; null for the backtest's.</summary>
    public Serving.ServingProfile? Serving { get; init; }

    /// <summary>The candidate's own cluster, in place of the backtest's; null for the backtest's (checked, as the backtest's is, when its run starts).</summary>
    public Cluster.ClusterSpec? Cluster { get; init; }

    /// <summary>On a cluster: the only node pool the candidate's replicas may use (the shape's <c>pool</c>); null for any.</summary>
    public string? Pool { get; init; }

    /// <summary>
    /// The settings this candidate replays with: its replica shape and its own cluster laid over the backtest's. Each
    /// engine validates these, so a shape or a cluster built in code is checked as the config's are.
    /// </summary>
    internal ReplaySettings On(ReplaySettings settings) =>
        settings with { Replica = Replica ?? settings.Replica, Cluster = Cluster ?? settings.Cluster };

    /// <summary>The rules of the candidate's decision cadence, which every replay engine checks the same way: decisions at least one tick apart, a metrics delay of no less than 0 ticks.</summary>
    internal IReadOnlyList<string> CadenceErrors() =>
    [
        .. DecisionIntervalTicks < 1 ? [$"decisionIntervalSeconds must be at least one tick (was {DecisionIntervalTicks} ticks)"] : Array.Empty<string>(),
        .. MetricsDelayTicks < 0 ? [$"metricsDelaySeconds ({MetricsDelayTicks} ticks) must be >= 0"] : Array.Empty<string>(),
    ];

    /// <summary>For a fleet of disaggregated prefill and decode pools: each pool's candidate (its policy, load-time model and cadence); null for one fleet.</summary>
    public Serving.PoolCandidates? Pools { get; init; }

    /// <summary>The policy's bound options as the config gave them (after sweeps and <c>policyFrom</c>), for tools that write them back out; null when built in code.</summary>
    public object? Options { get; init; }
}
