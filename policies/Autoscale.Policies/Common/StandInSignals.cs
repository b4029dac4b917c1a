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

    /// <summary>The stand-in signals a count-model replay provides.</summary>
    public static IReadOnlyList<string> Names => Known;

    private static readonly string[] Known = [InFlight, ArrivalRps, Queue];

    /// <summary>The signals that need a serving profile (<c>replica.serving</c>), which this build does not replay yet.</summary>
    public static IReadOnlyList<string> ServingNames { get; } = ["waiting", "running", "kvCacheUtilization", "ttftP95Seconds"];

    /// <summary>
    /// Requests in flight over the whole fleet: those waiting, plus those in service. In the count model a request is in
    /// service for one second of a replica's capacity, so the requests that started in the last interval, per second
    /// of it, are the ones in service now.
    /// </summary>
    public static double InFlightTotal(in ScalingSignal signal) =>
        signal.QueueDepth + (signal.Interval.TotalSeconds > 0 ? signal.ServedLastInterval / signal.Interval.TotalSeconds : 0);

    /// <summary>The fleet-wide value of the stand-in <paramref name="name"/> (case-insensitive); throws for an unknown name.</summary>
    public static double Total(string name, in ScalingSignal signal) => Canonical(name) switch
    {
        InFlight => InFlightTotal(signal),
        ArrivalRps => signal.ArrivalRate,
        Queue => signal.QueueDepth,
        _ => throw new ArgumentException($"unknown stand-in signal \"{name}\"", nameof(name)),
    };

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

        if (ServingNames.Any(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase)))
        {
            return $"\"{name}\" needs a serving profile (replica.serving), which this build does not replay yet; use one of {string.Join(", ", Names)}";
        }

        return $"\"{name}\" is not a signal the replay has (known: {string.Join(", ", Names)}); map the metric to one of them";
    }
}
