using Autoscale.Shared;
using System.Globalization;
using Parquet;
using Parquet.Schema;

namespace Autoscale.Traces;

/// <summary>
/// Writes a trace row group by row group: interval counts (<c>timestamp</c>, <c>requests</c>) or a
/// request log (<c>timestamp</c>), with optional <c>input_tokens</c> and <c>output_tokens</c>.
/// Timestamps are a UTC timestamp logical type (never INT96) in milliseconds, floored: Parquet.Net 6.1
/// writes the statistics of finer units in milliseconds (parquet-dotnet issue 769), which makes other
/// readers (DuckDB, Arrow) skip row groups they should read. The file appears only on <see cref="CommitAsync"/>.
/// </summary>
/// <remarks>Not thread-safe.</remarks>
internal sealed class ParquetTraceWriter : IAsyncDisposable
{
    private readonly PendingFile _file;
    private readonly ParquetWriter _writer;
    private readonly DateTimeDataField _timestamp;
    private readonly DataField<long>? _requests;
    private readonly DataField<long>? _input;
    private readonly DataField<long>? _output;
    private bool _writerClosed;

    private ParquetTraceWriter(PendingFile file, ParquetWriter writer, DateTimeDataField timestamp, DataField<long>? requests, DataField<long>? input, DataField<long>? output)
    {
        _file = file;
        _writer = writer;
        _timestamp = timestamp;
        _requests = requests;
        _input = input;
        _output = output;
    }

    /// <summary>Starts a trace file.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="shape">Interval counts or a request log.</param>
    /// <param name="intervalNanos">For interval counts, the interval each row covers (recorded in the metadata).</param>
    /// <param name="withInputTokens">Whether to write an <c>input_tokens</c> column.</param>
    /// <param name="withOutputTokens">Whether to write an <c>output_tokens</c> column.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <param name="evenlySpaced">The caller promises row i is at the first timestamp plus i intervals (recorded in the metadata).</param>
    public static async Task<ParquetTraceWriter> CreateAsync(string path, TraceShape shape, long intervalNanos = 0, bool withInputTokens = false, bool withOutputTokens = false, bool evenlySpaced = false, CancellationToken cancellationToken = default)
    {
        var timestamp = new DateTimeDataField(ParquetTrace.TimestampColumn, DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Millis);
        var requests = shape == TraceShape.IntervalCounts ? new DataField<long>(ParquetTrace.RequestsColumn) : null;
        var input = withInputTokens ? new DataField<long>(ParquetTrace.InputTokensColumn) : null;
        var output = withOutputTokens ? new DataField<long>(ParquetTrace.OutputTokensColumn) : null;
        var fields = new List<Field> { timestamp };
        fields.AddRange(new[] { requests, input, output }.OfType<DataField<long>>());

        var file = PendingFile.Create(path);
        try
        {
            // Timestamps step evenly and counts vary little: delta encoding makes both small and fast to read.
            var options = new ParquetOptions();
            foreach (var field in fields.OfType<DataField>())
            {
                options.ColumnEncodingHints[field.Path.ToString()] = EncodingHint.DeltaBinaryPacked;
            }

            var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), file.Stream, options, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (shape == TraceShape.IntervalCounts)
            {
                var metadata = new Dictionary<string, string> { [ParquetTrace.IntervalMetadataKey] = intervalNanos.ToString(CultureInfo.InvariantCulture) };
                if (evenlySpaced)
                {
                    metadata[ParquetTrace.EvenlySpacedMetadataKey] = "true";
                }

                writer.CustomMetadata = metadata;
            }

            return new ParquetTraceWriter(file, writer, timestamp, requests, input, output);
        }
        catch
        {
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Writes one row group; pass the columns the file was created with.</summary>
    public async Task WriteRowGroupAsync(ReadOnlyMemory<long> timestampsNanos, ReadOnlyMemory<long> requests = default, ReadOnlyMemory<long> inputTokens = default, ReadOnlyMemory<long> outputTokens = default, CancellationToken cancellationToken = default)
    {
        if (timestampsNanos.Length == 0)
        {
            return;
        }

        var stamps = new DateTime[timestampsNanos.Length];
        var source = timestampsNanos.Span;
        for (var i = 0; i < stamps.Length; i++)
        {
            stamps[i] = ParquetColumns.ToDateTime(IntervalBinner.FloorDiv(source[i], ParquetColumns.NanosPerMilli) * ParquetColumns.NanosPerMilli);
        }

        using var group = _writer.CreateRowGroup();
        await group.WriteAsync<DateTime>(_timestamp, stamps, cancellationToken: cancellationToken).ConfigureAwait(false);
        await WriteColumnAsync(group, _requests, requests, stamps.Length, cancellationToken).ConfigureAwait(false);
        await WriteColumnAsync(group, _input, inputTokens, stamps.Length, cancellationToken).ConfigureAwait(false);
        await WriteColumnAsync(group, _output, outputTokens, stamps.Length, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Finishes the file and moves it into place.</summary>
    public async Task CommitAsync()
    {
        _writerClosed = true;
        await _writer.DisposeAsync().ConfigureAwait(false);
        await _file.CommitAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_writerClosed)
            {
                // Closing writes the footer, which fails on a full disk; the scratch goes all the same.
                _writerClosed = true;
                await _writer.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
            // The write already failed or was abandoned; its own error is the one reported.
        }
        finally
        {
            await _file.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task WriteColumnAsync(ParquetRowGroupWriter group, DataField<long>? field, ReadOnlyMemory<long> values, int rows, CancellationToken cancellationToken)
    {
        if (field is null)
        {
            return;
        }

        if (values.Length != rows)
        {
            throw new ArgumentException($"column {field.Name} has {values.Length} values for {rows} rows");
        }

        await group.WriteAsync<long>(field, values, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
