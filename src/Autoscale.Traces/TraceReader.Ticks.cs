using System.Globalization;
using System.Runtime.CompilerServices;
using NodaTime;
using Parquet;
using Parquet.Schema;

namespace Autoscale.Traces;

/// <summary>Reading a trace: request logs binned into ticks, and evenly spaced counts read as they are.</summary>
public sealed partial class TraceReader
{
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
        var arrivals = IO.FreshBuffers.Longs(checked((int)Length));
        var input = tokens && _inputTokens is not null ? IO.FreshBuffers.Longs(checked((int)Length)) : null;
        var output = tokens && _outputTokens is not null ? IO.FreshBuffers.Longs(checked((int)Length)) : null;
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
        var jobs = new ColumnJobs(this, columns, firstRows, cancellationToken);
        var workers = Math.Clamp(Environment.ProcessorCount, 1, jobs.Count);
        var running = new Task[workers];
        for (var w = 0; w < workers; w++)
        {
            var own = w > 0;
            running[w] = Task.Run(() => jobs.WorkAsync(own), cancellationToken);
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
                jobs.Errors[(g * columns.Count) + c]?.Throw();
                if (c > 0)
                {
                    columns[c].Total(columns[c].Into.AsSpan(from, rows));
                }
            }

            columns[0].Total(arrivals.AsSpan(from, rows));
        }
    }

    /// <summary>The column reads of <see cref="ReadEvenlySpacedAsync"/>, one job per row group and column, taken in order by its workers.</summary>
    private sealed class ColumnJobs(TraceReader trace, List<(DataField Field, long[] Into, TotalSpan Total)> columns, long[] firstRows, CancellationToken cancellationToken)
    {
        private int _next = -1;
        private int _failed;

        /// <summary>Jobs: row groups times columns.</summary>
        public int Count { get; } = (firstRows.Length - 1) * columns.Count;

        /// <summary>Each job's failure, by job; null for one that ran well or did not run.</summary>
        public System.Runtime.ExceptionServices.ExceptionDispatchInfo?[] Errors { get; } = new System.Runtime.ExceptionServices.ExceptionDispatchInfo?[(firstRows.Length - 1) * columns.Count];

        /// <summary>Takes jobs in order until none is left or one failed: the first worker through the trace's reader, the others each on a handle of its own.</summary>
        public async Task WorkAsync(bool own)
        {
            // The first worker reads through this reader; the others each open the file again (one that cannot leaves the
            // jobs to the rest).
            ParquetReader? file = null;
            if (own)
            {
                try
                {
                    file = await ParquetReader.CreateAsync(trace._path, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    return;
                }
            }

            try
            {
                int j;
                while (Volatile.Read(ref _failed) == 0 && (j = Interlocked.Increment(ref _next)) < Count)
                {
                    var (g, c) = (j / columns.Count, j % columns.Count);
                    var (field, into, _) = columns[c];
                    try
                    {
                        using var group = (file ?? trace._reader).OpenRowGroupReader(g);
                        var from = (int)firstRows[g];
                        await trace.Guard(ParquetColumns.ReadCountsAsync(group, field, trace._name, from, into.AsMemory(from, (int)(firstRows[g + 1] - from)), cancellationToken)).ConfigureAwait(false);
                    }
                    catch (Exception e)
                    {
                        Errors[j] = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
                        Volatile.Write(ref _failed, 1);
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
}
