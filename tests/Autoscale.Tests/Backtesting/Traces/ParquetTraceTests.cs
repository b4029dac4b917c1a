using Autoscale.Traces;
using DuckDB.NET.Data;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Parquet;
using Parquet.Schema;

namespace Autoscale.Tests.Backtesting.Traces;

public sealed class ParquetTraceTests
{
    private static readonly Instant Start = Instant.FromUtc(2026, 1, 5, 0, 0);

    [Fact]
    public async Task Interval_counts_round_trip()
    {
        using var dir = new TempFolder();
        var counts = new long[] { 3, 0, 7, 12, 0, 0, 1 };
        await ParquetTrace.WriteIntervalCountsAsync(dir.File("t.parquet"), Start, Duration.FromSeconds(1), counts, rowGroupSize: 3);

        var trace = await ParquetTrace.ReadAsync(dir.File("t.parquet"), Duration.FromSeconds(1));

        Assert.Equal(counts, trace.Arrivals);
        Assert.Equal(Start, trace.Start);
    }

    /// <summary>
    /// The recycled read hands out the same counts as the plain one, chunk by chunk; an array comes back two chunks later
    /// when the row group fits it (the last, shorter one gets its own).
    /// </summary>
    [Fact]
    public async Task Recycled_ticks_are_the_plain_ones_in_two_arrays_taken_in_turn()
    {
        using var dir = new TempFolder();
        var counts = Enumerable.Range(0, 23).Select(i => (long)((i * 7919) % 13)).ToArray();
        await ParquetTrace.WriteIntervalCountsAsync(dir.File("t.parquet"), Start, Duration.FromSeconds(1), counts, rowGroupSize: 5);

        var plain = new List<long[]>();
        await using (var reader = await TraceReader.OpenAsync(dir.File("t.parquet"), Duration.FromSeconds(1)))
        {
            await foreach (var chunk in reader.ReadTicksAsync())
            {
                plain.Add(chunk);
            }
        }

        var copies = new List<long[]>();
        var arrays = new List<long[]>();
        await using (var reader = await TraceReader.OpenAsync(dir.File("t.parquet"), Duration.FromSeconds(1)))
        {
            await foreach (var chunk in reader.ReadTicksRecycledAsync())
            {
                copies.Add([.. chunk]);
                arrays.Add(chunk);
            }
        }

        Assert.Equal(5, plain.Count);
        Assert.Equal(plain, copies);
        Assert.Equal(counts, copies.SelectMany(c => c));
        Assert.Same(arrays[0], arrays[2]);
        Assert.Same(arrays[1], arrays[3]);
        Assert.NotSame(arrays[0], arrays[1]);
        Assert.NotSame(arrays[2], arrays[4]);
        Assert.Equal(3, arrays[4].Length);
    }

