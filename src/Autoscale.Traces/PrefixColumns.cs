using Parquet;
using Parquet.Data;
using Parquet.Schema;

namespace Autoscale.Traces;

/// <summary>
/// A request log's prefix columns, found and checked when a trace is opened and read row group by row group:
/// <c>prefix_group</c> (strings, null for none) with <c>prefix_tokens</c>, or <c>hash_ids</c> (a list of integers per row).
/// </summary>
internal sealed class PrefixColumns
{
    private readonly DataField? _group;
    private readonly DataField? _tokens;
    private readonly DataField? _hashes;
    private readonly Dictionary<string, string> _interned = new(StringComparer.Ordinal);

    private PrefixColumns(DataField? group, DataField? tokens, DataField? hashes)
    {
        _group = group;
        _tokens = tokens;
        _hashes = hashes;
    }

    /// <summary>The prefix columns of <paramref name="schema"/>, checked; null when it has none.</summary>
    /// <exception cref="TraceFormatException">A prefix column has the wrong type, comes without its partner, or sits in interval counts.</exception>
    public static PrefixColumns? Find(ParquetSchema schema, string name, bool intervalCounts)
    {
        var top = schema.Fields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        top.TryGetValue(ParquetTrace.PrefixGroupColumn, out var group);
        top.TryGetValue(ParquetTrace.PrefixTokensColumn, out var tokens);
        top.TryGetValue(ParquetTrace.HashIdsColumn, out var hashes);
        if (group is null && tokens is null && hashes is null)
        {
            return null;
        }

        var present = group?.Name ?? tokens?.Name ?? hashes!.Name;
        if (intervalCounts)
        {
            throw new TraceFormatException(name, "prefix columns describe single requests; interval counts (a requests column) cannot have them", present);
        }

        if (hashes is not null && (group is not null || tokens is not null))
        {
            throw new TraceFormatException(name, $"a trace gives either {ParquetTrace.HashIdsColumn} or {ParquetTrace.PrefixGroupColumn} with {ParquetTrace.PrefixTokensColumn}, not both", ParquetTrace.HashIdsColumn);
        }

        if (hashes is not null)
        {
            if (hashes is not ListField { Item: DataField item } || item.ClrType != typeof(long) && item.ClrType != typeof(int))
            {
                throw new TraceFormatException(name, "must be a list of integers (64-bit or 32-bit), one per hashed block of the prompt", ParquetTrace.HashIdsColumn);
            }

            return new PrefixColumns(null, null, item);
        }

        if (group is null || tokens is null)
        {
            var (missing, has) = group is null ? (ParquetTrace.PrefixGroupColumn, ParquetTrace.PrefixTokensColumn) : (ParquetTrace.PrefixTokensColumn, ParquetTrace.PrefixGroupColumn);
            throw new TraceFormatException(name, $"comes without a {missing} column: a prefix group and its shared tokens go together", has);
        }

        if (group is not DataField g || g.ClrType != typeof(ReadOnlyMemory<char>))
        {
            throw new TraceFormatException(name, "must be a column of strings (the group's name)", ParquetTrace.PrefixGroupColumn);
        }

        if (tokens is not DataField t || !ParquetColumns.IsInteger(t))
        {
            throw new TraceFormatException(name, "must be an integer count of tokens", ParquetTrace.PrefixTokensColumn);
        }

        return new PrefixColumns(g, t, null);
    }

    /// <summary>Reads one row group's prefixes; <paramref name="input"/> (the row group's input tokens, when the file has them) bounds the shared tokens.</summary>
    public async Task<RequestPrefixes> ReadAsync(ParquetRowGroupReader group, string name, long firstRow, long[]? input, CancellationToken cancellationToken)
    {
        var n = checked((int)group.RowCount);
        if (_hashes is not null)
        {
            return new RequestPrefixes(await ReadHashesAsync(group, n, name, firstRow, cancellationToken).ConfigureAwait(false));
        }

        var tokens = await ParquetColumns.ReadCountsAsync(group, _tokens!, name, firstRow, cancellationToken).ConfigureAwait(false);
        var groups = new string?[n];
        var raw = new ReadOnlyMemory<char>?[n];
        await group.ReadAsync<ReadOnlyMemory<char>>(_group!, raw.AsMemory(), cancellationToken: cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < n; i++)
        {
            groups[i] = raw[i] is { } text ? Intern(text) : null;
        }

        for (var i = 0; i < n; i++)
        {
            if (groups[i] is null && tokens[i] > 0)
            {
                throw new TraceFormatException(name, $"{tokens[i]} shared prefix tokens in no prefix group (prefix_group is null)", ParquetTrace.PrefixTokensColumn, firstRow + i + 1);
            }

            if (input is not null && tokens[i] > input[i])
            {
                throw new TraceFormatException(name, $"{tokens[i]} prefix tokens, more than the request's {input[i]} input tokens", ParquetTrace.PrefixTokensColumn, firstRow + i + 1);
            }
        }

        return new RequestPrefixes(groups, tokens);
    }

    private string Intern(ReadOnlyMemory<char> text)
    {
        var lookup = _interned.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(text.Span, out var known))
        {
            return known;
        }

        var s = text.ToString();
        _interned[s] = s;
        return s;
    }

    private async Task<long[][]> ReadHashesAsync(ParquetRowGroupReader group, int n, string name, long firstRow, CancellationToken cancellationToken)
    {
        var rows = new long[n][];
        using var raw = await group.ReadRawColumnDataBaseAsync(_hashes!, cancellationToken).ConfigureAwait(false);
        var maxDefinition = _hashes!.MaxDefinitionLevel;
        if (raw is RawColumnData<long> longs)
        {
            Split(rows, longs.Values, longs.DefinitionLevels, longs.RepetitionLevels, maxDefinition, name, firstRow);
        }
        else if (raw is RawColumnData<int> ints)
        {
            var widened = new long[ints.Values.Length];
            for (var i = 0; i < widened.Length; i++)
            {
                widened[i] = ints.Values[i];
            }

            Split(rows, widened, ints.DefinitionLevels, ints.RepetitionLevels, maxDefinition, name, firstRow);
        }
        else
        {
            throw new TraceFormatException(name, "must be a list of integers", ParquetTrace.HashIdsColumn);
        }

        return rows;
    }

    /// <summary>Cuts a list column's values into rows by its repetition levels (0 starts a row); a level below the most means an empty or null list.</summary>
    private static void Split(long[][] rows, ReadOnlySpan<long> values, ReadOnlySpan<int> definition, ReadOnlySpan<int> repetition, int maxDefinition, string name, long firstRow)
    {
        var row = -1;
        var v = 0;
        var start = 0;
        var count = 0;
        for (var k = 0; k < definition.Length; k++)
        {
            if (repetition.Length == 0 || repetition[k] == 0)
            {
                Close(rows, row, values, start, count);
                row++;
                start = v;
                count = 0;
                if (row >= rows.Length)
                {
                    throw new TraceFormatException(name, "has more lists than the row group has rows", ParquetTrace.HashIdsColumn);
                }
            }

            if (definition[k] == maxDefinition)
            {
                v++;
                count++;
            }
        }

        Close(rows, row, values, start, count);
        if (row != rows.Length - 1)
        {
            throw new TraceFormatException(name, $"has {row + 1} lists for {rows.Length} rows", ParquetTrace.HashIdsColumn, firstRow + row + 2);
        }

        static void Close(long[][] rows, int row, ReadOnlySpan<long> values, int start, int count)
        {
            if (row >= 0)
            {
                rows[row] = values.Slice(start, count).ToArray();
            }
        }
    }
}
