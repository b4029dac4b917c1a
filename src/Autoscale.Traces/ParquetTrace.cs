using NodaTime;

namespace Autoscale.Traces;

/// <summary>
/// Traces as Parquet (the file format in docs/architecture.md, "Trace files"): interval counts (<c>timestamp</c>, <c>requests</c>) or
/// request logs (one row per request, <c>timestamp</c>), told apart by their columns, with optional
/// token columns. Timestamps are a real UTC timestamp type, never INT96.
/// </summary>
public static class ParquetTrace
{
    /// <summary>Column of the instant a row refers to.</summary>
    public const string TimestampColumn = "timestamp";

    /// <summary>Column of the request count of an interval.</summary>
    public const string RequestsColumn = "requests";

    /// <summary>Column of input (prompt) tokens: per request, or summed per interval.</summary>
    public const string InputTokensColumn = "input_tokens";

    /// <summary>Column of output (generated) tokens: per request, or summed per interval.</summary>
    public const string OutputTokensColumn = "output_tokens";

    /// <summary>Column of a request's prefix group (a string): requests of a group share their first <c>prefix_tokens</c> prompt tokens.</summary>
    public const string PrefixGroupColumn = "prefix_group";

    /// <summary>Column of how many leading prompt tokens a request shares with the rest of its prefix group.</summary>
    public const string PrefixTokensColumn = "prefix_tokens";

    /// <summary>Column of a request's prompt block hashes (a list of 64-bit integers, one per <c>hashBlockTokens</c> tokens, as Mooncake's traces carry them).</summary>
    public const string HashIdsColumn = "hash_ids";

    /// <summary>Key of the file metadata that records the interval of interval counts, in nanoseconds.</summary>
    public const string IntervalMetadataKey = "autoscale.interval_ns";

    /// <summary>
    /// Key of the file metadata that says the interval counts are evenly spaced (row i at the first
    /// timestamp plus i intervals), so a reader may skip decoding the timestamp column.
    /// </summary>
    public const string EvenlySpacedMetadataKey = "autoscale.evenly_spaced";

    /// <summary>Rows per row group when writing.</summary>
    public const int DefaultRowGroupSize = 1 << 16;

    /// <summary>Writes evenly spaced interval counts starting at <paramref name="start"/>, one row per <paramref name="interval"/>.</summary>
    public static Task WriteIntervalCountsAsync(string path, Instant start, Duration interval, ReadOnlyMemory<long> counts, int rowGroupSize = DefaultRowGroupSize, CancellationToken cancellationToken = default)
    {
        var stamps = new long[counts.Length];
        var startNanos = (start - Instant.FromUnixTimeTicks(0)).ToInt64Nanoseconds();
        var step = interval.ToInt64Nanoseconds();
        for (var i = 0; i < stamps.Length; i++)
        {
            stamps[i] = startNanos + step * i;
        }

        return WriteIntervalCountsAsync(path, stamps, counts, step, rowGroupSize: rowGroupSize, cancellationToken: cancellationToken);
    }

    /// <summary>
    /// Writes interval counts: row <c>i</c> holds the requests that arrived in
    /// <c>[timestampsNanos[i], timestampsNanos[i] + intervalNanos)</c> (nanoseconds since the Unix epoch,
    /// strictly increasing; gaps are empty intervals), with optional token sums per interval.
    /// The file appears only when it is complete.
    /// </summary>
    public static async Task WriteIntervalCountsAsync(string path, ReadOnlyMemory<long> timestampsNanos, ReadOnlyMemory<long> counts, long intervalNanos,
        ReadOnlyMemory<long>? inputTokens = null, ReadOnlyMemory<long>? outputTokens = null, int rowGroupSize = DefaultRowGroupSize, CancellationToken cancellationToken = default)
    {
        if (timestampsNanos.Length != counts.Length)
        {
            throw new ArgumentException("timestamps and counts must have the same length", nameof(counts));
        }

        var stamps = timestampsNanos.Span;
        var even = true;
        for (var i = 1; i < stamps.Length && even; i++)
        {
            even = stamps[i] - stamps[i - 1] == intervalNanos;
        }

        var writer = await ParquetTraceWriter.CreateAsync(path, TraceShape.IntervalCounts, intervalNanos, inputTokens is not null, outputTokens is not null, even, cancellationToken).ConfigureAwait(false);

        await using var writerScope = writer.ConfigureAwait(false);
        for (var offset = 0; offset < counts.Length; offset += rowGroupSize)
        {
            var n = Math.Min(rowGroupSize, counts.Length - offset);
            await writer.WriteRowGroupAsync(timestampsNanos.Slice(offset, n), counts.Slice(offset, n),
                Slice(inputTokens, offset, n), Slice(outputTokens, offset, n), cancellationToken).ConfigureAwait(false);
        }

        await writer.CommitAsync().ConfigureAwait(false);
    }

