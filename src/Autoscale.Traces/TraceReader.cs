using System.Globalization;
using System.Runtime.CompilerServices;
using NodaTime;
using Parquet;
using Parquet.Schema;

namespace Autoscale.Traces;

/// <summary>
/// An open Parquet trace, read row group by row group into per-tick arrivals: memory holds one row
/// group and the rows whose ticks are not handed out yet, whatever the span. Interval counts and request
/// logs (in time order) both stream.
/// </summary>
/// <remarks>Enumerate <see cref="ReadTicksAsync"/> once. Not thread-safe.</remarks>
public sealed partial class TraceReader : IAsyncDisposable
{
    private readonly ParquetReader _reader;
    private readonly string _path;
    private readonly string _name;
    private readonly DataField _timestamp;
    private readonly DataField? _requests;
    private readonly DataField? _inputTokens;
    private readonly DataField? _outputTokens;
    private readonly PrefixColumns? _prefixes;
    private readonly long _tickNanos;
    private readonly long _startNanos;
    private readonly long _firstNanos;
    private readonly long _lastNanos;
    private readonly long _intervalNanos;
    private readonly bool _evenlySpaced;

    /// <summary>A request log's row groups follow each other in time (each one's earliest at or after the previous one's latest).</summary>
    private bool _logGroupsOrdered = true;

    private TraceReader(ParquetReader reader, string path, string name, DataField timestamp, DataField? requests, DataField? inputTokens, DataField? outputTokens, PrefixColumns? prefixes,
        Duration tick, long rows, long startNanos, long firstNanos, long lastNanos, long intervalNanos, bool evenlySpaced)
    {
        _firstNanos = firstNanos;
        _evenlySpaced = evenlySpaced;
        _reader = reader;
        _path = path;
        _name = name;
        _timestamp = timestamp;
        _requests = requests;
        _inputTokens = inputTokens;
        _outputTokens = outputTokens;
        _prefixes = prefixes;
        _tickNanos = tick.ToInt64Nanoseconds();
        _startNanos = startNanos;
        _lastNanos = lastNanos;
        _intervalNanos = intervalNanos;
        Tick = tick;
        var shape = requests is null ? TraceShape.RequestLog : TraceShape.IntervalCounts;
        Info = new TraceFileInfo(shape, rows, shape == TraceShape.IntervalCounts ? Duration.FromNanoseconds(intervalNanos) : null)
        {
            HasTokens = inputTokens is not null || outputTokens is not null,
            HasInputTokens = inputTokens is not null,
            HasOutputTokens = outputTokens is not null,
            HasPrefixes = prefixes is not null,
        };
        Length = shape == TraceShape.IntervalCounts
            ? IntervalBinner.CeilDiv(lastNanos + intervalNanos - startNanos, _tickNanos)
            : (lastNanos - startNanos) / _tickNanos + 1;
    }

    /// <summary>The instant tick 0 begins.</summary>
    public Instant Start => Instant.FromUnixTimeTicks(0) + Duration.FromNanoseconds(_startNanos);

    /// <summary>The replay tick.</summary>
    public Duration Tick { get; }

    /// <summary>Ticks in the trace.</summary>
    public long Length { get; }

    /// <summary>Shape, rows and interval of the file.</summary>
    public TraceFileInfo Info { get; }

    /// <summary>Requests handed out so far (all of them once the ticks are read).</summary>
    public long Requests { get; private set; }

    /// <summary>Input tokens summed so far; null when the file has no such column.</summary>
    public long? InputTokens { get; private set; }

    /// <summary>Output tokens summed so far; null when the file has no such column.</summary>
    public long? OutputTokens { get; private set; }

    /// <summary>Whether the span came from the row groups' statistics (checked while reading) rather than a pass over the timestamps.</summary>
    internal bool SpanFromStatistics { get; private init; }

