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
public sealed class TraceReader : IAsyncDisposable
{
    private readonly ParquetReader _reader;
    private readonly string _path;
    private readonly string _name;
    private readonly DataField _timestamp;
    private readonly DataField? _requests;
    private readonly DataField? _inputTokens;
    private readonly DataField? _outputTokens;
    private readonly long _tickNanos;
    private readonly long _startNanos;
    private readonly long _firstNanos;
    private readonly long _lastNanos;
    private readonly long _intervalNanos;
    private readonly bool _evenlySpaced;

    /// <summary>A request log's row groups follow each other in time (each one's earliest at or after the previous one's latest).</summary>
    private bool _logGroupsOrdered = true;

    private TraceReader(ParquetReader reader, string path, string name, DataField timestamp, DataField? requests, DataField? inputTokens, DataField? outputTokens,
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

        var requests = IntegerColumn(fields, ParquetTrace.RequestsColumn, name);
        var input = IntegerColumn(fields, ParquetTrace.InputTokensColumn, name);
        var output = IntegerColumn(fields, ParquetTrace.OutputTokensColumn, name);

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

            return new TraceReader(reader, path, name, timestamp, requests, input, output, tick, rows, start, first, last, interval, even)
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

    /// <summary>The arrivals of each tick, in order, in chunks (about one row group each).</summary>
    /// <exception cref="TraceFormatException">A row breaks a rule (null, negative, out of order).</exception>
    public async IAsyncEnumerable<long[]> ReadTicksAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var chunk in ReadChunksAsync(tokens: false, cancellationToken).ConfigureAwait(false))
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
    public async IAsyncEnumerable<TickChunk> ReadChunksAsync(bool tokens, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ResetTotals();
        var withInput = tokens && _inputTokens is not null;
        var withOutput = tokens && _outputTokens is not null;
        if (_requests is not null && _evenlySpaced && _intervalNanos == _tickNanos)
        {
            // One row per tick from the first: the counts are the arrivals (the span was checked when opened).
            long first = 0;
            for (var g = 0; g < _reader.RowGroupCount; g++)
            {
                long[] counts;
                long[]? input, output;
                using (var group = _reader.OpenRowGroupReader(g))
                {
                    counts = await Guard(ParquetColumns.ReadCountsAsync(group, _requests, _name, first, cancellationToken)).ConfigureAwait(false);
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
            yield return new RequestBatch(offsets, batch.Input, batch.Output);
        }
    }

    /// <summary>Rows as read: a row group (a request log's sorted by time), or a slice of a request log sorted whole.</summary>
    private sealed record RowBatch(long[] Stamps, long[]? Counts, long[]? Input, long[]? Output);

    /// <summary>A request log whose row groups overlap in time is sorted whole in memory up to this many rows.</summary>
    public const long MaxUnorderedLogRows = 1L << 25;

    /// <summary>
    /// The rows in batches: interval counts row group by row group; a request log in time order, each row group sorted on
    /// its own when the groups follow each other in time, else the whole log sorted in memory (at most
    /// <see cref="MaxUnorderedLogRows"/> rows).
    /// </summary>
    private async IAsyncEnumerable<RowBatch> ReadBatchesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_requests is null && !_logGroupsOrdered)
        {
            if (Info.Rows > MaxUnorderedLogRows)
            {
                throw new TraceFormatException(_name, $"a request log whose row groups overlap in time is sorted in memory, up to {MaxUnorderedLogRows:N0} rows; this one has {Info.Rows:N0}: sort it by time first (DuckDB: COPY (SELECT * FROM 'in.parquet' ORDER BY timestamp) TO 'out.parquet')", ParquetTrace.TimestampColumn);
            }

            var all = new List<RowBatch>();
            long read = 0;
            for (var g = 0; g < _reader.RowGroupCount; g++)
            {
                all.Add(await ReadGroupAsync(g, read, cancellationToken).ConfigureAwait(false));
                read += all[^1].Stamps.Length;
            }

            var whole = SortedByTime(new RowBatch(
                [.. all.SelectMany(b => b.Stamps)],
                null,
                _inputTokens is null ? null : [.. all.SelectMany(b => b.Input!)],
                _outputTokens is null ? null : [.. all.SelectMany(b => b.Output!)]));
            all.Clear();
            const int Slice = 1 << 20;
            for (var from = 0; from < whole.Stamps.Length; from += Slice)
            {
                var to = Math.Min(whole.Stamps.Length, from + Slice);
                yield return new RowBatch(whole.Stamps[from..to], null, whole.Input?[from..to], whole.Output?[from..to]);
            }

            yield break;
        }

        long row = 0;
        for (var g = 0; g < _reader.RowGroupCount; g++)
        {
            var batch = await ReadGroupAsync(g, row, cancellationToken).ConfigureAwait(false);
            row += batch.Stamps.Length;
            yield return _requests is null ? SortedByTime(batch) : batch;
        }
    }

