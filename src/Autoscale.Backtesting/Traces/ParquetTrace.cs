using NodaTime;
using Parquet;
using Parquet.Schema;

namespace Autoscale.Backtesting.Traces;

/// <summary>
/// Reads and writes traces as Parquet (DESIGN.md, "Traces"): interval counts (<c>timestamp</c>,
/// <c>requests</c>) or request logs (one row per request, <c>timestamp</c>), told apart by their
/// columns. Timestamps are a real UTC timestamp type, never INT96.
/// </summary>
public static class ParquetTrace
{
    /// <summary>Column of the instant a row refers to.</summary>
    public const string TimestampColumn = "timestamp";

    /// <summary>Column of the request count of an interval.</summary>
    public const string RequestsColumn = "requests";

    /// <summary>Key of the file metadata that records the interval of interval counts, in nanoseconds.</summary>
    public const string IntervalMetadataKey = "autoscale.interval_ns";

    /// <summary>Rows per row group when writing.</summary>
    public const int DefaultRowGroupSize = 1 << 20;

    private static readonly long UnixEpochTicks = DateTime.UnixEpoch.Ticks;

    /// <summary>
    /// Writes evenly spaced interval counts starting at <paramref name="start"/>, one row per <paramref name="interval"/>.
    /// The file appears only when it is complete (written beside it, then moved).
    /// </summary>
    public static Task WriteIntervalCountsAsync(string path, Instant start, Duration interval, ReadOnlyMemory<long> counts, int rowGroupSize = DefaultRowGroupSize, CancellationToken cancellationToken = default)
    {
        var stamps = new long[counts.Length];
        var startNanos = (start - Instant.FromUnixTimeTicks(0)).ToInt64Nanoseconds();
        var step = interval.ToInt64Nanoseconds();
        for (var i = 0; i < stamps.Length; i++)
        {
            stamps[i] = startNanos + step * i;
        }

        return WriteIntervalCountsAsync(path, stamps, counts, step, rowGroupSize, cancellationToken);
    }