    /// <summary>Opens <paramref name="path"/>, checks its columns, and finds the span of the trace.</summary>
    /// <exception cref="TraceFormatException">The file is missing, not Parquet, or breaks a rule.</exception>
    public static Task<TraceReader> OpenAsync(string path, Duration tick, string? displayName = null, CancellationToken cancellationToken = default) =>
        OpenAsync(path, tick, limitTicks: true, displayName, cancellationToken);

    /// <summary>
    /// Opens a trace for <see cref="SummarizeAsync"/> alone: 1-second ticks, without the limit on the ticks a replay can
    /// run, so a trace only coarser ticks can replay (one spanning more than 68 years) can still be inspected.
    /// </summary>
    public static Task<TraceReader> OpenForSummaryAsync(string path, string? displayName = null, CancellationToken cancellationToken = default) =>
        OpenAsync(path, Duration.FromSeconds(1), limitTicks: false, displayName, cancellationToken);

    private static async Task<TraceReader> OpenAsync(string path, Duration tick, bool limitTicks, string? displayName, CancellationToken cancellationToken)
    {
        var name = displayName ?? path;
        if (!File.Exists(path))
        {
            throw new TraceFormatException(name, Directory.Exists(path) ? "is a folder, not a Parquet file" : "no such file");
        }

        try
        {
            using (File.OpenRead(path))
            {
            }
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new TraceFormatException(name, $"cannot be read ({e.Message.TrimEnd('.')})", inner: e);
        }

        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new TraceFormatException(name, $"not a Parquet file ({e.Message.TrimEnd('.')})", inner: e);
        }

