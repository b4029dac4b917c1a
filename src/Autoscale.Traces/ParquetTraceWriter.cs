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
    private readonly DataField<string>? _prefixGroup;
    private readonly DataField<long>? _prefixTokens;
    private readonly ListField? _hashIds;
    private bool _writerClosed;

    private ParquetTraceWriter(PendingFile file, ParquetWriter writer, DateTimeDataField timestamp, DataField<long>? requests, DataField<long>? input, DataField<long>? output,
        DataField<string>? prefixGroup, DataField<long>? prefixTokens, ListField? hashIds)
    {
        _prefixGroup = prefixGroup;
        _prefixTokens = prefixTokens;
        _hashIds = hashIds;
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
    /// <param name="prefixes">A request log's prefix columns: none, <c>prefix_group</c> with <c>prefix_tokens</c>, or <c>hash_ids</c>.</param>
    public static async Task<ParquetTraceWriter> CreateAsync(string path, TraceShape shape, long intervalNanos = 0, bool withInputTokens = false, bool withOutputTokens = false, bool evenlySpaced = false, CancellationToken cancellationToken = default, PrefixKind prefixes = PrefixKind.None)
    {
        var timestamp = new DateTimeDataField(ParquetTrace.TimestampColumn, DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Millis);
        var requests = shape == TraceShape.IntervalCounts ? new DataField<long>(ParquetTrace.RequestsColumn) : null;
        var input = withInputTokens ? new DataField<long>(ParquetTrace.InputTokensColumn) : null;
        var output = withOutputTokens ? new DataField<long>(ParquetTrace.OutputTokensColumn) : null;
        var fields = new List<Field> { timestamp };
        fields.AddRange(new[] { requests, input, output }.OfType<DataField<long>>());
        var prefixGroup = prefixes == PrefixKind.Groups ? new DataField<string>(ParquetTrace.PrefixGroupColumn, true) : null;
        var prefixTokens = prefixes == PrefixKind.Groups ? new DataField<long>(ParquetTrace.PrefixTokensColumn) : null;
        var hashIds = prefixes == PrefixKind.HashIds ? new ListField(ParquetTrace.HashIdsColumn, new DataField<long>("element")) : null;
        if (prefixGroup is not null)
        {
            fields.Add(prefixGroup);
            fields.Add(prefixTokens!);
        }

        if (hashIds is not null)
        {
            fields.Add(hashIds);
        }

        var file = PendingFile.Create(path);
        try
        {
            // Timestamps step evenly and counts vary little: delta encoding makes both small and fast to read.
            var options = new ParquetOptions();
            foreach (var field in fields.OfType<DataField<long>>().Where(f => f != prefixTokens))
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

            return new ParquetTraceWriter(file, writer, timestamp, requests, input, output, prefixGroup, prefixTokens, hashIds);
        }
        catch
        {
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Writes one row group; pass the columns the file was created with.</summary>
    public async Task WriteRowGroupAsync(ReadOnlyMemory<long> timestampsNanos, ReadOnlyMemory<long> requests = default, ReadOnlyMemory<long> inputTokens = default, ReadOnlyMemory<long> outputTokens = default, CancellationToken cancellationToken = default, RequestPrefixes? prefixes = null)
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
        await WritePrefixesAsync(group, prefixes, stamps.Length, cancellationToken).ConfigureAwait(false);
    }

    private async Task WritePrefixesAsync(ParquetRowGroupWriter group, RequestPrefixes? prefixes, int rows, CancellationToken cancellationToken)
    {
        if (_prefixGroup is null && _hashIds is null)
        {
            return;
        }

        if (prefixes is null || prefixes.Count != rows || (_hashIds is not null) != (prefixes.HashIds is not null))
        {
            throw new ArgumentException($"the prefix columns need one entry of the file's kind per row ({rows})", nameof(prefixes));
        }

        if (_prefixGroup is not null)
        {
            await group.WriteAsync(_prefixGroup, (IReadOnlyCollection<string?>)prefixes.Groups!).ConfigureAwait(false);
            await group.WriteAsync<long>(_prefixTokens!, prefixes.Tokens!, cancellationToken: cancellationToken).ConfigureAwait(false);
            return;
        }

        // A list column: the values flattened, a repetition level of 0 starting each row, and an empty list as one entry
        // of a lower definition level with no value.
        var item = (DataField)_hashIds!.Item;
        var lists = prefixes.HashIds!;
        var entries = lists.Sum(l => Math.Max(1, l.Length));
        var values = new long[lists.Sum(l => l.Length)];
        var definition = new int[entries];
        var repetition = new int[entries];
        int e = 0, v = 0;
        foreach (var list in lists)
        {
            if (list.Length == 0)
            {
                definition[e++] = item.MaxDefinitionLevel - 1;
                continue;
            }

            for (var k = 0; k < list.Length; k++)
            {
                values[v++] = list[k];
                definition[e] = item.MaxDefinitionLevel;
                repetition[e++] = k == 0 ? 0 : 1;
            }
        }

        await group.WriteAllPartsAsync<long>(item, values, definition, repetition, cancellationToken).ConfigureAwait(false);
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

/// <summary>Which prefix columns a request log is written with.</summary>
internal enum PrefixKind
{
    /// <summary>None.</summary>
    None,

    /// <summary><c>prefix_group</c> and <c>prefix_tokens</c>.</summary>
    Groups,

    /// <summary><c>hash_ids</c>.</summary>
    HashIds,
}