    /// <summary>
    /// Writes interval counts: row <c>i</c> holds the requests that arrived in
    /// <c>[timestampsNanos[i], timestampsNanos[i] + intervalNanos)</c> (nanoseconds since the Unix epoch,
    /// strictly increasing; gaps are empty intervals). The interval is recorded in the file's metadata.
    /// The file appears only when it is complete.
    /// </summary>
    public static async Task WriteIntervalCountsAsync(string path, ReadOnlyMemory<long> timestampsNanos, ReadOnlyMemory<long> counts, long intervalNanos, int rowGroupSize = DefaultRowGroupSize, CancellationToken cancellationToken = default)
    {
        if (timestampsNanos.Length != counts.Length)
        {
            throw new ArgumentException("timestamps and counts must have the same length", nameof(counts));
        }

        var timestampField = new DateTimeDataField(TimestampColumn, DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Millis);
        var requestsField = new DataField<long>(RequestsColumn);
        var schema = new ParquetSchema(timestampField, requestsField);
        await AtomicFile.WriteAsync(path, async stream =>
        {
            await using var writer = await ParquetWriter.CreateAsync(schema, stream, cancellationToken: cancellationToken);
            writer.CustomMetadata = new Dictionary<string, string> { [IntervalMetadataKey] = intervalNanos.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            for (var offset = 0; offset < counts.Length; offset += rowGroupSize)
            {
                var n = Math.Min(rowGroupSize, counts.Length - offset);
                var stamps = new DateTime[n];
                var source = timestampsNanos.Span.Slice(offset, n);
                for (var i = 0; i < n; i++)
                {
                    stamps[i] = new DateTime(UnixEpochTicks + source[i] / 100, DateTimeKind.Utc);
                }

                using var group = writer.CreateRowGroup();
                await group.WriteAsync<DateTime>(timestampField, stamps, cancellationToken: cancellationToken);
                await group.WriteAsync<long>(requestsField, counts.Slice(offset, n), cancellationToken: cancellationToken);
            }
        }, cancellationToken);
    }

    /// <summary>Reads a trace file and bins it to <paramref name="tick"/>.</summary>
    /// <param name="path">The Parquet file.</param>
    /// <param name="tick">The replay tick.</param>
    /// <param name="displayName">How to name the file in messages (defaults to <paramref name="path"/>).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="TraceFormatException">The file is missing, not Parquet, or its data breaks a rule.</exception>
    public static async Task<TickTrace> ReadAsync(string path, Duration tick, string? displayName = null, CancellationToken cancellationToken = default) =>
        (await ReadWithInfoAsync(path, tick, displayName, cancellationToken)).Trace;

    /// <summary>Reads a trace file, bins it to <paramref name="tick"/>, and says what the file holds.</summary>
    /// <exception cref="TraceFormatException">The file is missing, not Parquet, or its data breaks a rule.</exception>
    public static async Task<(TickTrace Trace, TraceFileInfo Info)> ReadWithInfoAsync(string path, Duration tick, string? displayName = null, CancellationToken cancellationToken = default)
    {
        var name = displayName ?? path;
        if (!File.Exists(path))
        {
            throw new TraceFormatException(name, "no such file");
        }

        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(path, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new TraceFormatException(name, $"not a Parquet file ({e.Message.TrimEnd('.')})", inner: e);
        }

        await using (reader)
        {
            var fields = reader.Schema.GetDataFields();
            var timestamp = fields.FirstOrDefault(f => f.Name == TimestampColumn)
                ?? throw new TraceFormatException(name, $"missing column '{TimestampColumn}' (columns: {string.Join(", ", fields.Select(f => f.Name))})");
            if (timestamp.ClrType != typeof(DateTime) && timestamp.ClrType != typeof(DateTimeOffset))
            {
                throw new TraceFormatException(name, $"must be a timestamp type, not {TypeName(timestamp.ClrType)}", TimestampColumn);
            }

            var requests = fields.FirstOrDefault(f => f.Name == RequestsColumn);
            if (requests is not null && !IsInteger(requests.ClrType))
            {
                throw new TraceFormatException(name, $"must be an integer count, not {TypeName(requests.ClrType)}", RequestsColumn);
            }

            try
            {
                var (stamps, counts) = await ReadColumnsAsync(reader, timestamp, requests, name, cancellationToken);
                if (stamps.Length == 0)
                {
                    throw new TraceFormatException(name, "the trace has no rows");
                }

                if (counts is null)
                {
                    return (TraceBinning.FromRequestTimestamps(stamps, tick), new TraceFileInfo(TraceShape.RequestLog, stamps.Length, null));
                }

                var interval = IntervalOf(reader, stamps, tick, name);
                return (TraceBinning.FromIntervalCounts(stamps, counts, interval, tick), new TraceFileInfo(TraceShape.IntervalCounts, stamps.Length, Duration.FromNanoseconds(interval)));
            }
            catch (TraceFormatException)
            {
                throw;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new TraceFormatException(name, $"cannot be read ({e.Message.TrimEnd('.')})", inner: e);
            }
        }
    }

    private static async Task<(long[] Stamps, long[]? Counts)> ReadColumnsAsync(ParquetReader reader, DataField timestamp, DataField? requests, string name, CancellationToken cancellationToken)
    {
        long total = 0;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            total += group.RowCount;
        }

        var stamps = new long[total];
        var counts = requests is null ? null : new long[total];
        long row = 0;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var n = (int)group.RowCount;
            await ReadTimestampsAsync(group, timestamp, stamps.AsMemory((int)row, n), name, row, cancellationToken);
            if (requests is not null)
            {
                await ReadCountsAsync(group, requests, counts.AsMemory((int)row, n), name, row, cancellationToken);
            }

            row += n;
        }

        if (counts is not null)
        {
            for (var i = 1; i < stamps.Length; i++)
            {
                if (stamps[i] <= stamps[i - 1])
                {
                    var what = stamps[i] == stamps[i - 1] ? "duplicate timestamp" : "timestamps must increase";
                    throw new TraceFormatException(name, $"{what} ({FormatNanos(stamps[i])} after {FormatNanos(stamps[i - 1])})", TimestampColumn, i + 1);
                }
            }
        }

