using Autoscale.Traces;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Parquet;
using Parquet.Schema;

namespace Autoscale.Tests.Backtesting.Traces;

/// <summary>
/// Evenly spaced interval counts are read whole with every row group's columns decoded at once, straight into the
/// trace's arrays; the one-by-one chunked read is the reference: the same ticks, tokens and totals, or the same error
/// (the first in row group, then column, order).
/// </summary>
public sealed class WholeReadTests
{
    private static readonly DateTime T0 = new(2026, 1, 5, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>A file's layout: rows per row group, which token columns it has, nullable or 32-bit columns, and faults put in.</summary>
    public sealed record Layout(int[] Groups, bool Input, bool Output, bool Nullable, bool Narrow, (int Row, int Column, int Kind)[] Faults);

    private static Gen<Layout> Layouts =>
        from groups in Gen.Choose(1, 5).SelectMany(n => Gen.Choose(1, 6).ArrayOf(n))
        from input in Gen.Elements(true, false)
        from output in Gen.Elements(true, false)
        from nullable in Gen.Elements(true, false)
        from narrow in Gen.Elements(true, false)
        from faults in (from row in Gen.Choose(0, groups.Sum() - 1)
                        from column in Gen.Choose(0, 2)
                        from kind in Gen.Choose(0, 2)
                        select (row, column, kind)).ArrayOf().Select(f => f.Take(3).ToArray())
        select new Layout(groups, input, output, nullable, narrow, faults);

    [Property(MaxTest = 120)]
    public Property The_whole_read_is_the_chunked_read_errors_included() =>
        Prop.ForAll(Layouts.ToArbitrary(), layout =>
        {
            using var dir = new TempFolder();
            var path = dir.File("t.parquet");
            Write(path, layout).GetAwaiter().GetResult();
            var whole = Outcome(path, whole: true).GetAwaiter().GetResult();
            var chunked = Outcome(path, whole: false).GetAwaiter().GetResult();
            return (whole == chunked).Label($"whole: {whole}\nchunked: {chunked}");
        });

    [Fact]
    public async Task The_first_error_by_row_group_then_column_is_the_one_named()
    {
        // Row group 0's output tokens and row group 1's requests are both negative: row group 0 is read first, and its
        // requests before its tokens, so its output column's row is named, whichever job finished first.
        using var dir = new TempFolder();
        var (path, message) = await WholeReadError(dir, new Layout([3, 3], Input: true, Output: true, Nullable: false, Narrow: false, [(4, 0, 0), (1, 2, 0)]));

        Assert.Equal($"{path}: column output_tokens, row 2: negative count (-5)", message);
    }

    [Fact]
    public async Task Tokens_sum_past_the_limit_are_said()
    {
        using var dir = new TempFolder();
        var (_, message) = await WholeReadError(dir, new Layout([2, 2], Input: true, Output: false, Nullable: false, Narrow: false, [(1, 1, 2), (2, 1, 2)]));

        Assert.Contains("column input_tokens: the values sum past", message);
    }

    /// <summary>Writes <paramref name="layout"/> and reads it whole, which must fail: the file and the error's message.</summary>
    private static async Task<(string Path, string Message)> WholeReadError(TempFolder dir, Layout layout)
    {
        var path = dir.File("t.parquet");
        await Write(path, layout);
        await using var reader = await TraceReader.OpenAsync(path, Duration.FromSeconds(1));
        var error = await Assert.ThrowsAsync<TraceFormatException>(() => reader.ReadAllAsync(tokens: true));
        return (path, error.Message);
    }

    /// <summary>The ticks, tokens and totals read, or the error's message.</summary>
    private static async Task<string> Outcome(string path, bool whole)
    {
        try
        {
            await using var reader = await TraceReader.OpenAsync(path, Duration.FromSeconds(1));
            long[] arrivals = new long[reader.Length], input = new long[reader.Length], output = new long[reader.Length];
            if (whole)
            {
                var trace = await reader.ReadAllAsync(tokens: true);
                arrivals = trace.Arrivals;
                input = trace.InputTokens ?? [];
                output = trace.OutputTokens ?? [];
            }
            else
            {
                var (anyInput, anyOutput) = (false, false);
                await foreach (var chunk in reader.ReadChunksAsync(tokens: true))
                {
                    chunk.Arrivals.CopyTo(arrivals, chunk.FirstTick);
                    chunk.InputTokens?.CopyTo(input, chunk.FirstTick);
                    chunk.OutputTokens?.CopyTo(output, chunk.FirstTick);
                    (anyInput, anyOutput) = (anyInput || chunk.InputTokens is not null, anyOutput || chunk.OutputTokens is not null);
                }

                input = anyInput ? input : [];
                output = anyOutput ? output : [];
            }

            return $"{string.Join(',', arrivals)} | {string.Join(',', input)} | {string.Join(',', output)} | {reader.Requests} {reader.InputTokens} {reader.OutputTokens}";
        }
        catch (TraceFormatException e)
        {
            return "error: " + e.Message;
        }
    }

    /// <summary>Writes evenly spaced counts (row i: i + 1 requests, 10 (i + 1) input and 3 (i + 1) output tokens) with the layout's faults: negative, null (or negative where the column is not nullable), or half the limit.</summary>
    private static async Task Write(string path, Layout layout)
    {
        var rows = layout.Groups.Sum();
        var columns = new List<DataField> { new DateTimeDataField("timestamp", DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Millis) };
        var names = new[] { "requests", "input_tokens", "output_tokens" };
        var present = new[] { true, layout.Input, layout.Output };
        for (var c = 0; c < 3; c++)
        {
            if (present[c])
            {
                columns.Add(layout.Narrow ? (layout.Nullable ? new DataField<int?>(names[c]) : new DataField<int>(names[c]))
                    : layout.Nullable ? new DataField<long?>(names[c]) : new DataField<long>(names[c]));
            }
        }

        var values = new long?[3][];
        for (var c = 0; c < 3; c++)
        {
            var scale = new[] { 1L, 10L, 3L }[c];
            values[c] = Enumerable.Range(0, rows).Select(i => (long?)((i + 1) * scale)).ToArray();
        }

        foreach (var (row, column, kind) in layout.Faults)
        {
            values[column][row] = kind switch
            {
                0 => -5,
                1 when layout.Nullable => null,
                1 => -7,
                _ => layout.Narrow ? int.MaxValue : (TraceLimits.MaxRequests / 2) + 1,
            };
        }

        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(columns), stream);
        writer.CustomMetadata = new Dictionary<string, string>
        {
            [ParquetTrace.IntervalMetadataKey] = "1000000000",
            [ParquetTrace.EvenlySpacedMetadataKey] = "true",
        };
        var first = 0;
        foreach (var n in layout.Groups)
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<DateTime>((DataField)columns[0], Enumerable.Range(first, n).Select(i => T0.AddSeconds(i)).ToArray());
            var field = 1;
            for (var c = 0; c < 3; c++)
            {
                if (!present[c])
                {
                    continue;
                }

                var slice = values[c][first..(first + n)];
                var f = columns[field++];
                if (layout.Narrow && layout.Nullable)
                {
                    await group.WriteAsync<int>(f, slice.Select(v => (int?)v).ToArray());
                }
                else if (layout.Narrow)
                {
                    await group.WriteAsync<int>(f, slice.Select(v => (int)v!.Value).ToArray());
                }
                else if (layout.Nullable)
                {
                    await group.WriteAsync<long>(f, slice);
                }
                else
                {
                    await group.WriteAsync<long>(f, slice.Select(v => v!.Value).ToArray());
                }
            }

            first += n;
        }
    }
}
