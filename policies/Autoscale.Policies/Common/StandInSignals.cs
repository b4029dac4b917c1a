namespace Autoscale.Policies.Common;

/// <summary>
/// The replay's stand-ins for the metrics autoscalers read in production, computed from a <see cref="ScalingSignal"/>;
/// the names are what <c>metricMap</c> and <c>--metric-map</c> accept.
/// </summary>
public static class StandInSignals
{
    /// <summary>Requests in flight (waiting plus in service), per replica for a Pods metric, in total for an External one.</summary>
    public const string InFlight = "inFlight";

    /// <summary>Requests per second that arrived over the last decision interval.</summary>
    public const string ArrivalRps = "arrivalRps";

    /// <summary>Requests waiting for a replica at the decision instant.</summary>
    public const string Queue = "queue";

    /// <summary>With a serving profile: requests waiting at the gateway and in replica queues (vLLM's <c>num_requests_waiting</c>).</summary>
    public const string Waiting = "waiting";

    /// <summary>With a serving profile: requests running in replicas' batches (vLLM's <c>num_requests_running</c>).</summary>
    public const string Running = "running";

    /// <summary>With a serving profile: KV cache use, summed over ready replicas (so its average per replica is the fraction used).</summary>
    public const string KvCacheUtilization = "kvCacheUtilization";

    /// <summary>With a serving profile: the 95th percentile time to first token over the last interval, seconds (0 when no first token came).</summary>
    public const string TtftP95Seconds = "ttftP95Seconds";

    /// <summary>
    /// With a serving profile: the prefix cache hit rate of the last interval's admissions (cached prompt tokens over prompt
    /// tokens), summed over ready replicas like <see cref="KvCacheUtilization"/> (its average per replica is the rate).
    /// </summary>
    public const string PrefixCacheHitRate = "prefixCacheHitRate";

    /// <summary>The stand-in signals a replay provides (the last five with a serving profile).</summary>
    public static IReadOnlyList<string> Names => Known;

    private static readonly string[] Known = [InFlight, ArrivalRps, Queue, Waiting, Running, KvCacheUtilization, TtftP95Seconds, PrefixCacheHitRate];

    /// <summary>The signals that need a serving profile (<c>replica.serving</c>) or a live source reading a model server's metrics.</summary>
    public static IReadOnlyList<string> ServingNames { get; } = [Waiting, Running, KvCacheUtilization, TtftP95Seconds, PrefixCacheHitRate];

    /// <summary>
    /// Requests in flight over the whole fleet: those waiting, plus those in service. With serving signals, waiting plus
    /// running. In the count model a request is in service for one second of a replica's capacity, so the requests that
    /// started in the last interval, per second of it, are the ones in service now.
    /// </summary>
    public static double InFlightTotal(in ScalingSignal signal) => signal.HasServingSignals
        ? signal.QueueDepth + signal.RunningRequests
        : signal.QueueDepth + (signal.Interval.TotalSeconds > 0 ? signal.ServedLastInterval / signal.Interval.TotalSeconds : 0);

    /// <summary>The fleet-wide value of the stand-in <paramref name="name"/> (case-insensitive); throws for an unknown name, or a serving signal without serving signals.</summary>
    public static double Total(string name, in ScalingSignal signal) => Canonical(name) switch
    {
        InFlight => InFlightTotal(signal),
        ArrivalRps => signal.ArrivalRate,
        Queue => signal.QueueDepth,
        Waiting => Serving(name, signal).QueueDepth,
        Running => Serving(name, signal).RunningRequests,
        KvCacheUtilization => Serving(name, signal).KvCacheUtilization * signal.ReadyReplicas,
        TtftP95Seconds => Serving(name, signal).TtftP95LastInterval?.TotalSeconds ?? 0,
        PrefixCacheHitRate => Serving(name, signal).PrefixCacheHitRate * signal.ReadyReplicas,
        _ => throw new ArgumentException($"unknown stand-in signal \"{name}\"", nameof(name)),
    };

    private static ref readonly ScalingSignal Serving(string name, in ScalingSignal signal)
    {
        if (!signal.HasServingSignals)
        {
            throw new InvalidOperationException($"the signal \"{name}\" needs a serving profile (replica.serving) or a live source that reads a model server's metrics");
        }

        return ref signal;
    }

    /// <summary>The signal's name as written here, or null when <paramref name="name"/> names none this build replays.</summary>
    public static string? Canonical(string? name)
    {
        // A loop, not LINQ: policies call this on every decision, and the engine's loop allocates nothing.
        foreach (var known in Known)
        {
            if (string.Equals(known, name, StringComparison.OrdinalIgnoreCase))
            {
                return known;
            }
        }

        return null;
    }

    /// <summary>Why <paramref name="name"/> cannot be read in a replay, for an error message; null when it can.</summary>
    public static string? Problem(string? name)
    {
        if (Canonical(name) is not null)
        {
            return null;
        }

        return $"\"{name}\" is not a signal the replay has (known: {string.Join(", ", Names)}); map the metric to one of them";
    }
}