        return (stamps, counts);
    }

    private static async Task ReadTimestampsAsync(ParquetRowGroupReader group, DataField field, Memory<long> target, string name, long firstRow, CancellationToken cancellationToken)
    {
        if (field.ClrType == typeof(DateTimeOffset))
        {
            var offsets = await ReadValuesAsync<DateTimeOffset>(group, field, target.Length, name, firstRow, cancellationToken);
            for (var i = 0; i < offsets.Length; i++)
            {
                target.Span[i] = ToNanos(offsets[i].UtcDateTime);
            }

            return;
        }

        var stamps = await ReadValuesAsync<DateTime>(group, field, target.Length, name, firstRow, cancellationToken);
        for (var i = 0; i < stamps.Length; i++)
        {
            target.Span[i] = ToNanos(stamps[i]);
        }
    }

    private static async Task ReadCountsAsync(ParquetRowGroupReader group, DataField field, Memory<long> target, string name, long firstRow, CancellationToken cancellationToken)
    {
        var n = target.Length;
        if (field.ClrType == typeof(long))
        {
            (await ReadValuesAsync<long>(group, field, n, name, firstRow, cancellationToken)).CopyTo(target.Span);
        }
        else if (field.ClrType == typeof(int))
        {
            Widen(await ReadValuesAsync<int>(group, field, n, name, firstRow, cancellationToken), target.Span);
        }
        else if (field.ClrType == typeof(short))
        {
            Widen(await ReadValuesAsync<short>(group, field, n, name, firstRow, cancellationToken), target.Span);
        }
        else
        {
            Widen(await ReadValuesAsync<sbyte>(group, field, n, name, firstRow, cancellationToken), target.Span);
        }

        var span = target.Span;
        for (var i = 0; i < n; i++)
        {
            if (span[i] < 0)
            {
                throw new TraceFormatException(name, $"negative count ({span[i]})", field.Name, firstRow + i + 1);
            }
        }
    }

    private static void Widen<T>(T[] values, Span<long> target)
        where T : struct, System.Numerics.IBinaryInteger<T>
    {
        for (var i = 0; i < values.Length; i++)
        {
            target[i] = long.CreateTruncating(values[i]);
        }
    }

    /// <summary>Reads one column of a row group; a null in a nullable column is an error naming its row.</summary>
    private static async Task<T[]> ReadValuesAsync<T>(ParquetRowGroupReader group, DataField field, int n, string name, long firstRow, CancellationToken cancellationToken)
        where T : struct
    {
        var values = new T[n];
        if (!field.IsNullable)
        {
            await group.ReadAsync<T>(field, values.AsMemory(), cancellationToken: cancellationToken);
            return values;
        }

        var nullable = new T?[n];
        await group.ReadAsync<T>(field, nullable.AsMemory(), cancellationToken: cancellationToken);
        for (var i = 0; i < n; i++)
        {
            values[i] = nullable[i] ?? throw Null(name, field, firstRow + i);
        }

        return values;
    }

    private static TraceFormatException Null(string name, DataField field, long rowIndex) =>
        new(name, "null value", field.Name, rowIndex + 1);

    private static long IntervalOf(ParquetReader reader, long[] stamps, Duration tick, string name)
    {
        if (reader.CustomMetadata is { } metadata && metadata.TryGetValue(IntervalMetadataKey, out var text))
        {
            if (long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var recorded) && recorded > 0)
            {
                return recorded;
            }

            throw new TraceFormatException(name, $"metadata '{IntervalMetadataKey}' must be a positive integer, not '{text}'");
        }

        return TraceBinning.SmallestStep(stamps, tick.ToInt64Nanoseconds());
    }

    private static string TypeName(Type type) =>
        type == typeof(string) || type == typeof(ReadOnlyMemory<char>) ? "text"
        : type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>) ? "binary"
        : type == typeof(double) || type == typeof(float) || type == typeof(decimal) ? $"a floating-point number ({type.Name})"
        : type.Name;

    private static bool IsInteger(Type type) =>
        type == typeof(long) || type == typeof(int) || type == typeof(short) || type == typeof(sbyte);

    private static long ToNanos(DateTime value) => (value.Ticks - UnixEpochTicks) * 100;

    internal static string FormatNanos(long nanos) =>
        (Instant.FromUnixTimeTicks(0) + Duration.FromNanoseconds(nanos)).ToString("uuuu-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
