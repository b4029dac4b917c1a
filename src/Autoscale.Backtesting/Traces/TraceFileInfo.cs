using NodaTime;

namespace Autoscale.Backtesting.Traces;

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
