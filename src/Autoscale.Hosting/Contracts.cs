using NodaTime;

namespace Autoscale.Hosting;

/// <summary>What a signal source observed of the fleet and its traffic.</summary>
/// <param name="ObservedAt">When the observations were taken (for staleness).</param>
/// <param name="ReadyReplicas">Replicas serving.</param>
/// <param name="LoadingReplicas">Replicas starting.</param>
/// <param name="QueueDepth">Requests waiting.</param>
/// <param name="ArrivalsLastInterval">Requests that arrived during the last interval.</param>
/// <param name="ServedLastInterval">Requests that started service during the last interval.</param>
public readonly record struct FleetObservation(
    Instant ObservedAt,
    int ReadyReplicas,
    int LoadingReplicas,
    long QueueDepth,
    long ArrivalsLastInterval,
    long ServedLastInterval = 0)
{
    /// <summary>Requests running in the model servers' batches (vLLM's <c>num_requests_running</c>); null when the source does not read serving signals.</summary>
    public long? RunningRequests { get; init; }

    /// <summary>The model servers' KV cache use, a fraction from 0 to 1; null when not read.</summary>
    public double? KvCacheUtilization { get; init; }

    /// <summary>The model servers' prefix cache hit rate over the last interval (cached prompt tokens over prompt tokens), 0 to 1; null when not read.</summary>
    public double? PrefixCacheHitRate { get; init; }

    /// <summary>The median time to first token over the last interval; null when not read or when no first token came.</summary>
    public Duration? TtftP50LastInterval { get; init; }

    /// <summary>The 95th percentile time to first token over the last interval; null when not read or when no first token came.</summary>
    public Duration? TtftP95LastInterval { get; init; }

    /// <summary>Input (prompt) tokens of the last interval's arrivals; null when not read.</summary>
    public long? InputTokensLastInterval { get; init; }

    /// <summary>Output tokens of the last interval's arrivals; null when not read.</summary>
    public long? OutputTokensLastInterval { get; init; }

    /// <summary>
    /// What a decision's signal observed, as a source reports it: the fleet, the queue, the last interval's arrivals and
    /// service, and the serving signals when the signal has them (a replayed world's signals read back by the live loop).
    /// </summary>
    public static FleetObservation FromSignal(in ScalingSignal signal) =>
        new(signal.Now, signal.ReadyReplicas, signal.LoadingReplicas, signal.QueueDepth, signal.ArrivalsLastInterval, signal.ServedLastInterval)
        {
            RunningRequests = signal.HasServingSignals ? signal.RunningRequests : null,
            KvCacheUtilization = signal.HasServingSignals ? signal.KvCacheUtilization : null,
            PrefixCacheHitRate = signal.HasServingSignals ? signal.PrefixCacheHitRate : null,
            TtftP50LastInterval = signal.TtftP50LastInterval,
            TtftP95LastInterval = signal.TtftP95LastInterval,
            InputTokensLastInterval = signal.HasServingSignals ? signal.InputTokensLastInterval : null,
            OutputTokensLastInterval = signal.HasServingSignals ? signal.OutputTokensLastInterval : null,
        };
}

/// <summary>Reads the metrics a policy's signal needs (Prometheus, a load balancer, a test's fake).</summary>
public interface IScalingSignalSource
{
    /// <summary>The latest observations, or null when none are available.</summary>
    ValueTask<FleetObservation?> ReadAsync(CancellationToken cancellationToken);
}

/// <summary>Applies a replica count (a Kubernetes scale subresource, a cloud API, a test's fake).</summary>
public interface IReplicaController
{
    /// <summary>Asks for <paramref name="replicas"/> replicas (ready + loading).</summary>
    ValueTask ApplyAsync(int replicas, CancellationToken cancellationToken);
}

/// <summary>What one iteration of the loop did.</summary>
public enum IterationOutcome
{
    /// <summary>Decided and applied (or, in dry run, recorded).</summary>
    Applied,

    /// <summary>Decided the count the fleet already has; nothing applied.</summary>
    Unchanged,

    /// <summary>No signal (the source failed or had none): nothing changed.</summary>
    NoSignal,

    /// <summary>The signal was stale: nothing changed.</summary>
    StaleSignal,

    /// <summary>The policy threw: the last good decision holds.</summary>
    PolicyFailed,

    /// <summary>Every apply attempt failed: the fleet is as it was.</summary>
    ApplyFailed,
}

/// <summary>The record of one iteration.</summary>
/// <param name="At">When it ran.</param>
/// <param name="Outcome">What happened.</param>
/// <param name="Desired">The replica count decided (after clamping), or the last good one when none was.</param>
/// <param name="Reason">The policy's reason, or why nothing was decided.</param>
/// <param name="Applied">Whether a count was sent to the controller.</param>
public sealed record LoopIteration(Instant At, IterationOutcome Outcome, int? Desired, string? Reason, bool Applied);

/// <summary>The live autoscaler: one iteration at a time, callable directly (tests, replays) besides the hosted loop.</summary>
public interface IAutoscaler
{
    /// <summary>The last good decision, if any.</summary>
    int? LastDesired { get; }

    /// <summary>Recent iterations, newest last (at most 1,000).</summary>
    IReadOnlyList<LoopIteration> History { get; }

    /// <summary>Reads a signal, asks the policy, clamps, and applies.</summary>
    Task<LoopIteration> RunOnceAsync(CancellationToken cancellationToken = default);
}