    /// <summary>Writes a request log (one row per request), with optional token counts per request.</summary>
    public static Task WriteRequestLogAsync(string path, ReadOnlyMemory<long> timestampsNanos, ReadOnlyMemory<long>? inputTokens = null, ReadOnlyMemory<long>? outputTokens = null,
        int rowGroupSize = DefaultRowGroupSize, CancellationToken cancellationToken = default) =>
        WriteRequestLogWithPrefixesAsync(path, timestampsNanos, inputTokens, outputTokens, null, rowGroupSize, cancellationToken);

    /// <summary>
    /// Writes a request log with what each request shares for prefix caching (<c>prefix_group</c> and
    /// <c>prefix_tokens</c>, or <c>hash_ids</c>, one entry per request in row order).
    /// </summary>
    public static async Task WriteRequestLogWithPrefixesAsync(string path, ReadOnlyMemory<long> timestampsNanos, ReadOnlyMemory<long>? inputTokens, ReadOnlyMemory<long>? outputTokens,
        RequestPrefixes? prefixes, int rowGroupSize = DefaultRowGroupSize, CancellationToken cancellationToken = default)
    {
        var kind = prefixes is null ? PrefixKind.None : prefixes.HashIds is not null ? PrefixKind.HashIds : PrefixKind.Groups;
        if (prefixes is not null && prefixes.Count != timestampsNanos.Length)
        {
            throw new ArgumentException($"{prefixes.Count} prefixes for {timestampsNanos.Length} requests", nameof(prefixes));
        }

        var writer = await ParquetTraceWriter.CreateAsync(path, TraceShape.RequestLog, withInputTokens: inputTokens is not null, withOutputTokens: outputTokens is not null, cancellationToken: cancellationToken, prefixes: kind).ConfigureAwait(false);
        await using var writerScope = writer.ConfigureAwait(false);
        for (var offset = 0; offset < timestampsNanos.Length; offset += rowGroupSize)
        {
            var n = Math.Min(rowGroupSize, timestampsNanos.Length - offset);
            await writer.WriteRowGroupAsync(timestampsNanos.Slice(offset, n), default, Slice(inputTokens, offset, n), Slice(outputTokens, offset, n), cancellationToken, prefixes?.Slice(offset, offset + n)).ConfigureAwait(false);
        }

        await writer.CommitAsync().ConfigureAwait(false);
    }

    /// <summary>Reads a whole trace file and bins it to <paramref name="tick"/>.</summary>
    /// <exception cref="TraceFormatException">The file is missing, not Parquet, or its data breaks a rule.</exception>
    public static async Task<TickTrace> ReadAsync(string path, Duration tick, string? displayName = null, CancellationToken cancellationToken = default) =>
        (await ReadWithInfoAsync(path, tick, displayName, cancellationToken).ConfigureAwait(false)).Trace;

    /// <summary>Reads a whole trace file with the tokens of each tick (where it has token columns), binned to <paramref name="tick"/>.</summary>
    /// <exception cref="TraceFormatException">The file is missing, not Parquet, or its data breaks a rule.</exception>
    public static async Task<TickTrace> ReadWithTokensAsync(string path, Duration tick, string? displayName = null, CancellationToken cancellationToken = default)
    {
        var reader = await TraceReader.OpenAsync(path, tick, displayName, cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        return await reader.ReadAllAsync(cancellationToken, tokens: true).ConfigureAwait(false);
    }

    /// <summary>Reads a whole trace file, bins it to <paramref name="tick"/>, and says what the file holds.</summary>
    /// <exception cref="TraceFormatException">The file is missing, not Parquet, or its data breaks a rule.</exception>
    public static async Task<(TickTrace Trace, TraceFileInfo Info)> ReadWithInfoAsync(string path, Duration tick, string? displayName = null, CancellationToken cancellationToken = default)
    {
        var reader = await TraceReader.OpenAsync(path, tick, displayName, cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        var trace = await reader.ReadAllAsync(cancellationToken).ConfigureAwait(false);
        return (trace, reader.Info with { InputTokens = reader.InputTokens, OutputTokens = reader.OutputTokens });
    }

    internal static string FormatNanos(long nanos) =>
        (Instant.FromUnixTimeTicks(0) + Duration.FromNanoseconds(nanos)).ToString("uuuu-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static ReadOnlyMemory<long> Slice(ReadOnlyMemory<long>? values, int offset, int n) =>
        values is { } v ? v.Slice(offset, n) : default;
}
