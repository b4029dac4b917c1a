using NodaTime;

namespace Autoscale;

/// <summary>
/// The fleet as one decision sees it: what the replay engine counts and what a live signal source reads.
/// </summary>
/// <param name="ReadyReplicas">Replicas loaded and serving.</param>
/// <param name="LoadingReplicas">Replicas started but not yet ready.</param>
/// <param name="QueueDepth">Requests waiting, after the last interval's service.</param>
/// <param name="ArrivalsLastInterval">Requests that arrived during the last interval.</param>
/// <param name="ServedLastInterval">Requests that started service during the last interval.</param>
[method: System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
public readonly record struct FleetState(int ReadyReplicas, int LoadingReplicas, long QueueDepth, long ArrivalsLastInterval, long ServedLastInterval)
{
    /// <summary>Whether the serving signals (running requests, KV cache use, TTFT) are observed: a serving replay, or a live source that reads a model server's metrics.</summary>
    public bool HasServingSignals { get; init; }

    /// <summary>Requests running in the replicas' batches (serving replays and vLLM-style sources; else 0).</summary>
    public long RunningRequests { get; init; }

    /// <summary>Used KV cache blocks over all blocks of the ready replicas, from 0 to 1.</summary>
    public double KvCacheUtilization { get; init; }

    /// <summary>Prompt tokens served from the prefix cache over the prompt tokens of the last interval's admissions, from 0 to 1.</summary>
    public double PrefixCacheHitRate { get; init; }

    /// <summary>Input tokens of the last interval's arrivals.</summary>
    public long InputTokensLastInterval { get; init; }

    /// <summary>Output tokens of the last interval's arrivals.</summary>
    public long OutputTokensLastInterval { get; init; }

    /// <summary>Median time to first token over the last interval's first tokens; null when there were none.</summary>
    public Duration? TtftP50LastInterval { get; init; }

    /// <summary>95th percentile time to first token over the last interval's first tokens; null when there were none.</summary>
    public Duration? TtftP95LastInterval { get; init; }
}

/// <summary>
/// The one decision step the replay engine and the live loop share: the <see cref="ScalingSignal"/> built from the
/// fleet's state, the policy asked, and its answer clamped to <c>[0, maxReplicas]</c>. What happens to the clamped
/// count (loads started or cancelled in a replay, a scale request live) is the caller's.
/// </summary>
/// <remarks>An immutable value; allocates nothing.</remarks>
public readonly struct DecisionStep
{
    /// <summary>Creates the step of a fleet decided every <paramref name="interval"/>.</summary>
    /// <param name="interval">Time between decisions.</param>
    /// <param name="capacityPerReplica">Requests per second one ready replica serves.</param>
    /// <param name="expectedLoadTime">The nominal load time of the fleet's load path.</param>
    /// <param name="maxReplicas">The most replicas the fleet runs; larger answers are clamped.</param>
    public DecisionStep(Duration interval, double capacityPerReplica, Duration expectedLoadTime, int maxReplicas)
    {
        Interval = interval;
        CapacityPerReplica = capacityPerReplica;
        ExpectedLoadTime = expectedLoadTime;
        MaxReplicas = maxReplicas;
    }

    /// <summary>Time between decisions.</summary>
    public Duration Interval { get; }

    /// <summary>Requests per second one ready replica serves.</summary>
    public double CapacityPerReplica { get; }

    /// <summary>The nominal load time of the fleet's load path.</summary>
    public Duration ExpectedLoadTime { get; }

    /// <summary>The most replicas the fleet runs.</summary>
    public int MaxReplicas { get; }

    /// <summary>The signal of a decision at <paramref name="now"/> on <paramref name="fleet"/>.</summary>
    public ScalingSignal Signal(Instant now, in FleetState fleet) => new(now, this, fleet);

    /// <summary>A decision's count clamped to <c>[0, MaxReplicas]</c>.</summary>
    public int Clamp(ScalingDecision decision) => Math.Clamp(decision.DesiredReplicas, 0, Math.Max(0, MaxReplicas));

    /// <summary>Asks <paramref name="policy"/> at <paramref name="now"/>; its decision and the clamped count.</summary>
    /// <exception cref="Exception">Whatever the policy throws, unchanged.</exception>
    public (ScalingDecision Decision, int Desired) Decide(IScalingPolicy policy, Instant now, in FleetState fleet)
    {
        ArgumentNullException.ThrowIfNull(policy);
        // Built here by its constructor rather than returned from Signal: the signal is 176 bytes, and every copy of it
        // showed in the count replay's profile.
        var signal = new ScalingSignal(now, this, fleet);
        var decision = policy.Decide(in signal);
        return (decision, Clamp(decision));
    }
}
