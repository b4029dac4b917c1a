namespace Autoscale.Shared;

/// <summary>
/// How an interval of counts becomes single requests, the one rule for every place that spreads them (the serving
/// replays' workload and <c>trace synth</c>'s request logs): request i of the interval's n arrives i/n of the way into
/// it, and its tokens are the interval's total shared out, the first requests taking the remainder.
/// </summary>
internal static class IntervalRequests
{
    /// <summary>Nanoseconds after the interval's start at which request <paramref name="i"/> of <paramref name="n"/> arrives.</summary>
    public static long ArrivalOffset(long i, long n, long intervalNanos) => (long)((Int128)i * intervalNanos / n);

    /// <summary>Request <paramref name="i"/>'s share of <paramref name="total"/> tokens over <paramref name="n"/> requests.</summary>
    public static long Share(long total, long n, long i) => (total / n) + (i < total % n ? 1 : 0);
}
