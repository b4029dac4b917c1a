using System.Globalization;
using NodaTime;
using NodaTime.Text;

namespace Autoscale.Backtesting.Traces;

/// <summary>Interval counts read from a text file: timestamps (ns since the Unix epoch) and counts.</summary>
/// <param name="TimestampsNanos">Strictly increasing interval starts.</param>
/// <param name="Counts">Requests per interval.</param>
/// <param name="IntervalNanos">The step between rows (the smallest gap).</param>
public sealed record IntervalCounts(long[] TimestampsNanos, long[] Counts, long IntervalNanos);

/// <summary>
/// Imports interval counts from CSV with a header naming a timestamp column and a requests column
/// (default <c>timestamp,requests</c>). Timestamps are ISO-8601 text (<c>2026-01-05T00:00:00Z</c>),
/// <c>YYYY-MM-DD HH:MM:SS[.fffffff]</c> (UTC), or Unix epoch seconds.
/// </summary>
public static class CsvTraceImporter
{
    private static readonly InstantPattern[] TextPatterns =
    [
        InstantPattern.ExtendedIso,
        InstantPattern.CreateWithInvariantCulture("uuuu-MM-dd HH:mm:ss.FFFFFFFFF"),
        InstantPattern.CreateWithInvariantCulture("uuuu-MM-dd'T'HH:mm:ss.FFFFFFFFF"),
        InstantPattern.CreateWithInvariantCulture("uuuu-MM-dd HH:mm:ss.FFFFFFFFF'Z'"),
    ];

    private static readonly OffsetDateTimePattern OffsetPattern = OffsetDateTimePattern.ExtendedIso;

    /// <summary>Reads <paramref name="path"/>; <paramref name="displayName"/> names it in messages.</summary>
    /// <exception cref="TraceFormatException">A missing column, a bad row, or timestamps out of order.</exception>
    public static IntervalCounts Read(string path, string? displayName = null, string timestampField = "timestamp", string requestsField = "requests")
    {
        var name = displayName ?? path;
        if (!File.Exists(path))
        {
            throw new TraceFormatException(name, "no such file");
        }

        using var reader = new StreamReader(path);
        var header = reader.ReadLine();
        if (header is null || header.Trim().Length == 0)
        {
            throw new TraceFormatException(name, "the file is empty (expected a header such as timestamp,requests)");
        }

        var columns = header.Trim().TrimStart('\uFEFF').Split(',').Select(c => c.Trim().Trim('"')).ToArray();
        var ts = Array.FindIndex(columns, c => c.Equals(timestampField, StringComparison.OrdinalIgnoreCase));
        var rq = Array.FindIndex(columns, c => c.Equals(requestsField, StringComparison.OrdinalIgnoreCase));
        if (ts < 0 || rq < 0)
        {
            var missing = ts < 0 ? timestampField : requestsField;
            throw new TraceFormatException(name, $"missing column '{missing}' in the header (found: {string.Join(", ", columns)})");
        }

        var stamps = new List<long>();
        var counts = new List<long>();
        long row = 0, lineNumber = 1;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (line.Trim().Length == 0)
            {
                continue;
            }

            row++;
            var fields = line.Split(',');
            if (fields.Length != columns.Length)
            {
                throw new TraceFormatException(name, $"expected {columns.Length} fields, found {fields.Length} (line {lineNumber})", row: row);
            }

            var stamp = ParseTimestamp(fields[ts].Trim().Trim('"'))
                ?? throw new TraceFormatException(name, $"\"{fields[ts].Trim()}\" is not a timestamp (ISO-8601, 'YYYY-MM-DD HH:MM:SS' or epoch seconds) (line {lineNumber})", columns[ts], row);
            var text = fields[rq].Trim().Trim('"');
            if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var count))
            {
                throw new TraceFormatException(name, $"\"{text}\" is not a whole number (line {lineNumber})", columns[rq], row);
            }

            if (count < 0)
            {
                throw new TraceFormatException(name, $"negative count ({count}) (line {lineNumber})", columns[rq], row);
            }

            if (stamps.Count > 0 && stamp <= stamps[^1])
            {
                var what = stamp == stamps[^1] ? "duplicate timestamp" : "timestamps must increase";
                throw new TraceFormatException(name, $"{what} ({fields[ts].Trim()} after the previous row) (line {lineNumber})", columns[ts], row);
            }

            stamps.Add(stamp);
            counts.Add(count);
        }

        if (stamps.Count == 0)
        {
            throw new TraceFormatException(name, "the file has a header but no rows");
        }

        var stampArray = stamps.ToArray();
        return new IntervalCounts(stampArray, counts.ToArray(), TraceBinning.SmallestStep(stampArray, 1_000_000_000L));
    }

    /// <summary>Parses ISO-8601 (with Z or an offset), <c>YYYY-MM-DD HH:MM:SS.fffffff</c> (UTC), or epoch seconds; null when none fits.</summary>
    public static long? ParseTimestamp(string text)
    {
        if (text.Length == 0)
        {
            return null;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && !text.Contains('-', StringComparison.Ordinal))
        {
            return double.IsFinite(seconds) && Math.Abs(seconds) < 1e11 ? (long)Math.Round(seconds * 1e9) : null;
        }

        foreach (var pattern in TextPatterns)
        {
            var result = pattern.Parse(text);
            if (result.Success)
            {
                return (result.Value - Instant.FromUnixTimeTicks(0)).ToInt64Nanoseconds();
            }
        }

        var offset = OffsetPattern.Parse(text);
        return offset.Success ? (offset.Value.ToInstant() - Instant.FromUnixTimeTicks(0)).ToInt64Nanoseconds() : null;
    }
}