    [Fact]
    public async Task Duckdb_reads_the_bundled_textbook_trace_as_utc_timestamps()
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*), sum(requests)::BIGINT, min(timestamp)::VARCHAR, max(timestamp)::VARCHAR, typeof(min(timestamp)) FROM read_parquet('{TestPaths.TextbookTrace}')";
        using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());

        Assert.Equal(120L, reader.GetInt64(0));
        Assert.Equal(12804L, reader.GetInt64(1));
        Assert.StartsWith("2026-01-05 00:00:00", reader.GetString(2));
        Assert.StartsWith("2026-01-05 00:01:59", reader.GetString(3));
        Assert.Equal("TIMESTAMP WITH TIME ZONE", reader.GetString(4));
    }

    [Theory]
    [InlineData("textbook-spike.parquet")]
    [InlineData("azure-llm-code-2023.parquet")]
    [InlineData("azure-llm-conv-2023.parquet")]
    [InlineData("servegen-m-large-14d.parquet")]
    public async Task Every_bundled_trace_reads_the_same_in_duckdb(string file)
    {
        var path = Path.Combine(TestPaths.Traces, file);
        var (trace, info) = await ParquetTrace.ReadWithInfoAsync(path, Duration.FromSeconds(1));
        using var connection = new DuckDBConnection("Data Source=:memory:");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        var requests = info.Shape == TraceShape.IntervalCounts ? "sum(requests)::BIGINT" : "count(*)::BIGINT";
        command.CommandText = $"SELECT count(*)::BIGINT, {requests}, epoch_ms(min(timestamp)), typeof(min(timestamp)) FROM read_parquet('{path}')";
        using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());

        Assert.Equal(info.Rows, reader.GetInt64(0));
        Assert.Equal(trace.TotalRequests, reader.GetInt64(1));
        Assert.Equal(trace.Start.ToUnixTimeMilliseconds() / 1000, reader.GetInt64(2) / 1000);
        Assert.Equal("TIMESTAMP WITH TIME ZONE", reader.GetString(3));
    }

    [Fact]
    public async Task A_trace_written_by_duckdb_reads_back()
    {
        using var dir = new TempFolder();
        var path = dir.File("duck.parquet");
        using (var connection = new DuckDBConnection("Data Source=:memory:"))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = $"""
                COPY (SELECT TIMESTAMPTZ '2026-01-05 00:00:00+00' + INTERVAL (i * 60) SECOND AS timestamp, (i * 60)::BIGINT AS requests
                      FROM range(3) t(i)) TO '{path}' (FORMAT parquet)
                """;
            await command.ExecuteNonQueryAsync();
        }

        var trace = await ParquetTrace.ReadAsync(path, Duration.FromSeconds(1));

        // 60 s intervals spread evenly over their 60 ticks: 0 then 1 per tick then 2 per tick.
        Assert.Equal(180, trace.Length);
        Assert.Equal(180, trace.TotalRequests);
        Assert.All(trace.Arrivals[..60], a => Assert.Equal(0, a));
        Assert.All(trace.Arrivals[60..120], a => Assert.Equal(1, a));
        Assert.All(trace.Arrivals[120..], a => Assert.Equal(2, a));
    }

    [Fact]
    public async Task A_large_nullable_trace_from_duckdb_reads_the_same_every_time()
    {
        // DuckDB writes OPTIONAL columns in several row groups: the path where Parquet.Net 6.1's
        // nullable read was seen returning false nulls on large files.
        using var dir = new TempFolder();
        var path = dir.File("big.parquet");
        using (var connection = new DuckDBConnection("Data Source=:memory:"))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = $"""
                COPY (SELECT TIMESTAMPTZ '2026-01-05 00:00:00+00' + INTERVAL (i) SECOND AS timestamp, (i % 97)::BIGINT AS requests
                      FROM range(3000000) t(i)) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1048576)
                """;
            await command.ExecuteNonQueryAsync();
        }

        var expected = Enumerable.Range(0, 3_000_000).Sum(i => (long)(i % 97));
        for (var run = 0; run < 2; run++)
        {
            var trace = await ParquetTrace.ReadAsync(path, Duration.FromSeconds(1));
            Assert.Equal(3_000_000, trace.Length);
            Assert.Equal(expected, trace.TotalRequests);
        }
    }

    [Property(MaxTest = 200)]
    public Property Binning_never_loses_or_duplicates_a_request() =>
        Prop.ForAll(
            Gen.ArrayOf(Gen.Choose(0, 1000)).ToArbitrary(),
            Gen.Elements(1, 3, 10, 60, 600).ToArbitrary(),
            Gen.Elements(1, 2, 5, 7, 60).ToArbitrary(),
            (counts, intervalSeconds, tickSeconds) =>
            {
                var interval = (long)intervalSeconds * 1_000_000_000L;
                var stamps = counts.Select((_, i) => 1_767_571_200_000_000_000L + i * interval).ToArray();
                var trace = TraceBinning.FromIntervalCounts(stamps, counts.Select(c => (long)c).ToArray(), interval, Duration.FromSeconds(tickSeconds));
                return trace.TotalRequests == counts.Sum(c => (long)c) && trace.Arrivals.All(a => a >= 0);
            });

    [Property(MaxTest = 200)]
    public Property Binning_a_request_log_keeps_every_request() =>
        Prop.ForAll(
            Gen.ArrayOf(Gen.Choose(0, 100_000)).ToArbitrary(),
            Gen.Elements(1, 2, 5, 60).ToArbitrary(),
            (offsetsMillis, tickSeconds) =>
            {
                var stamps = offsetsMillis.Select(ms => 1_767_571_200_123_000_000L + ms * 1_000_000L).ToArray();
                var trace = TraceBinning.FromRequestTimestamps(stamps, Duration.FromSeconds(tickSeconds));
                return trace.TotalRequests == stamps.Length;
            });

    [Fact]
    public void A_coarse_interval_is_spread_with_the_remainder_to_the_earliest_ticks()
    {
        var trace = TraceBinning.FromIntervalCounts([0L], [7L], 3_000_000_000L, Duration.FromSeconds(1));
        Assert.Equal([3L, 2L, 2L], trace.Arrivals);
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "missing-timestamp", "missing column 'timestamp' (columns: time, requests)" },
        { "string-count", "column requests: must be an integer count, not text" },
        { "negative", "column requests, row 2: negative count (-3)" },
        { "null-count", "column requests, row 2: null value" },
        { "duplicate", "column timestamp, row 3: duplicate timestamp (2026-01-05T00:00:01Z after 2026-01-05T00:00:01Z)" },
        { "unsorted", "column timestamp, row 2: timestamps must increase (2026-01-04T23:59:59Z after 2026-01-05T00:00:00Z)" },
        { "empty", "the trace has no rows" },
        { "numeric-timestamp", "column timestamp: must be a timestamp type, not Int64" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task A_bad_file_is_named_with_its_column_and_row(string kind, string expected)
    {
        using var dir = new TempFolder();
        var path = dir.File(kind + ".parquet");
        await WriteBadAsync(path, kind);

        var error = await Assert.ThrowsAsync<TraceFormatException>(() => ParquetTrace.ReadAsync(path, Duration.FromSeconds(1)));

        Assert.Equal($"{path}: {expected}", error.Message);
    }

    [Fact]
    public async Task Evenly_spaced_files_skip_timestamp_decoding_and_a_false_claim_is_caught()
    {
        using var dir = new TempFolder();
        var even = dir.File("even.parquet");
        await ParquetTrace.WriteIntervalCountsAsync(even, Start, Duration.FromSeconds(1), new long[] { 1, 2, 3, 4, 5 }, rowGroupSize: 2);
        var trace = await ParquetTrace.ReadAsync(even, Duration.FromSeconds(1));
        Assert.Equal([1L, 2, 3, 4, 5], trace.Arrivals);

        // A writer that claims even spacing for rows with a gap is caught when the file is opened.
        var liar = dir.File("liar.parquet");
        await using (var writer = await ParquetTraceWriter.CreateAsync(liar, TraceShape.IntervalCounts, 1_000_000_000L, evenlySpaced: true))
        {
            var t0 = (Start - Instant.FromUnixTimeTicks(0)).ToInt64Nanoseconds();
            await writer.WriteRowGroupAsync(new long[] { t0, t0 + 1_000_000_000L, t0 + 5_000_000_000L }, new long[] { 1, 1, 1 });
            await writer.CommitAsync();
        }

        var error = await Assert.ThrowsAsync<TraceFormatException>(() => ParquetTrace.ReadAsync(liar, Duration.FromSeconds(1)));
        Assert.Contains("the metadata says the rows are evenly spaced", error.Message);
    }

    [Fact]
    public async Task A_truncated_file_is_not_parquet()
    {
        using var dir = new TempFolder();
        var bytes = await File.ReadAllBytesAsync(TestPaths.TextbookTrace);
        var path = dir.File("cut.parquet");
        await File.WriteAllBytesAsync(path, bytes[..(bytes.Length / 2)]);

        var error = await Assert.ThrowsAsync<TraceFormatException>(() => ParquetTrace.ReadAsync(path, Duration.FromSeconds(1)));

        Assert.StartsWith($"{path}: not a Parquet file", error.Message);
    }

    private static async Task WriteBadAsync(string path, string kind)
    {
        var ts = new DateTimeDataField(kind == "missing-timestamp" ? "time" : "timestamp", DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Millis);
        var t0 = new DateTime(2026, 1, 5, 0, 0, 0, DateTimeKind.Utc);
        DateTime[] stamps = kind switch
        {
            "duplicate" => [t0, t0.AddSeconds(1), t0.AddSeconds(1)],
            "unsorted" => [t0, t0.AddSeconds(-1), t0.AddSeconds(1)],
            "empty" => [],
            _ => [t0, t0.AddSeconds(1), t0.AddSeconds(2)],
        };

        await using var stream = File.Create(path);
        if (kind == "string-count")
        {
            var rq = new DataField<string>("requests");
            await using var w = await ParquetWriter.CreateAsync(new ParquetSchema(ts, rq), stream);
            using var g = w.CreateRowGroup();
            await g.WriteAsync<DateTime>(ts, stamps);
            await g.WriteAsync(rq, ["1", "2", "3"]);
            return;
        }

        if (kind == "numeric-timestamp")
        {
            var n = new DataField<long>("timestamp");
            var rq = new DataField<long>("requests");
            await using var w = await ParquetWriter.CreateAsync(new ParquetSchema(n, rq), stream);
            using var g = w.CreateRowGroup();
            await g.WriteAsync<long>(n, new long[] { 1, 2, 3 });
            await g.WriteAsync<long>(rq, new long[] { 1, 2, 3 });
            return;
        }

        if (kind == "null-count")
        {
            var rq = new DataField<long?>("requests");
            await using var w = await ParquetWriter.CreateAsync(new ParquetSchema(ts, rq), stream);
            using var g = w.CreateRowGroup();
            await g.WriteAsync<DateTime>(ts, stamps);
            await g.WriteAsync<long>(rq, new long?[] { 1, null, 3 });
            return;
        }

        var requests = new DataField<long>("requests");
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(ts, requests), stream);
        using var group = writer.CreateRowGroup();
        await group.WriteAsync<DateTime>(ts, stamps);
        await group.WriteAsync<long>(requests, kind == "negative" ? new long[] { 1, -3, 2 } : stamps.Select(_ => 1L).ToArray());
    }

    [Theory]
    [InlineData("azure-llm-code-2023.parquet")]
    [InlineData("azure-llm-conv-2023.parquet")]
    [InlineData("servegen-m-large-14d.parquet")]
    public async Task Duckdb_filtering_a_bundled_trace_by_time_sees_every_row(string file)
    {
        // DuckDB skips row groups by their statistics: wrong statistics (Parquet.Net 6.1 writes finer
        // units' in milliseconds) make a time filter silently drop rows.
        var path = Path.Combine(TestPaths.Traces, file);
        var (trace, info) = await ParquetTrace.ReadWithInfoAsync(path, Duration.FromSeconds(1));
        var from = trace.Length / 2;
        var cut = trace.Start + Duration.FromSeconds(from);
        using var connection = new DuckDBConnection("Data Source=:memory:");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        var requests = info.Shape == TraceShape.IntervalCounts ? "coalesce(sum(requests), 0)::BIGINT" : "count(*)::BIGINT";
        command.CommandText = $"SELECT {requests} FROM read_parquet('{path}') WHERE timestamp >= make_timestamptz({cut.ToUnixTimeTicks() / 10}::BIGINT)";

        var filtered = (long)(await command.ExecuteScalarAsync())!;

        Assert.Equal(trace.Arrivals[(int)from..].Sum(), filtered);
    }

    [Fact]
    public async Task Written_traces_carry_statistics_that_duckdb_and_the_reader_agree_on()
    {
        using var dir = new TempFolder();
        var path = dir.File("log.parquet");
        var t0 = 1_767_571_200_000_000_000L;
        // Sub-millisecond times are floored to the millisecond; the statistics must be in the column's unit.
        var stamps = new[] { t0 + 5_123_456_789L, t0 + 123_999_999L, t0 + 9_000_000_001L, t0 + 2_500_000_000L };
        await ParquetTrace.WriteRequestLogAsync(path, stamps, rowGroupSize: 2);

        using (var connection = new DuckDBConnection("Data Source=:memory:"))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT min(epoch_ms(stats_min_value::TIMESTAMPTZ)), max(epoch_ms(stats_max_value::TIMESTAMPTZ)) FROM parquet_metadata('{path}') WHERE path_in_schema = 'timestamp'";
            using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal((t0 + 123_000_000L) / 1_000_000, reader.GetInt64(0));
            Assert.Equal((t0 + 9_000_000_000L) / 1_000_000, reader.GetInt64(1));
        }

        await using var trace = await TraceReader.OpenAsync(path, Duration.FromMilliseconds(100));
        Assert.True(trace.SpanFromStatistics);
        var all = await trace.ReadAllAsync();
        Assert.Equal(Instant.FromUnixTimeTicks((t0 + 100_000_000L) / 100), all.Start);
        Assert.Equal(90, all.Length);
        Assert.Equal(1, all.Arrivals[0]);
        Assert.Equal(1, all.Arrivals[^1]);
        Assert.Equal(4, all.TotalRequests);
    }

    [Theory]
    [InlineData("textbook-spike.parquet")]
    [InlineData("servegen-m-large-14d.parquet")]
    [InlineData("azure-llm-code-2023.parquet")]
    public async Task Bundled_traces_open_from_their_statistics(string file)
    {
        await using var trace = await TraceReader.OpenAsync(Path.Combine(TestPaths.Traces, file), Duration.FromSeconds(1));
        Assert.True(trace.SpanFromStatistics);
    }

    [Fact]
    public async Task A_parquet_net_log_in_microseconds_is_read_without_trusting_its_statistics()
    {
        // Parquet.Net 6.1 writes a microsecond column's statistics in milliseconds; a file made that
        // way elsewhere must still read right (its span comes from the rows).
        using var dir = new TempFolder();
        var path = dir.File("micros.parquet");
        var field = new DateTimeDataField("timestamp", DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Micros);
        var stamps = new[] { Start.ToDateTimeUtc().AddTicks(1_234_560), Start.ToDateTimeUtc().AddSeconds(3), Start.ToDateTimeUtc().AddSeconds(1) };
        await using (var stream = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(field), stream))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<DateTime>(field, stamps);
        }

        await using var trace = await TraceReader.OpenAsync(path, Duration.FromSeconds(1));
        var all = await trace.ReadAllAsync();

        Assert.False(trace.SpanFromStatistics);
        Assert.Equal(Start, all.Start);
        Assert.Equal(new long[] { 1, 1, 0, 1 }, all.Arrivals);
    }

    [Fact]
    public async Task A_duckdb_log_in_microseconds_opens_from_its_statistics_across_row_groups()
    {
        using var dir = new TempFolder();
        var path = dir.File("log.parquet");
        using (var connection = new DuckDBConnection("Data Source=:memory:"))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            // 300,000 requests in shuffled order over 3 days, several row groups; the earliest and latest are not at the ends.
            command.CommandText = $"""
                COPY (SELECT TIMESTAMPTZ '2026-01-05 00:00:00.25+00' + INTERVAL ((i * 7919) % 300000) SECOND AS timestamp
                      FROM range(300000) t(i)) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 65536)
                """;
            await command.ExecuteNonQueryAsync();
        }

        await using var trace = await TraceReader.OpenAsync(path, Duration.FromSeconds(1));
        var all = await trace.ReadAllAsync();

        Assert.True(trace.SpanFromStatistics);
        Assert.Equal(Start, all.Start);
        Assert.Equal(300_000, all.Length);
        Assert.All(all.Arrivals, a => Assert.Equal(1, a));
    }
}
