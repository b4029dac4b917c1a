using Parquet;
using Parquet.Schema;

namespace Autoscale.Traces;

/// <summary>Typed reads of one trace column of one row group, with errors that name file, column and row.</summary>
internal static class ParquetColumns
{
    private static readonly long UnixEpochTicks = DateTime.UnixEpoch.Ticks;

    public static bool IsTimestamp(DataField field) => field.ClrType == typeof(DateTime) || field.ClrType == typeof(DateTimeOffset);

    public static bool IsInteger(DataField field) =>
        field.ClrType == typeof(long) || field.ClrType == typeof(int) || field.ClrType == typeof(short) || field.ClrType == typeof(sbyte)
        || field.ClrType == typeof(ulong) || field.ClrType == typeof(uint) || field.ClrType == typeof(ushort) || field.ClrType == typeof(byte);

    /// <summary>Reads timestamps as nanoseconds since the Unix epoch.</summary>
    public static async Task<long[]> ReadTimestampsAsync(ParquetRowGroupReader group, DataField field, string name, long firstRow, CancellationToken cancellationToken)
    {
        var n = checked((int)group.RowCount);
        var result = new long[n];
        if (field.ClrType == typeof(DateTimeOffset))
        {
            var offsets = await ReadValuesAsync<DateTimeOffset>(group, field, n, name, firstRow, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < n; i++)
            {
                result[i] = ToNanos(offsets[i].UtcDateTime) ?? throw OutOfRange(offsets[i].UtcDateTime, name, field, firstRow + i + 1);
            }

            return result;
        }

        var stamps = await ReadValuesAsync<DateTime>(group, field, n, name, firstRow, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < n; i++)
        {
            result[i] = ToNanos(stamps[i]) ?? throw OutOfRange(stamps[i], name, field, firstRow + i + 1);
        }

        return result;
    }

