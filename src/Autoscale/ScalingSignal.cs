using NodaTime;

namespace Autoscale;

/// <summary>
/// What an autoscaler can observe at one decision instant; the same value in a backtest and live.
/// </summary>
/// <param name="Now">The instant of the decision.</param>
/// <param name="Interval">Time since the previous decision (the decision interval).</param>
/// <param name="ReadyReplicas">Replicas loaded and serving.</param>
/// <param name="LoadingReplicas">Replicas started but not yet ready (billed, not serving).</param>
/// <param name="QueueDepth">Requests waiting, after the last interval's service.</param>
/// <param name="ArrivalsLastInterval">Requests that arrived during the last interval.</param>
/// <param name="CapacityPerReplica">Requests per second one ready replica serves.</param>
/// <param name="ExpectedLoadTime">The candidate's nominal load time: how far ahead to launch.</param>
/// <remarks>An immutable value; safe to share between threads.</remarks>
[method: System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
public readonly record struct ScalingSignal(
    Instant Now,
    Duration Interval,
    int ReadyReplicas,
    int LoadingReplicas,
    long QueueDepth,
    long ArrivalsLastInterval,
    double CapacityPerReplica,
    Duration ExpectedLoadTime)
{
    /// <summary>The signal of a decision at <paramref name="now"/> of <paramref name="step"/> on <paramref name="fleet"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal ScalingSignal(Instant now, in DecisionStep step, in FleetState fleet)
        : this(now, step.Interval, fleet.ReadyReplicas, fleet.LoadingReplicas, fleet.QueueDepth, fleet.ArrivalsLastInterval, step.CapacityPerReplica, step.ExpectedLoadTime)
    {
        ServedLastInterval = fleet.ServedLastInterval;
        MaxReplicas = step.MaxReplicas;
        HasServingSignals = fleet.HasServingSignals;
        RunningRequests = fleet.RunningRequests;
        KvCacheUtilization = fleet.KvCacheUtilization;
        PrefixCacheHitRate = fleet.PrefixCacheHitRate;
        InputTokensLastInterval = fleet.InputTokensLastInterval;
        OutputTokensLastInterval = fleet.OutputTokensLastInterval;
        TtftP50LastInterval = fleet.TtftP50LastInterval;
        TtftP95LastInterval = fleet.TtftP95LastInterval;
    }

    /// <summary>Requests that started service during the last interval.</summary>
    public long ServedLastInterval { get; init; }

    /// <summary>The most replicas the engine or host will run; decisions above it are clamped.</summary>
    public int MaxReplicas { get; init; } = int.MaxValue;

    /// <summary>Whether the serving signals (running requests, KV cache use, TTFT) are observed: a serving replay, or a live source that reads a model server's metrics.</summary>
    public bool HasServingSignals { get; init; }

    /// <summary>Requests running in a replica's batch (admitted, not finished); with a serving profile, else 0.</summary>
    public long RunningRequests { get; init; }

    /// <summary>Used KV cache blocks over all blocks of the ready replicas, a fraction from 0 to 1; with a serving profile, else 0.</summary>
    public double KvCacheUtilization { get; init; }

    /// <summary>
    /// Prompt tokens served from the prefix cache over the prompt tokens of the requests admitted during the last interval,
    /// 0 to 1 (vLLM's <c>prefix_cache_hits</c> over <c>prefix_cache_queries</c>); with prefix caching on a trace with prefix
    /// columns, else 0.
    /// </summary>
    public double PrefixCacheHitRate { get; init; }

    /// <summary>Input (prompt) tokens of the requests that arrived during the last interval; with a serving profile, else 0.</summary>
    public long InputTokensLastInterval { get; init; }

    /// <summary>Output tokens of the requests that arrived during the last interval; with a serving profile, else 0.</summary>
    public long OutputTokensLastInterval { get; init; }

    /// <summary>The median time to first token over the requests whose first token came in the last interval; null when none did.</summary>
    public Duration? TtftP50LastInterval { get => Unpack(_ttftP50); init => _ttftP50 = Pack(value); }

    /// <summary>The 95th percentile time to first token over the requests whose first token came in the last interval; null when none did.</summary>
    public Duration? TtftP95LastInterval { get => Unpack(_ttftP95); init => _ttftP95 = Pack(value); }

    /// <summary>The mean time to first token over the requests whose first token came in the last interval; null when none did.</summary>
    public Duration? TtftMeanLastInterval { get => Unpack(_ttftMean); init => _ttftMean = Pack(value); }

    /// <summary>The mean time between output tokens (a decode step's time, per token it gave) over the last interval; null when no token was decoded.</summary>
    public Duration? ItlMeanLastInterval { get => Unpack(_itlMean); init => _itlMean = Pack(value); }

    /// <summary>Which pool the policy scales: the whole fleet, or with disaggregated serving its prefill or its decode pool.</summary>
    public ServingPool Pool { get; init; }

    /// <summary>For the decode pool of a disaggregated fleet: the prefill pool's replicas, ready and loading, after its decision at this instant; else 0.</summary>
    public int PrefillReplicas { get; init; }

    /// <summary>The step-time model of the replicas scaled (what a planner's pre-deployment profiling measures); null when unknown (live, unless configured).</summary>
    public ServingPerformance? Performance { get; init; }

    // The latencies as nanoseconds, 0 for none (else with the sign bit flipped): a nullable Duration takes 24 bytes of a
    // value every decision builds, these 8 (the count replay builds one a tick, and its size showed in the profile).
    private readonly long _ttftP50, _ttftP95, _ttftMean, _itlMean;

    private static long Pack(Duration? duration) => duration is { } d ? d.ToInt64Nanoseconds() ^ long.MinValue : 0;

    private static Duration? Unpack(long packed) => packed == 0 ? null : Duration.FromNanoseconds(packed ^ long.MinValue);

    /// <summary>Ready plus loading replicas: the count a decision is compared with.</summary>
    public int CurrentReplicas => ReadyReplicas + LoadingReplicas;

    /// <summary>Arrivals of the last interval as a rate in requests per second (0 when the interval is empty).</summary>
    public double ArrivalRate => Interval > Duration.Zero ? ArrivalsLastInterval / Interval.TotalSeconds : 0;
}
