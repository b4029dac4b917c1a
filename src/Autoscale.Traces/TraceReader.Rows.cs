using System.Globalization;
using System.Runtime.CompilerServices;
using NodaTime;
using Parquet;
using Parquet.Schema;

namespace Autoscale.Traces;

/// <summary>Reading a trace: row groups as time-ordered batches of rows, and their spans.</summary>
public sealed partial class TraceReader
{
    /// <summary>Rows as read: a row group (a request log's sorted by time), or a slice of a request log sorted whole.</summary>
    private sealed record RowBatch(long[] Stamps, long[]? Counts, long[]? Input, long[]? Output, RequestPrefixes? Prefixes = null);

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
                _outputTokens is null ? null : [.. all.SelectMany(b => b.Output!)],
                _prefixes is null ? null : RequestPrefixes.Concat(all.Select(b => b.Prefixes!).ToArray())));
            all.Clear();
            const int Slice = 1 << 20;
            for (var from = 0; from < whole.Stamps.Length; from += Slice)
            {
                var to = Math.Min(whole.Stamps.Length, from + Slice);
                yield return new RowBatch(whole.Stamps[from..to], null, whole.Input?[from..to], whole.Output?[from..to], whole.Prefixes?.Slice(from, to));
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
        var prefixes = _prefixes is null ? null : await Guard(_prefixes.ReadAsync(group, _name, row, input, cancellationToken)).ConfigureAwait(false);
        return new RowBatch(stamps, counts, input, output, prefixes);
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
        return new RowBatch(Permute(stamps)!, null, Permute(batch.Input), Permute(batch.Output), batch.Prefixes?.Permute(order));
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
}
