using NodaTime;

namespace Autoscale.Traces;

/// <summary>Turns interval counts and request timestamps into per-tick arrivals.</summary>
internal static class TraceBinning
{
    /// <summary>
    /// Bins interval counts: the row at <c>timestamps[i]</c> covers <c>[t, t + interval)</c>; its count is
    /// spread evenly over the ticks it covers, the remainder going to the earliest ticks, so a coarse
    /// step (a 60 s Prometheus step, a 10 min window) never becomes one burst. Timestamps are
    /// nanoseconds since the Unix epoch, strictly increasing.
    /// </summary>
    public static TickTrace FromIntervalCounts(ReadOnlySpan<long> timestampsNanos, ReadOnlySpan<long> counts, long intervalNanos, Duration tick)
    {
        if (timestampsNanos.Length == 0)
        {
            return new TickTrace(Instant.FromUnixTimeTicks(0), tick, []);
        }

        var tickNanos = tick.ToInt64Nanoseconds();
        var start = timestampsNanos[0];
        var length = IntervalBinner.CeilDiv(timestampsNanos[^1] + intervalNanos - start, tickNanos);
        var binner = new IntervalBinner(length);
        for (var i = 0; i < timestampsNanos.Length; i++)
        {
            var from = timestampsNanos[i] - start;
            var first = from / tickNanos;
            binner.Add(first, Math.Max(first, IntervalBinner.CeilDiv(from + intervalNanos, tickNanos) - 1), counts[i]);
        }

        var arrivals = new long[length];
        while (!binner.Done)
        {
            var offset = binner.Emitted;
            binner.TakeBefore(length).CopyTo(arrivals, offset);
        }

        return new TickTrace(Instant.FromUnixTimeTicks(0) + Duration.FromNanoseconds(start), tick, arrivals);
    }

    /// <summary>
    /// Bins a request log: each timestamp (nanoseconds since the Unix epoch, any order) adds one request
    /// to its tick. Tick 0 starts at the earliest request, rounded down to a whole tick since the epoch.
    /// </summary>
    public static TickTrace FromRequestTimestamps(ReadOnlySpan<long> timestampsNanos, Duration tick)
    {
        if (timestampsNanos.Length == 0)
        {
            return new TickTrace(Instant.FromUnixTimeTicks(0), tick, []);
        }

        var tickNanos = tick.ToInt64Nanoseconds();
        long min = long.MaxValue, max = long.MinValue;
        foreach (var ts in timestampsNanos)
        {
            min = Math.Min(min, ts);
            max = Math.Max(max, ts);
        }

        var start = IntervalBinner.FloorDiv(min, tickNanos) * tickNanos;
        var arrivals = new long[(max - start) / tickNanos + 1];
        foreach (var ts in timestampsNanos)
        {
            arrivals[(ts - start) / tickNanos]++;
        }

        return new TickTrace(Instant.FromUnixTimeTicks(0) + Duration.FromNanoseconds(start), tick, arrivals);
    }

    /// <summary>
    /// The step of interval counts whose interval is not recorded: the smallest gap between consecutive
    /// timestamps (a larger gap is a run of empty intervals); <paramref name="fallback"/> for a single row.
    /// </summary>
    public static long SmallestStep(ReadOnlySpan<long> timestampsNanos, long fallback)
    {
        var step = long.MaxValue;
        for (var i = 1; i < timestampsNanos.Length; i++)
        {
            step = Math.Min(step, timestampsNanos[i] - timestampsNanos[i - 1]);
        }

        return step == long.MaxValue ? fallback : step;
    }

}