    /// <summary>Reads a non-negative integer column (requests, token counts) as longs.</summary>
    public static async Task<long[]> ReadCountsAsync(ParquetRowGroupReader group, DataField field, string name, long firstRow, CancellationToken cancellationToken)
    {
        var result = IO.FreshBuffers.Longs(checked((int)group.RowCount));
        await ReadCountsAsync(group, field, name, firstRow, result, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Reads a non-negative integer column (requests, token counts) as longs into <paramref name="into"/>, which holds
    /// exactly the row group's rows (a 64-bit column is decoded straight into it).
    /// </summary>
    public static async Task ReadCountsAsync(ParquetRowGroupReader group, DataField field, string name, long firstRow, Memory<long> into, CancellationToken cancellationToken)
    {
        var n = checked((int)group.RowCount);
        if (into.Length != n)
        {
            throw new ArgumentException($"the row group has {n} rows, not {into.Length}", nameof(into));
        }

        if (field.ClrType == typeof(long))
        {
            await ReadValuesAsync(group, field, into, name, firstRow, cancellationToken).ConfigureAwait(false);
        }
        else if (field.ClrType == typeof(int))
        {
            Widen(await ReadValuesAsync<int>(group, field, n, name, firstRow, cancellationToken).ConfigureAwait(false), into.Span);
        }
        else if (field.ClrType == typeof(short))
        {
            Widen(await ReadValuesAsync<short>(group, field, n, name, firstRow, cancellationToken).ConfigureAwait(false), into.Span);
        }
        else if (field.ClrType == typeof(ulong))
        {
            var values = await ReadValuesAsync<ulong>(group, field, n, name, firstRow, cancellationToken).ConfigureAwait(false);
            var result = into.Span;
            for (var i = 0; i < n; i++)
            {
                // Above long.MaxValue no replay could count it: said, never wrapped to a negative count.
                result[i] = values[i] <= long.MaxValue ? (long)values[i] : throw new TraceFormatException(name, $"count {values[i]} is more than a replay can count", field.Name, firstRow + i + 1);
            }
        }
        else if (field.ClrType == typeof(uint))
        {
            Widen(await ReadValuesAsync<uint>(group, field, n, name, firstRow, cancellationToken).ConfigureAwait(false), into.Span);
        }
        else if (field.ClrType == typeof(ushort))
        {
            Widen(await ReadValuesAsync<ushort>(group, field, n, name, firstRow, cancellationToken).ConfigureAwait(false), into.Span);
        }
        else if (field.ClrType == typeof(byte))
        {
            Widen(await ReadValuesAsync<byte>(group, field, n, name, firstRow, cancellationToken).ConfigureAwait(false), into.Span);
        }
        else
        {
            Widen(await ReadValuesAsync<sbyte>(group, field, n, name, firstRow, cancellationToken).ConfigureAwait(false), into.Span);
        }

        var counts = into.Span;
        var negative = counts.IndexOfAnyInRange(long.MinValue, -1L);
        if (negative >= 0)
        {
            throw new TraceFormatException(name, $"negative count ({counts[negative]})", field.Name, firstRow + negative + 1);
        }
    }

    public static string TypeName(Type type) =>
        type == typeof(string) || type == typeof(ReadOnlyMemory<char>) ? "text"
        : type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>) ? "binary"
        : type == typeof(double) || type == typeof(float) || type == typeof(decimal) ? $"a floating-point number ({type.Name})"
        : type.Name;

    /// <summary>A timestamp as nanoseconds since the Unix epoch, or null outside the years a trace may span (never wrapped).</summary>
    public static long? ToNanos(DateTime value)
    {
        var ticks = value.Ticks - UnixEpochTicks;
        return ticks >= TraceLimits.EarliestNanos / 100 && ticks < TraceLimits.EndNanos / 100 ? ticks * 100 : null;
    }

    private static TraceFormatException OutOfRange(DateTime value, string name, DataField field, long row) =>
        new(name, $"the timestamp {value.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture)} is out of range: {TraceLimits.TimestampRule}", field.Name, row);

    public static DateTime ToDateTime(long nanos) => new(UnixEpochTicks + nanos / 100, DateTimeKind.Utc);

    /// <summary>
    /// A timestamp statistic (a row group's min or max) as nanoseconds since the Unix epoch, or null when
    /// it cannot be trusted. Parquet.Net 6.1 hands INT64 timestamp statistics over raw, in the column's
    /// unit, but its writer stores milliseconds whatever the unit (parquet-dotnet issue 769), so finer
    /// units are trusted only from other writers.
    /// </summary>
    public static long? StatisticNanos(ParquetReader file, object? value, DataField field) => value switch
    {
        DateTime d => ToNanos(d),
        DateTimeOffset o => ToNanos(o.UtcDateTime),
        long raw when UnitNanos(field) is { } unit && (unit == NanosPerMilli || !WrittenByParquetNet(file.Metadata?.CreatedBy))
            && raw < TraceLimits.EndNanos / unit && raw >= TraceLimits.EarliestNanos / unit => raw * unit,
        _ => null,
    };

    /// <summary>Nanoseconds in a millisecond, the unit trace timestamps are written in.</summary>
    public const long NanosPerMilli = 1_000_000;

    private static bool WrittenByParquetNet(string? createdBy) => createdBy is null || createdBy.StartsWith("Parquet.Net", StringComparison.OrdinalIgnoreCase);

    /// <summary>Nanoseconds per unit of an INT64 timestamp column; null for other encodings (INT96, dates).</summary>
    private static long? UnitNanos(DataField field) => field is DateTimeDataField d
        ? d.DateTimeFormat switch
        {
            DateTimeFormat.Timestamp => d.Unit switch
            {
                DateTimeTimeUnit.Millis => NanosPerMilli,
                DateTimeTimeUnit.Micros => 1_000,
                DateTimeTimeUnit.Nanos => 1,
                _ => null,
            },
            DateTimeFormat.DateAndTime => NanosPerMilli,
            DateTimeFormat.DateAndTimeMicros => 1_000,
            _ => null,
        }
        : null;

    private static void Widen<T>(T[] values, Span<long> into)
        where T : struct, System.Numerics.IBinaryInteger<T>
    {
        for (var i = 0; i < values.Length; i++)
        {
            into[i] = long.CreateTruncating(values[i]);
        }
    }

    /// <summary>
    /// Reads one column. Required columns use the non-nullable read: Parquet.Net 6.1's nullable read was
    /// seen returning false nulls on large row groups. A null in a nullable column names its row.
    /// </summary>
    private static async Task<T[]> ReadValuesAsync<T>(ParquetRowGroupReader group, DataField field, int n, string name, long firstRow, CancellationToken cancellationToken)
        where T : struct
    {
        var values = new T[n];
        await ReadValuesAsync<T>(group, field, values, name, firstRow, cancellationToken).ConfigureAwait(false);
        return values;
    }

    /// <summary>Reads one column into <paramref name="values"/> (the row group's rows), as <see cref="ReadValuesAsync{T}(ParquetRowGroupReader, DataField, int, string, long, CancellationToken)"/> does.</summary>
    private static async Task ReadValuesAsync<T>(ParquetRowGroupReader group, DataField field, Memory<T> values, string name, long firstRow, CancellationToken cancellationToken)
        where T : struct
    {
        if (!field.IsNullable)
        {
            await group.ReadAsync<T>(field, values, cancellationToken: cancellationToken).ConfigureAwait(false);
            return;
        }

        var nullable = new T?[values.Length];
        await group.ReadAsync<T>(field, nullable.AsMemory(), cancellationToken: cancellationToken).ConfigureAwait(false);
        var into = values.Span;
        for (var i = 0; i < nullable.Length; i++)
        {
            into[i] = nullable[i] ?? throw new TraceFormatException(name, "null value", field.Name, firstRow + i + 1);
        }
    }
}
