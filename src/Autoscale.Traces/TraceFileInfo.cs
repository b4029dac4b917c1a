using NodaTime;

namespace Autoscale.Traces;

/// <summary>The two shapes a trace file has, told apart by its columns.</summary>
public enum TraceShape
{
    /// <summary><c>timestamp</c> and <c>requests</c>: a count per interval.</summary>
    IntervalCounts,

    /// <summary><c>timestamp</c> only: one row per request.</summary>
    RequestLog,
}

/// <summary>What a trace file holds, beside its binned arrivals.</summary>
/// <param name="Shape">Interval counts or a request log.</param>
/// <param name="Rows">Rows in the file.</param>
/// <param name="Interval">The interval of interval counts; null for a request log.</param>
public sealed record TraceFileInfo(TraceShape Shape, long Rows, Duration? Interval)
{
    /// <summary>Whether the file has token columns.</summary>
    public bool HasTokens { get; init; }

    /// <summary>Whether the file has an input_tokens column.</summary>
    public bool HasInputTokens { get; init; }

    /// <summary>Whether the file has an output_tokens column.</summary>
    public bool HasOutputTokens { get; init; }

    /// <summary>Whether the file has prefix columns (<c>prefix_group</c> and <c>prefix_tokens</c>, or <c>hash_ids</c>).</summary>
    public bool HasPrefixes { get; init; }

    /// <summary>Input tokens in the whole trace, once read; null without the column.</summary>
    public long? InputTokens { get; init; }

    /// <summary>Output tokens in the whole trace, once read; null without the column.</summary>
    public long? OutputTokens { get; init; }
}

/// <summary>Summary statistics of a trace: span, volume, mean and peak rates.</summary>
/// <remarks>Immutable; safe to share between threads.</remarks>
public sealed record TraceSummary(
    TraceFileInfo File,
    Instant Start,
    Instant End,
    long Requests,
    double MeanRps,
    double PeakRps,
    double PeakRpsPerMinute)
{
    /// <summary>
    /// With prefix columns, the share of prompt tokens (0 to 1) a perfect prefix cache could reuse: tokens an earlier
    /// request's prefix already held (hash_ids of 512 tokens each); null without prefix columns.
    /// </summary>
    public double? ReusablePromptShare { get; init; }

    /// <summary>Summarizes a trace binned to one-second ticks.</summary>
    public static TraceSummary Of(TickTrace secondly, TraceFileInfo info)
    {
        if (secondly.Tick != Duration.FromSeconds(1))
        {
            throw new ArgumentException("the trace must be binned to 1 s ticks", nameof(secondly));
        }

        long peak = 0, minute = 0, peakMinute = 0;
        var arrivals = secondly.Arrivals;
        for (var t = 0; t < arrivals.Length; t++)
        {
            peak = Math.Max(peak, arrivals[t]);
            minute += arrivals[t];
            if (t % 60 == 59 || t == arrivals.Length - 1)
            {
                peakMinute = Math.Max(peakMinute, minute);
                minute = 0;
            }
        }

        var seconds = Math.Max(1, secondly.Length);
        return new TraceSummary(info, secondly.Start, secondly.End, secondly.TotalRequests,
            (double)secondly.TotalRequests / seconds, peak, peakMinute / 60.0);
    }
}

/// <summary>
/// The busiest second and the busiest minute of a trace from its rows as spans of 1-second ticks, given in time order
/// (spans never overlap, as rows of a trace do not): O(1) per span, whatever ticks it covers.
/// </summary>
/// <remarks>Not thread-safe.</remarks>
internal sealed class PeakRates
{
    private long _minute = -1;
    private long _minuteSum;

    /// <summary>The most requests in one second.</summary>
    public long Second { get; private set; }

    /// <summary>The most requests in one minute (minutes from the trace's first second).</summary>
    public long Minute => Math.Max(MinuteClosed, _minuteSum);

    private long MinuteClosed { get; set; }

    /// <summary>Adds <paramref name="value"/> requests spread over seconds <paramref name="first"/> to <paramref name="last"/> (the remainder to the earliest).</summary>
    public void Add(long first, long last, long value)
    {
        if (value == 0)
        {
            return;
        }

        var ticks = last - first + 1;
        var each = value / ticks;
        var remainder = value % ticks;
        Second = Math.Max(Second, each + (remainder > 0 ? 1 : 0));

        // The value's part in seconds first..upTo (inclusive).
        long Part(long upTo) => (upTo - first + 1) * each + Math.Min(remainder, upTo - first + 1);

        var m0 = first / 60;
        var m1 = last / 60;
        if (m0 == m1)
        {
            AddToMinute(m0, value);
            return;
        }

        var head = Part(m0 * 60 + 59);
        AddToMinute(m0, head);
        if (m1 - m0 > 1)
        {
            // Whole minutes in between, which no other span touches: the first holds the most of the remainder.
            var whole = Part((m0 + 1) * 60 + 59) - head;
            MinuteClosed = Math.Max(MinuteClosed, whole);
        }

        AddToMinute(m1, value - Part(m1 * 60 - 1));
    }

    private void AddToMinute(long minute, long value)
    {
        if (minute != _minute)
        {
            MinuteClosed = Math.Max(MinuteClosed, _minuteSum);
            _minute = minute;
            _minuteSum = 0;
        }

        _minuteSum += value;
    }
}