    private async Task<RowBatch> ReadGroupAsync(int g, long row, CancellationToken cancellationToken)
    {
        using var group = _reader.OpenRowGroupReader(g);
        long[]? counts = null;
        if (_requests is not null)
        {
            counts = await Guard(ParquetColumns.ReadCountsAsync(group, _requests, _name, row, cancellationToken)).ConfigureAwait(false);
        }

        // Evenly spaced rows (checked against the statistics when opened) need no timestamp decoding.
        var stamps = _evenlySpaced && counts is not null ? EvenStamps(row, counts.Length) : await Guard(ParquetColumns.ReadTimestampsAsync(group, _timestamp, _name, row, cancellationToken)).ConfigureAwait(false);
        var (input, output) = await TokensAsync(group, row, cancellationToken).ConfigureAwait(false);
        return new RowBatch(stamps, counts, input, output);
    }

    /// <summary>A request log's rows sorted by time, each row's tokens moving with it (stable, so equal instants keep their order).</summary>
    private static RowBatch SortedByTime(RowBatch batch)
    {
        var stamps = batch.Stamps;
        var sorted = true;
        for (var i = 1; i < stamps.Length && sorted; i++)
        {
            sorted = stamps[i] >= stamps[i - 1];
        }

        if (sorted)
        {
            return batch;
        }

        var order = new int[stamps.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        // Ties broken by position keep the sort stable.
        Array.Sort(order, (a, b) => stamps[a] != stamps[b] ? stamps[a].CompareTo(stamps[b]) : a.CompareTo(b));
        long[]? Permute(long[]? values) => values is null ? null : order.Select(i => values[i]).ToArray();
        return new RowBatch(Permute(stamps)!, null, Permute(batch.Input), Permute(batch.Output));
    }

    /// <summary>One row group's rows as spans of ticks, in time order, checked.</summary>
    /// <param name="First">The first tick each row covers.</param>
    /// <param name="Last">The last tick each row covers.</param>
    /// <param name="Requests">Each row's requests (1 per row of a request log).</param>
    /// <param name="Input">Each row's input tokens, when the file has them.</param>
    /// <param name="Output">Each row's output tokens, when the file has them.</param>
    /// <param name="Complete">No later row touches a tick before this one.</param>
    private sealed record RowSpans(long[] First, long[] Last, long[] Requests, long[]? Input, long[]? Output, long Complete)
    {
        public int Count => First.Length;
    }

    /// <summary>
    /// The rows of interval counts or of a request log in time order as spans of ticks, row group by row group, with
    /// every rule checked on the way (order, the statistics' span, counts within what a replay counts).
    /// </summary>
    private async IAsyncEnumerable<RowSpans> ReadSpansAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long row = 0;
        var previous = long.MinValue;
        long min = long.MaxValue, max = long.MinValue;
        await foreach (var batch in ReadBatchesAsync(cancellationToken).ConfigureAwait(false))
        {
            var (stamps, counts, input, output) = (batch.Stamps, batch.Counts, batch.Input, batch.Output);
            if (counts is not null && row == 0 && stamps.Length > 0 && stamps[0] != _startNanos)
            {
                throw new TraceFormatException(_name, $"the first timestamp ({ParquetTrace.FormatNanos(stamps[0])}) disagrees with the file's statistics ({ParquetTrace.FormatNanos(_startNanos)})", ParquetTrace.TimestampColumn, 1);
            }

            var firsts = new long[stamps.Length];
            var lasts = new long[stamps.Length];
            var requests = counts ?? new long[stamps.Length];
            for (var i = 0; i < stamps.Length; i++)
            {
                var ts = stamps[i];
                if (counts is not null)
                {
                    // Interval counts: strictly increasing, each row covering [t, t + interval).
                    if (ts <= previous)
                    {
                        throw OutOfOrder(ts, previous, row + i + 1);
                    }

                    var from = ts - _startNanos;
                    firsts[i] = from / _tickNanos;
                    lasts[i] = Math.Max(firsts[i], IntervalBinner.CeilDiv(from + _intervalNanos, _tickNanos) - 1);
                }
                else
                {
                    // A request log: one request per row, in time order (sorted as read; requests may share an instant).

                    if (ts < _firstNanos || ts > _lastNanos)
                    {
                        throw new TraceFormatException(_name, $"the timestamp {ParquetTrace.FormatNanos(ts)} is outside the span in the file's statistics ({ParquetTrace.FormatNanos(_firstNanos)} to {ParquetTrace.FormatNanos(_lastNanos)})", ParquetTrace.TimestampColumn);
                    }

                    firsts[i] = lasts[i] = (ts - _startNanos) / _tickNanos;
                    requests[i] = 1;
                    min = Math.Min(min, ts);
                    max = Math.Max(max, ts);
                }

                previous = ts;
                AddRequests(requests[i]);
            }

            row += stamps.Length;
            if (stamps.Length > 0)
            {
                yield return new RowSpans(firsts, lasts, requests, input, output, (stamps[^1] - _startNanos) / _tickNanos);
            }
        }

        if (_requests is not null && previous != _lastNanos)
        {
            throw new TraceFormatException(_name, $"the last timestamp ({ParquetTrace.FormatNanos(previous)}) disagrees with the file's statistics ({ParquetTrace.FormatNanos(_lastNanos)})", ParquetTrace.TimestampColumn, row);
        }

        if (_requests is null && (min != _firstNanos || max != _lastNanos))
        {
            throw new TraceFormatException(_name, $"the timestamps span {ParquetTrace.FormatNanos(min)} to {ParquetTrace.FormatNanos(max)}, but the file's statistics say {ParquetTrace.FormatNanos(_firstNanos)} to {ParquetTrace.FormatNanos(_lastNanos)}", ParquetTrace.TimestampColumn);
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
        return new TraceSummary(info, Start, end, Requests, Requests / Math.Max(1.0, Length), peaks.Second, peaks.Minute / 60.0);
    }

    /// <summary>
    /// A request log spanning at most this many ticks (128 MB of counts) is binned whole; a longer one streams row group by
    /// row group, each sorted by time as read (or the whole log sorted, when its row groups overlap in time). Rows may be in
    /// any order either way.
    /// </summary>
    public const long DenseLogTicks = 1 << 24;

    private async IAsyncEnumerable<TickChunk> DenseLogAsync(bool withInput, bool withOutput, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var arrivals = new long[Length];
        var inputTicks = withInput ? new long[Length] : null;
        var outputTicks = withOutput ? new long[Length] : null;
        long row = 0, min = long.MaxValue, max = long.MinValue;
        for (var g = 0; g < _reader.RowGroupCount; g++)
        {
            long[] stamps;
            long[]? input, output;
            using (var group = _reader.OpenRowGroupReader(g))
            {
                stamps = await Guard(ParquetColumns.ReadTimestampsAsync(group, _timestamp, _name, row, cancellationToken)).ConfigureAwait(false);
                (input, output) = await TokensAsync(group, row, cancellationToken).ConfigureAwait(false);
            }

            for (var i = 0; i < stamps.Length; i++)
            {
                var ts = stamps[i];
                if (ts < _firstNanos || ts > _lastNanos)
                {
                    throw new TraceFormatException(_name, $"the timestamp {ParquetTrace.FormatNanos(ts)} is outside the span in the file's statistics ({ParquetTrace.FormatNanos(_firstNanos)} to {ParquetTrace.FormatNanos(_lastNanos)})", ParquetTrace.TimestampColumn, row + i + 1);
                }

                min = Math.Min(min, ts);
                max = Math.Max(max, ts);
                var tick = (ts - _startNanos) / _tickNanos;
                arrivals[tick]++;
                if (inputTicks is not null)
                {
                    inputTicks[tick] += input![i];
                }

                if (outputTicks is not null)
                {
                    outputTicks[tick] += output![i];
                }
            }

            row += stamps.Length;
            AddRequests(stamps.Length);
        }

        if (min != _firstNanos || max != _lastNanos)
        {
            throw new TraceFormatException(_name, $"the timestamps span {ParquetTrace.FormatNanos(min)} to {ParquetTrace.FormatNanos(max)}, but the file's statistics say {ParquetTrace.FormatNanos(_firstNanos)} to {ParquetTrace.FormatNanos(_lastNanos)}", ParquetTrace.TimestampColumn);
        }

        for (long offset = 0; offset < Length; offset += IntervalBinner.ChunkTicks)
        {
            var n = (int)Math.Min(IntervalBinner.ChunkTicks, Length - offset);
            yield return new TickChunk(offset, arrivals.AsSpan((int)offset, n).ToArray(),
                inputTicks?.AsSpan((int)offset, n).ToArray(), outputTicks?.AsSpan((int)offset, n).ToArray());
        }
    }

    private static TickChunk Take(IntervalBinner arrivals, IntervalBinner? input, IntervalBinner? output, long before)
    {
        var first = arrivals.Emitted;
        return new TickChunk(first, arrivals.TakeBefore(before), input?.TakeBefore(before), output?.TakeBefore(before));
    }

    private long[] EvenStamps(long firstRow, int n)
    {
        var stamps = new long[n];
        for (var i = 0; i < n; i++)
        {
            stamps[i] = _startNanos + (firstRow + i) * _intervalNanos;
        }

        return stamps;
    }

    /// <summary>Reads the whole trace into memory; with <paramref name="tokens"/>, the tokens of each tick too (where the file has them).</summary>
    public async Task<TickTrace> ReadAllAsync(CancellationToken cancellationToken = default, bool tokens = false)
    {
        var arrivals = new long[Length];
        var input = tokens && _inputTokens is not null ? new long[Length] : null;
        var output = tokens && _outputTokens is not null ? new long[Length] : null;
        if (_requests is not null && _evenlySpaced && _intervalNanos == _tickNanos)
        {
            await ReadEvenlySpacedAsync(arrivals, input, output, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await foreach (var chunk in ReadChunksAsync(tokens, cancellationToken).ConfigureAwait(false))
            {
                chunk.Arrivals.CopyTo(arrivals, chunk.FirstTick);
                chunk.InputTokens?.CopyTo(input!, chunk.FirstTick);
                chunk.OutputTokens?.CopyTo(output!, chunk.FirstTick);
            }
        }

        return new TickTrace(Start, Tick, arrivals) { InputTokens = input, OutputTokens = output };
    }

    /// <summary>
    /// Evenly spaced counts, one row per tick, read whole: each column of each row group is decoded straight into its place
    /// in <paramref name="arrivals"/>, <paramref name="input"/> and <paramref name="output"/> (null: not read), on up to one
    /// reader per core (each its own handle on the file). Errors and totals come as the row-group-by-row-group read gives
    /// them: the first in that order is thrown.
    /// </summary>
    private async Task ReadEvenlySpacedAsync(long[] arrivals, long[]? input, long[]? output, CancellationToken cancellationToken)
    {
        ResetTotals();
        // Each column's field, where it is read to, and how its values are totalled (as the one-by-one read totals them).
        var columns = new List<(DataField Field, long[] Into, TotalSpan Total)> { (_requests!, arrivals, values => AddRequests(Sum(values, ParquetTrace.RequestsColumn))) };
        if (input is not null)
        {
            columns.Add((_inputTokens!, input, AddInputTokens));
        }

        if (output is not null)
        {
            columns.Add((_outputTokens!, output, AddOutputTokens));
        }

        var groups = _reader.RowGroupCount;
        var firstRows = new long[groups + 1];
        for (var g = 0; g < groups; g++)
        {
            using var group = _reader.OpenRowGroupReader(g);
            firstRows[g + 1] = firstRows[g] + group.RowCount;
        }

        // Jobs in the one-by-one order (row group, then column), taken in that order; after a failure no new one starts, so
        // every job before a failed one has run.
        var jobs = groups * columns.Count;
        var errors = new System.Runtime.ExceptionServices.ExceptionDispatchInfo?[jobs];
        var next = -1;
        var failed = 0;
        var workers = Math.Clamp(Environment.ProcessorCount, 1, jobs);
        var running = new Task[workers];
        for (var w = 0; w < workers; w++)
        {
            var own = w > 0;
            running[w] = Task.Run(() => WorkAsync(own), cancellationToken);
        }

        await Task.WhenAll(running).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        for (var g = 0; g < groups; g++)
        {
            var from = (int)firstRows[g];
            var rows = (int)(firstRows[g + 1] - firstRows[g]);
            // The requests column is read first and totalled last, as the one-by-one read does.
            for (var c = 0; c < columns.Count; c++)
            {
                errors[(g * columns.Count) + c]?.Throw();
                if (c > 0)
                {
                    columns[c].Total(columns[c].Into.AsSpan(from, rows));
                }
            }

            columns[0].Total(arrivals.AsSpan(from, rows));
        }

        async Task WorkAsync(bool own)
        {
            // The first worker reads through this reader; the others each open the file again (one that cannot leaves the
            // jobs to the rest).
            ParquetReader? file = null;
            if (own)
            {
                try
                {
                    file = await ParquetReader.CreateAsync(_path, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    return;
                }
            }

            try
            {
                int j;
                while (Volatile.Read(ref failed) == 0 && (j = Interlocked.Increment(ref next)) < jobs)
                {
                    var (g, c) = (j / columns.Count, j % columns.Count);
                    var (field, into, _) = columns[c];
                    try
                    {
                        using var group = (file ?? _reader).OpenRowGroupReader(g);
                        var from = (int)firstRows[g];
                        await Guard(ParquetColumns.ReadCountsAsync(group, field, _name, from, into.AsMemory(from, (int)(firstRows[g + 1] - from)), cancellationToken)).ConfigureAwait(false);
                    }
                    catch (Exception e)
                    {
                        errors[j] = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
                        Volatile.Write(ref failed, 1);
                    }
                }
            }
            finally
            {
                if (file is not null)
                {
                    await file.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

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

    private long Sum(ReadOnlySpan<long> values, string column)
    {
        long sum = 0;
        foreach (var value in values)
        {
            sum = Add(sum, value, column);
        }

        return sum;
    }

    private void AddRequests(long count) => Requests = Add(Requests, count, ParquetTrace.RequestsColumn);

    /// <summary>A running total that may not pass <see cref="TraceLimits.MaxRequests"/> (a sum that wrapped would be a wrong number).</summary>
    private long Add(long total, long value, string column) =>
        value <= TraceLimits.MaxRequests - total
            ? total + value
            : throw new TraceFormatException(_name, $"the values sum past {TraceLimits.Count(TraceLimits.MaxRequests)}, more than a replay can count", column);
}
