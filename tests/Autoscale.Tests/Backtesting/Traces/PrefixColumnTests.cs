using Autoscale.Backtesting.Serving;
using Autoscale.Traces;
using NodaTime;
using Parquet;
using Parquet.Schema;

namespace Autoscale.Tests.Backtesting.Traces;

/// <summary>A request log's prefix columns: written and read back in time order (rows of any order), and refused when wrong.</summary>
public sealed class PrefixColumnTests
{
    private static readonly long Start = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z in nanoseconds

    private static async Task<List<RequestBatch>> ReadAll(string path)
    {
        await using var reader = await TraceReader.OpenAsync(path, Duration.FromSeconds(1));
        Assert.True(reader.Info.HasPrefixes);
        var batches = new List<RequestBatch>();
        await foreach (var batch in reader.ReadRequestsAsync())
        {
            batches.Add(batch);
        }

        return batches;
    }

    [Fact]
    public async Task Groups_and_hashes_come_back_in_time_order_across_row_groups()
    {
        using var dir = new TempFolder();
        // Out of time order within each row group of 2: the reader sorts them, their prefixes moving with them.
        long[] stamps = [Start + 2_000_000_000, Start, Start + 5_000_000_000, Start + 3_000_000_000];
        long[] input = [100, 200, 300, 400];
        var groups = Path.Combine(dir.Path, "groups.parquet");
        await ParquetTrace.WriteRequestLogWithPrefixesAsync(groups, stamps, input, input, new RequestPrefixes(["b", "a", null, "a"], [50, 60, 0, 70]), rowGroupSize: 2);
        var g = (await ReadAll(groups)).Select(b => b.Prefixes!).ToArray();
        Assert.Equal(["a", "b", "a", null], g.SelectMany(p => p.Groups!));
        Assert.Equal([60L, 50, 70, 0], g.SelectMany(p => p.Tokens!));

        var hashes = Path.Combine(dir.Path, "hashes.parquet");
        await ParquetTrace.WriteRequestLogWithPrefixesAsync(hashes, stamps, input, input, new RequestPrefixes([[1, 2], [7], [], [1, 2, 3]]), rowGroupSize: 2);
        var h = (await ReadAll(hashes)).SelectMany(b => b.Prefixes!.HashIds!).ToArray();
        Assert.Equal([[7L], [1L, 2], [1L, 2, 3], []], h);

        // And into a serving workload, whose replay finds the shared blocks.
        await using var reader = await TraceReader.OpenAsync(hashes, Duration.FromSeconds(1));
        var workload = await ServingWorkload.ReadAsync(reader, Autoscale.Tests.Serving.ServingFixtures.Profile() with { HashBlockTokens = 32 }, 1, "hashes");
        Assert.True(workload.HasPrefixes);
    }

    private static readonly DateTimeDataField Timestamp = new("timestamp", DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Millis);

    /// <summary>Writes one row group of <paramref name="fields"/> (the timestamp first, at 2026-01-01), its other columns by <paramref name="columns"/>.</summary>
    private static async Task WriteOneRow(string path, Func<ParquetRowGroupWriter, Task> columns, params Field[] fields)
    {
        await using var file = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema([Timestamp, .. fields]), file);
        using var group = writer.CreateRowGroup();
        await group.WriteAsync<DateTime>(Timestamp, new[] { DateTime.UnixEpoch.AddYears(56) });
        await columns(group);
    }

    private static async Task<string> Refused(string path)
    {
        var e = await Assert.ThrowsAsync<TraceFormatException>(async () => await ReadAll(path));
        return e.Message;
    }

    [Fact]
    public async Task Hash_ids_that_are_not_a_list_of_integers_are_refused_naming_the_column()
    {
        using var dir = new TempFolder();
        var path = Path.Combine(dir.Path, "strings.parquet");
        var list = new ListField("hash_ids", new DataField<string>("element"));
        await WriteOneRow(path, g => g.WriteAllPartsAsync<ReadOnlyMemory<char>>((DataField)list.Item, new ReadOnlyMemory<char>[] { "x".AsMemory() }, new[] { 2 }, new[] { 0 }, default), list);

        var message = await Refused(path);
        Assert.Contains("hash_ids", message, StringComparison.Ordinal);
        Assert.Contains("must be a list of integers", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_prefix_group_without_its_tokens_and_tokens_above_the_prompt_are_refused()
    {
        using var dir = new TempFolder();
        var lone = Path.Combine(dir.Path, "lone.parquet");
        var group = new DataField<string>("prefix_group", true);
        await WriteOneRow(lone, g => g.WriteAsync(group, (IReadOnlyCollection<string?>)new string?[] { "a" }), group);

        Assert.Contains("without a prefix_tokens column", await Refused(lone), StringComparison.Ordinal);

        var above = Path.Combine(dir.Path, "above.parquet");
        await ParquetTrace.WriteRequestLogWithPrefixesAsync(above, new long[] { Start, Start + 1_000_000_000 }, new long[] { 100, 100 }, new long[] { 5, 5 }, new RequestPrefixes(["a", "a"], [50, 150]));
        var message = await Refused(above);
        Assert.Contains("prefix_tokens", message, StringComparison.Ordinal);
        Assert.Contains("row 2", message, StringComparison.Ordinal);
        Assert.Contains("more than the request's 100 input tokens", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Interval_counts_with_prefix_columns_are_refused()
    {
        using var dir = new TempFolder();
        var path = Path.Combine(dir.Path, "counts.parquet");
        var requests = new DataField<long>("requests");
        var group = new DataField<string>("prefix_group", true);
        var tokens = new DataField<long>("prefix_tokens");
        await WriteOneRow(path, async g =>
        {
            await g.WriteAsync<long>(requests, new long[] { 3 });
            await g.WriteAsync(group, (IReadOnlyCollection<string?>)new string?[] { "a" });
            await g.WriteAsync<long>(tokens, new long[] { 10 });
        }, requests, group, tokens);

        var e = await Assert.ThrowsAsync<TraceFormatException>(async () => await TraceReader.OpenAsync(path, Duration.FromSeconds(1)));
        Assert.Contains("prefix columns describe single requests; interval counts (a requests column) cannot have them", e.Message, StringComparison.Ordinal);
    }
}
