using System.Globalization;
using System.Runtime.CompilerServices;
using NodaTime;
using Parquet;
using Parquet.Schema;

namespace Autoscale.Traces;

/// <summary>Reading a trace: order, column and span checks, from row-group statistics where they suffice.</summary>
public sealed partial class TraceReader
{
    private TraceFormatException OutOfOrder(long stamp, long previous, long row)
    {
        var what = stamp == previous ? "duplicate timestamp" : "timestamps must increase";
        return new TraceFormatException(_name, $"{what} ({ParquetTrace.FormatNanos(stamp)} after {ParquetTrace.FormatNanos(previous)})", ParquetTrace.TimestampColumn, row);
    }

    /// <summary>
    /// Evenly spaced counts are read without decoding their timestamps, so each row group must start and end where the
    /// metadata says: checked from its statistics, or from its timestamps where it has none. Shuffled or gapped
    /// row groups are an error, never replayed in file order.
    /// </summary>
    private static async Task CheckEvenRowGroupsAsync(ParquetReader reader, DataField timestamp, string name, long start, long interval, CancellationToken cancellationToken)
    {
        long row = 0;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            if (group.RowCount == 0)
            {
                continue;
            }

            var expectFirst = start + row * interval;
            var expectLast = start + (row + group.RowCount - 1) * interval;
            var statistics = group.GetStatistics(timestamp);
            var min = ParquetColumns.StatisticNanos(reader, statistics?.MinValue, timestamp);
            var max = ParquetColumns.StatisticNanos(reader, statistics?.MaxValue, timestamp);
            if (min is null || max is null)
            {
                var stamps = await ParquetColumns.ReadTimestampsAsync(group, timestamp, name, row, cancellationToken).ConfigureAwait(false);
                (min, max) = (stamps.Min(), stamps.Max());
            }

            if (min != expectFirst || max != expectLast)
            {
                throw new TraceFormatException(name, $"the metadata says the rows are evenly spaced by {interval} ns, but row group {g + 1} spans {ParquetTrace.FormatNanos(min.Value)} to {ParquetTrace.FormatNanos(max.Value)}, not {ParquetTrace.FormatNanos(expectFirst)} to {ParquetTrace.FormatNanos(expectLast)}", ParquetTrace.TimestampColumn, row + 1);
            }

            row += group.RowCount;
        }
    }

    private static DataField? IntegerColumn(DataField[] fields, string column, string name)
    {
        var field = fields.FirstOrDefault(f => f.Name == column);
        if (field is not null && !ParquetColumns.IsInteger(field))
        {
            throw new TraceFormatException(name, $"must be an integer count, not {ParquetColumns.TypeName(field.ClrType)}", column);
        }

        return field;
    }

    /// <summary>First and last timestamps and the interval of interval counts; checks the order on the way.</summary>
    private static async Task<(long Start, long Last, long Interval, bool FromStatistics)> IntervalSpanAsync(ParquetReader reader, DataField timestamp, string name, Duration tick, CancellationToken cancellationToken)
    {
        long? recorded = null;
        if (reader.CustomMetadata is { } metadata && metadata.TryGetValue(ParquetTrace.IntervalMetadataKey, out var text))
        {
            recorded = long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
                ? value
                : throw new TraceFormatException(name, $"metadata '{ParquetTrace.IntervalMetadataKey}' must be a positive integer, not '{text}'");
        }

        if (recorded is not null && StatisticsSpan(reader, timestamp) is { } span)
        {
            // The streaming pass checks that the first and last rows agree with these statistics.
            return (span.Start, span.Last, recorded.Value, true);
        }

        long start = 0, last = 0, step = long.MaxValue, row = 0;
        var first = true;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            // With a recorded interval only the first and last row groups are needed now; the order is checked while streaming.
            if (recorded is not null && g > 0 && g < reader.RowGroupCount - 1)
            {
                using var skipped = reader.OpenRowGroupReader(g);
                row += skipped.RowCount;
                continue;
            }

            using var group = reader.OpenRowGroupReader(g);
            var stamps = await ParquetColumns.ReadTimestampsAsync(group, timestamp, name, row, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < stamps.Length; i++)
            {
                if (first)
                {
                    start = stamps[i];
                    first = false;
                }
                else if (recorded is null)
                {
                    if (stamps[i] <= last)
                    {
                        var what = stamps[i] == last ? "duplicate timestamp" : "timestamps must increase";
                        throw new TraceFormatException(name, $"{what} ({ParquetTrace.FormatNanos(stamps[i])} after {ParquetTrace.FormatNanos(last)})", ParquetTrace.TimestampColumn, row + i + 1);
                    }

                    step = Math.Min(step, stamps[i] - last);
                }

                last = stamps[i];
            }

            row += stamps.Length;
        }

        return (start, last, recorded ?? (step == long.MaxValue ? tick.ToInt64Nanoseconds() : step), false);
    }

    private static (long Start, long Last)? StatisticsSpan(ParquetReader reader, DataField timestamp)
    {
        using var firstGroup = reader.OpenRowGroupReader(0);
        using var lastGroup = reader.OpenRowGroupReader(reader.RowGroupCount - 1);
        var min = ParquetColumns.StatisticNanos(reader, firstGroup.GetStatistics(timestamp)?.MinValue, timestamp);
        var max = ParquetColumns.StatisticNanos(reader, lastGroup.GetStatistics(timestamp)?.MaxValue, timestamp);
        return min is { } a && max is { } b && b >= a ? (a, b) : null;
    }

    /// <summary>
    /// Earliest and latest request of a log, from every row group's statistics when they all have them, else by reading; and
    /// whether the row groups follow each other in time (so sorting each one puts the whole log in order).
    /// </summary>
    private static async Task<(long Min, long Max, bool FromStatistics, bool Ordered)> LogSpanAsync(ParquetReader reader, DataField timestamp, string name, CancellationToken cancellationToken)
    {
        long min = long.MaxValue, max = long.MinValue, row = 0;
        var ordered = true;
        var fromStatistics = true;
        for (var g = 0; g < reader.RowGroupCount && fromStatistics; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var statistics = group.GetStatistics(timestamp);
            if (ParquetColumns.StatisticNanos(reader, statistics?.MinValue, timestamp) is { } low && ParquetColumns.StatisticNanos(reader, statistics?.MaxValue, timestamp) is { } high && high >= low)
            {
                // Binning checks every timestamp against this span and that the span is met exactly.
                ordered &= low >= max;
                min = Math.Min(min, low);
                max = Math.Max(max, high);
            }
            else
            {
                fromStatistics = group.RowCount == 0;
            }
        }

        if (fromStatistics && min <= max)
        {
            return (min, max, true, ordered);
        }

        min = long.MaxValue;
        max = long.MinValue;
        ordered = true;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var stamps = await ParquetColumns.ReadTimestampsAsync(group, timestamp, name, row, cancellationToken).ConfigureAwait(false);
            if (stamps.Length > 0)
            {
                var (low, high) = (stamps.Min(), stamps.Max());
                ordered &= low >= max;
                min = Math.Min(min, low);
                max = Math.Max(max, high);
            }

            row += stamps.Length;
        }

        return (min, max, false, ordered);
    }
}