        try
        {
            return await OpenAsync(reader, path, name, tick, limitTicks, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await reader.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<TraceReader> OpenAsync(ParquetReader reader, string path, string name, Duration tick, bool limitTicks, CancellationToken cancellationToken)
    {
        var (fields, timestamp) = TraceColumns(reader, name);
        var requests = IntegerColumn(fields, ParquetTrace.RequestsColumn, name);
        var input = IntegerColumn(fields, ParquetTrace.InputTokensColumn, name);
        var output = IntegerColumn(fields, ParquetTrace.OutputTokensColumn, name);
        var prefixes = PrefixColumns.Find(reader.Schema, name, intervalCounts: requests is not null);

        long rows = 0;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            rows += group.RowCount;
        }

        if (rows == 0)
        {
            throw new TraceFormatException(name, "the trace has no rows");
        }

        try
        {
            long start, first, last, interval;
            var even = false;
            var ordered = true;
            bool fromStatistics;
            if (requests is not null)
            {
                (start, last, interval, fromStatistics) = await IntervalSpanAsync(reader, timestamp, name, tick, cancellationToken).ConfigureAwait(false);
                first = start;
                even = reader.CustomMetadata is { } m && m.TryGetValue(ParquetTrace.EvenlySpacedMetadataKey, out var flag) && flag == "true"
                    && m.ContainsKey(ParquetTrace.IntervalMetadataKey);
                if (even && last != start + (rows - 1) * interval)
                {
                    throw new TraceFormatException(name, $"the metadata says the rows are evenly spaced by {interval} ns, but the last timestamp ({ParquetTrace.FormatNanos(last)}) is not row {rows} of that", ParquetTrace.TimestampColumn, rows);
                }
            }
            else
            {
                (first, last, fromStatistics, ordered) = await LogSpanAsync(reader, timestamp, name, cancellationToken).ConfigureAwait(false);
                start = IntervalBinner.FloorDiv(first, tick.ToInt64Nanoseconds()) * tick.ToInt64Nanoseconds();
                interval = 0;
            }

            var tickNanos = tick.ToInt64Nanoseconds();
            var ticks = requests is not null
                ? Math.Ceiling(((decimal)last + interval - start) / tickNanos)
                : Math.Floor(((decimal)last - start) / tickNanos) + 1;
            if (limitTicks && TraceLimits.TooManyTicks(ticks, tick) is { } tooLong)
            {
                throw new TraceFormatException(name, tooLong);
            }

            if (even)
            {
                await CheckEvenRowGroupsAsync(reader, timestamp, name, start, interval, cancellationToken).ConfigureAwait(false);
            }

            return new TraceReader(reader, path, name, timestamp, requests, input, output, prefixes, tick, rows, start, first, last, interval, even)
            {
                SpanFromStatistics = fromStatistics,
                _logGroupsOrdered = ordered,
            };
        }
        catch (Exception e) when (e is not (TraceFormatException or OperationCanceledException))
        {
            throw new TraceFormatException(name, $"cannot be read ({e.Message.TrimEnd('.')})", inner: e);
        }
    }

    /// <summary>The file's top-level columns and its timestamp column, checked: trace columns of plain values, a timestamp of a timestamp type.</summary>
    private static (DataField[] Fields, DataField Timestamp) TraceColumns(ParquetReader reader, string name)
    {
        // A column of structs, lists or maps with a trace column's name is not that column (nor absent).
        foreach (var field in reader.Schema.Fields)
        {
            if (field is not DataField && field.Name is ParquetTrace.TimestampColumn or ParquetTrace.RequestsColumn or ParquetTrace.InputTokensColumn or ParquetTrace.OutputTokensColumn)
            {
                throw new TraceFormatException(name, $"must be a column of plain values, not a {field.SchemaType.ToString().ToLowerInvariant()}", field.Name);
            }
        }

        var fields = reader.Schema.GetDataFields().Where(f => f.Path.Length == 1).ToArray();
        var timestamp = fields.FirstOrDefault(f => f.Name == ParquetTrace.TimestampColumn)
            ?? throw new TraceFormatException(name, $"missing column '{ParquetTrace.TimestampColumn}' (columns: {string.Join(", ", fields.Select(f => f.Name))})");
        if (!ParquetColumns.IsTimestamp(timestamp))
        {
            throw new TraceFormatException(name, $"must be a timestamp type, not {ParquetColumns.TypeName(timestamp.ClrType)}", ParquetTrace.TimestampColumn);
        }

        return (fields, timestamp);
    }

    /// <summary>The arrivals of each tick, in order, in chunks (about one row group each).</summary>
    /// <exception cref="TraceFormatException">A row breaks a rule (null, negative, out of order).</exception>
    public async IAsyncEnumerable<long[]> ReadTicksAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var chunk in ReadChunksCoreAsync(tokens: false, recycle: false, cancellationToken).ConfigureAwait(false))
        {
            yield return chunk.Arrivals;
        }
    }

    /// <summary>
    /// As <see cref="ReadTicksAsync"/>, with the arrays recycled: each one holds its chunk only until
    /// <c>MoveNextAsync</c> has been called twice more, when the chunk after next may be read into it. That fits a reader
    /// that decodes one chunk ahead while it replays the last (as a backtest does), and spares the memory and the page
    /// faults of a fresh array for every row group.
    /// </summary>
    /// <exception cref="TraceFormatException">A row breaks a rule (null, negative, out of order).</exception>
    public async IAsyncEnumerable<long[]> ReadTicksRecycledAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var chunk in ReadChunksCoreAsync(tokens: false, recycle: true, cancellationToken).ConfigureAwait(false))
        {
            yield return chunk.Arrivals;
        }
    }

    /// <summary>
    /// The arrivals of each tick in chunks, with, when <paramref name="tokens"/> is set and the file has them, the input and
    /// output tokens of the requests of each tick (interval totals spread over their ticks as the requests are).
    /// Memory holds one row group and the rows not yet handed out, whatever the span.
    /// </summary>
    /// <exception cref="TraceFormatException">A row breaks a rule (null, negative, out of order).</exception>
    public IAsyncEnumerable<TickChunk> ReadChunksAsync(bool tokens, CancellationToken cancellationToken = default) =>
        ReadChunksCoreAsync(tokens, recycle: false, cancellationToken);

    /// <summary>The chunks of <see cref="ReadChunksAsync(bool, CancellationToken)"/>; with <paramref name="recycle"/>, a row group's counts are read into the array handed out two chunks earlier when its length fits.</summary>
    private async IAsyncEnumerable<TickChunk> ReadChunksCoreAsync(bool tokens, bool recycle, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ResetTotals();
        var withInput = tokens && _inputTokens is not null;
        var withOutput = tokens && _outputTokens is not null;
        if (_requests is not null && _evenlySpaced && _intervalNanos == _tickNanos)
        {
            // One row per tick from the first: the counts are the arrivals (the span was checked when opened).
            long first = 0;
            var handedOut = recycle ? new long[2][] : null;
            for (var g = 0; g < _reader.RowGroupCount; g++)
            {
                long[] counts;
                long[]? input, output;
                using (var group = _reader.OpenRowGroupReader(g))
                {
                    if (handedOut?[g % 2] is { } reused && reused.LongLength == group.RowCount)
                    {
                        // Every value is decoded over the old ones.
                        counts = reused;
                        await Guard(ParquetColumns.ReadCountsAsync(group, _requests, _name, first, counts, cancellationToken)).ConfigureAwait(false);
                    }
                    else
                    {
                        counts = await Guard(ParquetColumns.ReadCountsAsync(group, _requests, _name, first, cancellationToken)).ConfigureAwait(false);
                    }

                    handedOut?[g % 2] = counts;
                    (input, output) = await TokensAsync(group, first, cancellationToken).ConfigureAwait(false);
                }

                AddRequests(Sum(counts, ParquetTrace.RequestsColumn));
                if (counts.Length > 0)
                {
                    yield return new TickChunk(first, counts, withInput ? input : null, withOutput ? output : null);
                }

                first += counts.Length;
            }

            yield break;
        }

        if (_requests is null && Length <= DenseLogTicks)
        {
            await foreach (var chunk in DenseLogAsync(withInput, withOutput, cancellationToken).ConfigureAwait(false))
            {
                yield return chunk;
            }

            yield break;
        }

        var arrivals = new IntervalBinner(Length);
        var inputBins = withInput ? new IntervalBinner(Length) : null;
        var outputBins = withOutput ? new IntervalBinner(Length) : null;
        await foreach (var spans in ReadSpansAsync(cancellationToken).ConfigureAwait(false))
        {
            for (var i = 0; i < spans.Count; i++)
            {
                // Ticks before this row's first are complete: hand them out before the rows ahead pile up.
                var first = spans.First[i];
                while (first - arrivals.Emitted > IntervalBinner.ChunkTicks)
                {
                    yield return Take(arrivals, inputBins, outputBins, first);
                }

                arrivals.Add(first, spans.Last[i], spans.Requests[i]);
                inputBins?.Add(first, spans.Last[i], spans.Input![i]);
                outputBins?.Add(first, spans.Last[i], spans.Output![i]);
            }

            while (arrivals.Emitted < spans.Complete)
            {
                yield return Take(arrivals, inputBins, outputBins, spans.Complete);
            }
        }

        while (!arrivals.Done)
        {
            yield return Take(arrivals, inputBins, outputBins, Length);
        }
    }

    /// <summary>
    /// A request log's requests in time order, batch by batch: each one's arrival in nanoseconds after <see cref="Start"/>
    /// and, where the file has them, its input and output tokens. Interval counts have no requests of their own (use
    /// <see cref="ReadChunksAsync"/>).
    /// </summary>
    /// <exception cref="TraceFormatException">A row breaks a rule (null, negative, out of order).</exception>
    public async IAsyncEnumerable<RequestBatch> ReadRequestsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (_requests is not null)
        {
            throw new InvalidOperationException("interval counts have no per-request rows; read them with ReadChunksAsync");
        }

        ResetTotals();
        long previous = long.MinValue;
        long row = 0;
        await foreach (var batch in ReadBatchesAsync(cancellationToken).ConfigureAwait(false))
        {
            var offsets = new long[batch.Stamps.Length];
            for (var i = 0; i < offsets.Length; i++)
            {
                var stamp = batch.Stamps[i];
                if (stamp < previous)
                {
                    throw OutOfOrder(stamp, previous, row + i);
                }

                previous = stamp;
                offsets[i] = stamp - _startNanos;
            }

            row += offsets.Length;
            AddRequests(offsets.Length);
            yield return new RequestBatch(offsets, batch.Input, batch.Output) { Prefixes = batch.Prefixes };
        }
    }

    /// <summary>
    /// Requests, tokens and the peak rates over one second and over one minute, from the rows as spans, never tick by tick:
    /// a sparse trace costs its rows, whatever its span. The reader must be opened with 1-second ticks.
    /// </summary>
    public async Task<TraceSummary> SummarizeAsync(CancellationToken cancellationToken = default)
    {
        if (_tickNanos != 1_000_000_000L)
        {
            throw new InvalidOperationException("a summary needs a reader of 1-second ticks");
        }

        ResetTotals();
        var peaks = new PeakRates();
        if (_requests is not null && !(_evenlySpaced && _intervalNanos == _tickNanos) || _requests is null && Length > DenseLogTicks)
        {
            await foreach (var spans in ReadSpansAsync(cancellationToken).ConfigureAwait(false))
            {
                for (var i = 0; i < spans.Count; i++)
                {
                    peaks.Add(spans.First[i], spans.Last[i], spans.Requests[i]);
                }
            }
        }
        else
        {
            // Counts at the second, or a log short enough to bin whole: each tick is a row, or the rows are fewer than 16M ticks.
            await foreach (var chunk in ReadChunksAsync(tokens: false, cancellationToken).ConfigureAwait(false))
            {
                for (var i = 0; i < chunk.Arrivals.Length; i++)
                {
                    peaks.Add(chunk.FirstTick + i, chunk.FirstTick + i, chunk.Arrivals[i]);
                }
            }
        }

        var info = Info with { InputTokens = InputTokens, OutputTokens = OutputTokens };
        var end = Start + Tick * Length;
        var summary = new TraceSummary(info, Start, end, Requests, Requests / Math.Max(1.0, Length), peaks.Second, peaks.Minute / 60.0);
        if (_prefixes is null)
        {
            return summary;
        }

        // A second pass over the requests in time order for what a perfect prefix cache would reuse.
        var reuse = new PrefixReuse();
        await foreach (var batch in ReadRequestsAsync(cancellationToken).ConfigureAwait(false))
        {
            reuse.Add(batch.Prefixes!, batch.InputTokens);
        }

        return summary with { ReusablePromptShare = reuse.Share };
    }

    /// <summary>
    /// A request log spanning at most this many ticks (128 MB of counts) is binned whole; a longer one streams row group by
    /// row group, each sorted by time as read (or the whole log sorted, when its row groups overlap in time). Rows may be in
    /// any order either way.
    /// </summary>
    public const long DenseLogTicks = 1 << 24;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _reader.DisposeAsync();

    /// <summary>Starts the totals a pass over the rows adds up.</summary>
    private void ResetTotals()
    {
        Requests = 0;
        InputTokens = _inputTokens is null ? null : 0;
        OutputTokens = _outputTokens is null ? null : 0;
    }

    /// <summary>Reads the token columns of a row group (null where the file has none) and adds them to the totals.</summary>
    private async Task<(long[]? Input, long[]? Output)> TokensAsync(ParquetRowGroupReader group, long firstRow, CancellationToken cancellationToken)
    {
        long[]? input = null, output = null;
        if (_inputTokens is not null)
        {
            input = await Guard(ParquetColumns.ReadCountsAsync(group, _inputTokens, _name, firstRow, cancellationToken)).ConfigureAwait(false);
            AddInputTokens(input);
        }

        if (_outputTokens is not null)
        {
            output = await Guard(ParquetColumns.ReadCountsAsync(group, _outputTokens, _name, firstRow, cancellationToken)).ConfigureAwait(false);
            AddOutputTokens(output);
        }

        return (input, output);
    }

    private void AddInputTokens(ReadOnlySpan<long> values) => InputTokens = Add(InputTokens!.Value, Sum(values, ParquetTrace.InputTokensColumn), ParquetTrace.InputTokensColumn);

    private void AddOutputTokens(ReadOnlySpan<long> values) => OutputTokens = Add(OutputTokens!.Value, Sum(values, ParquetTrace.OutputTokensColumn), ParquetTrace.OutputTokensColumn);

    /// <summary>Awaits a read; an error of the Parquet library's becomes one naming the file.</summary>
    private async Task Guard(Task read)
    {
        try
        {
            await read.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not (TraceFormatException or OperationCanceledException))
        {
            throw new TraceFormatException(_name, $"cannot be read ({e.Message.TrimEnd('.')})", inner: e);
        }
    }

    private async Task<T> Guard<T>(Task<T> read)
    {
        await Guard((Task)read).ConfigureAwait(false);
        return await read.ConfigureAwait(false);
    }

    /// <summary>Totals a column's values of one row group.</summary>
    private delegate void TotalSpan(ReadOnlySpan<long> values);

    private long Sum(ReadOnlySpan<long> values, string column) => Total(values) ?? throw TooMany(column);

    /// <summary>
    /// The sum of <paramref name="values"/>, or null when a running total of them passes <see cref="TraceLimits.MaxRequests"/>:
    /// what adding them one by one against the limit gives.
    /// </summary>
    /// <remarks>
    /// In blocks of 4,096: a block whose values are all below 2^49 cannot wrap a long and its values are not negative, so
    /// the running total only grows and passes the limit after the block exactly when it does within it; its sum is
    /// checked once. A block with a larger or a negative value is added value by value.
    /// </remarks>
    internal static long? Total(ReadOnlySpan<long> values)
    {
        const int Block = 4096;
        long sum = 0;
        for (var start = 0; start < values.Length; start += Block)
        {
            var block = values.Slice(start, Math.Min(Block, values.Length - start));
            var (blockSum, bits) = SumAndBits(block);
            if ((ulong)bits < 1UL << 49)
            {
                if (blockSum > TraceLimits.MaxRequests - sum)
                {
                    return null;
                }

                sum += blockSum;
                continue;
            }

            foreach (var value in block)
            {
                if (value > TraceLimits.MaxRequests - sum)
                {
                    return null;
                }

                sum += value;
            }
        }

        return sum;
    }

    /// <summary>The sum of <paramref name="values"/> (wrapping) and every value's bits or'ed together, a vector at a time.</summary>
    private static (long Sum, long Bits) SumAndBits(ReadOnlySpan<long> values)
    {
        var (sums, bits) = (System.Numerics.Vector<long>.Zero, System.Numerics.Vector<long>.Zero);
        var i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            for (; i <= values.Length - System.Numerics.Vector<long>.Count; i += System.Numerics.Vector<long>.Count)
            {
                var v = new System.Numerics.Vector<long>(values[i..]);
                sums += v;
                bits |= v;
            }
        }

        var (sum, or) = (System.Numerics.Vector.Sum(sums), 0L);
        for (var lane = 0; lane < System.Numerics.Vector<long>.Count; lane++)
        {
            or |= bits[lane];
        }

        for (; i < values.Length; i++)
        {
            sum += values[i];
            or |= values[i];
        }

        return (sum, or);
    }

    private void AddRequests(long count) => Requests = Add(Requests, count, ParquetTrace.RequestsColumn);

    /// <summary>A running total that may not pass <see cref="TraceLimits.MaxRequests"/> (a sum that wrapped would be a wrong number).</summary>
    private long Add(long total, long value, string column) => value <= TraceLimits.MaxRequests - total ? total + value : throw TooMany(column);

    private TraceFormatException TooMany(string column) =>
        new(_name, $"the values sum past {TraceLimits.Count(TraceLimits.MaxRequests)}, more than a replay can count", column);
}
