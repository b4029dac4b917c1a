using System.Text;
using System.Text.Json;
using DuckDB.NET.Data;

namespace Autoscale.Tests.Hostile;

/// <summary>
/// Every example of the hostile-input issue as a named regression: never an internal error, never a hang or a
/// memory blowup, never a wrong number with exit 0, never a file left behind.
/// </summary>
public sealed class HostileInputTests
{
    private const string Slo = "\"slo\": { \"maxWaitSeconds\": 2 }";

    private static string Config(string replica = "\"capacityRps\": 30", string extra = "", string candidate = "{ \"name\": \"one\", \"policy\": \"fixed\", \"options\": { \"replicas\": 8 }, \"loadTime\": { \"fixedSeconds\": 25 } }") =>
        $"{{ {Slo}, \"replica\": {{ {replica} }}{extra}, \"candidates\": [ {candidate} ] }}";

    private static byte[] Bytes(params byte[][] parts) => parts.SelectMany(part => part).ToArray();

    private static async Task<string> OneErrorLine(params string[] args)
    {
        var (exit, stdout, stderr) = await Autoscale.Tests.Cli.CliRunner.RunAsync(args);
        Assert.True(exit == 2, $"exit {exit}: {stdout}{stderr}");
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", line, StringComparison.Ordinal);
        return line;
    }

    /// <summary>
    /// A policy that wants 5,000 replicas from a cluster of 8 nodes, with stockouts retried every second, reclaims and crashes:
    /// 4,992 replicas wait for a node for fourteen days. Their retries cost nothing while no room comes (once this took
    /// five minutes); the guard cancels the replay if it ever stalls again.
    /// </summary>
    [Fact]
    public async Task A_cluster_far_too_small_for_the_policy_replays_fourteen_days_without_stalling()
    {
        const string config = """
            { "slo": { "maxWaitSeconds": 2, "targetPercent": 99.0 },
              "replica": { "capacityRps": 30, "gpus": 1, "dollarsPerGpuHour": 3.0 },
              "engine": { "maxReplicas": 5000 },
              "cluster": { "nodePools": [
                  { "name": "od", "gpusPerNode": 1, "dollarsPerNodeHour": 3.0, "maxNodes": 3, "provisionSeconds": 60 },
                  { "name": "spot", "gpusPerNode": 1, "dollarsPerNodeHour": 1.0, "maxNodes": 5, "spot": true, "preemptionsPerNodeHour": 30,
                    "stockouts": { "meanSecondsBetween": 600, "meanSeconds": 600, "retrySeconds": 1 } } ],
                "replicaFailuresPerHour": 30 },
              "candidates": [ { "name": "fixed 5000", "policy": "fixed", "options": { "replicas": 5000 }, "loadTime": { "fixedSeconds": 25 } } ] }
            """;
        var plan = await new Autoscale.Config.ConfigLoader(Autoscale.Policies.Catalog.PolicyCatalog.CreateBuiltIn()).LoadAsync(config, "small-cluster.json");
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var reader = await Autoscale.Traces.TraceReader.OpenAsync(Path.Combine(TestPaths.Traces, "servegen-m-large-14d.parquet"), plan.Settings.Tick);
        var r = (await Autoscale.Backtesting.Engine.Backtest.RunAsync(reader, plan.Settings, plan.Candidates, cancellationToken: guard.Token)).Single();
        var c = r.Cluster!;
        Assert.Equal(r.Requests, r.Served + r.Dropped + r.QueuedAtEnd);
        Assert.Equal(8, c.PeakNodes);
        Assert.True(c.Preemptions > 0 && c.Crashes > 0 && c.StockoutMinutes > 0 && c.ProvisionFailures > 0);
        Assert.True(c.UnplacedReplicas >= 4_992, $"{c.UnplacedReplicas} replicas never got a node");
    }

    [Theory]
    [InlineData("\"capacityRps\": 1e308", "replica.capacityRps: must be in (0, 1000000000] (was 1E+308)")]
    [InlineData("\"capacityRps\": 30, \"dollarsPerGpuHour\": 1e308", "replica.dollarsPerGpuHour: must be in [0, 1000000] (was 1E+308)")]
    public async Task Huge_numbers_in_a_config_are_out_of_range_not_infinite(string replica, string expected)
    {
        using var dir = new TempFolder();
        var config = dir.Write("c.json", Config(replica));

        Assert.EndsWith(expected, await OneErrorLine("backtest", "--trace", TestPaths.TextbookTrace, "--config", config));
    }

    [Fact]
    public async Task A_huge_price_per_violation_is_out_of_range()
    {
        using var dir = new TempFolder();
        var config = dir.Write("c.json", "{ \"slo\": { \"maxWaitSeconds\": 2, \"dollarsPerViolation\": 1e308 }, \"replica\": { \"capacityRps\": 30 }, \"candidates\": [ { \"name\": \"x\", \"policy\": \"fixed\", \"loadTime\": { \"fixedSeconds\": 1 } } ] }");

        Assert.EndsWith("slo.dollarsPerViolation: must be in [0, 1000000000] (was 1E+308)", await OneErrorLine("backtest", "--trace", TestPaths.TextbookTrace, "--config", config));
    }

    [Fact]
    public async Task An_unpaired_surrogate_in_a_name_or_a_jsonl_field_is_one_line()
    {
        using var dir = new TempFolder();
        var config = dir.Write("c.json", Config(candidate: "{ \"name\": \"a\\ud800b\", \"policy\": \"fixed\", \"loadTime\": { \"fixedSeconds\": 1 } }"));
        var jsonl = dir.Write("log.jsonl", "{\"timestamp\": \"2026-01-05T00:00:00Z\", \"note\": \"\\ud800\"}\n");

        Assert.Contains("unpaired surrogate", await OneErrorLine("backtest", "--trace", TestPaths.TextbookTrace, "--config", config));
        Assert.Contains("unpaired surrogate", await OneErrorLine("trace", "import", jsonl, "--out", dir.File("t.parquet")));
        Assert.False(File.Exists(dir.File("t.parquet")));
    }

    [Theory]
    [InlineData("1500-01-01T00:00:00Z")]
    [InlineData("2300-01-01T00:00:00Z")]
    [InlineData("9999-12-31T00:00:00Z")]
    public async Task Timestamps_outside_1678_to_2261_are_refused_in_import_and_synth(string stamp)
    {
        using var dir = new TempFolder();
        var csv = dir.Write("log.csv", $"timestamp\n2026-01-05T00:00:00Z\n{stamp}\n");

        Assert.Contains("timestamps must lie between 1678-01-01 and 2261-12-31", await OneErrorLine("trace", "import", csv, "--out", dir.File("t.parquet")));
        Assert.Contains("timestamps must lie between 1678-01-01 and 2261-12-31", await OneErrorLine("trace", "synth", "--start", stamp, "--out", dir.File("s.parquet")));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.parquet"));
    }

    [Fact]
    public async Task Counts_summing_past_what_a_replay_counts_are_refused_in_import_and_in_parquet()
    {
        using var dir = new TempFolder();
        var csv = dir.Write("counts.csv", $"timestamp,requests\n2026-01-05T00:00:00Z,{long.MaxValue}\n2026-01-05T00:00:01Z,{long.MaxValue}\n");
        Assert.Contains("sum past", await OneErrorLine("trace", "import", csv, "--out", dir.File("t.parquet")));

        var parquet = dir.File("max.parquet");
        Duck($"COPY (SELECT TIMESTAMP '2026-01-05 00:00:00' + INTERVAL (i) SECOND AS timestamp, 9223372036854775807::BIGINT AS requests FROM range(2) t(i)) TO '{parquet}' (FORMAT parquet)");
        Assert.Contains("sum past", await OneErrorLine("backtest", "--trace", parquet, "--config", Path.Combine(TestPaths.Examples, "textbook.json")));
        Assert.Contains("sum past", await OneErrorLine("trace", "inspect", parquet));
    }

    [Fact]
    public async Task A_trace_spanning_68_years_or_more_is_refused_with_the_limit()
    {
        using var dir = new TempFolder();
        var csv = dir.Write("log.csv", "timestamp\n1980-01-01T00:00:00Z\n2050-01-01T00:00:00Z\n");
        Assert.Contains("a replay runs at most 2,147,483,647 ticks", await OneErrorLine("trace", "import", csv, "--out", dir.File("t.parquet")));

        var parquet = dir.File("long.parquet");
        Duck($"COPY (SELECT * FROM (VALUES (TIMESTAMP '1980-01-01 00:00:00'), (TIMESTAMP '2050-01-01 00:00:00')) t(timestamp)) TO '{parquet}' (FORMAT parquet)");
        Assert.Contains("a replay runs at most 2,147,483,647 ticks", await OneErrorLine("backtest", "--trace", parquet, "--config", Path.Combine(TestPaths.Examples, "textbook.json")));
    }

    [Fact]
    public async Task Outputs_that_cannot_be_files_or_folders_are_one_line_and_touch_nothing()
    {
        using var dir = new TempFolder();
        var existing = dir.Write("existing.txt", "keep me");
        var folder = Directory.CreateDirectory(dir.File("folder")).FullName;
        var config = Path.Combine(TestPaths.Examples, "textbook.json");

        Assert.Contains("is a file, not a folder", await OneErrorLine("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--out", existing));
        Assert.Contains("name is empty", await OneErrorLine("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--out", ""));
        Assert.Contains("is a folder, not a file", await OneErrorLine("trace", "synth", "--out", folder));
        Assert.Contains("is a folder, not a file", await OneErrorLine("trace", "import", Path.Combine(TestPaths.Examples, "requests.jsonl"), "--out", folder, "--timestamp-field", "t_ms", "--timestamp-unit", "ms"));
        Assert.Contains("device or system file", await OneErrorLine("trace", "synth", "--out", "/dev/null"));
        Assert.Contains("name is empty", await OneErrorLine("trace", "synth", "--out", ""));
        Assert.Equal("keep me", File.ReadAllText(existing));
        Assert.True(File.Exists("/dev/null"));
        Assert.Equal(["existing.txt"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Durations_past_any_range_and_sub_millisecond_intervals_are_refused_by_synth()
    {
        using var dir = new TempFolder();

        Assert.Contains("longer than a hundred years", await OneErrorLine("trace", "synth", "--duration", "99999999999w", "--out", dir.File("a.parquet")));
        Assert.Contains("whole number of milliseconds", await OneErrorLine("trace", "synth", "--interval", "0.5ms", "--duration", "1s", "--out", dir.File("b.parquet")));
        Assert.Contains("must be between 0 and 1e9", await OneErrorLine("trace", "synth", "--mean-rps", "1e18", "--out", dir.File("c.parquet")));
        Assert.Contains("68 years", await OneErrorLine("trace", "synth", "--from", TestPaths.TextbookTrace, "--repeat", "2000000000", "--out", dir.File("d.parquet")));
        Assert.Contains("timestamps must lie between", await OneErrorLine("trace", "synth", "--start", "2261-12-31T23:00:00Z", "--duration", "2h", "--out", dir.File("e.parquet")));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public async Task A_huge_expected_count_per_interval_finishes_and_is_counted_in_64_bits()
    {
        using var dir = new TempFolder();
        var (exit, _, stderr) = await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "synth", "--duration", "7d", "--interval", "1d", "--mean-rps", "30000", "--out", dir.File("big.parquet"));
        var inspect = await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "inspect", dir.File("big.parquet"), "--format", "json");

        Assert.True(exit == 0, stderr);
        using var json = JsonDocument.Parse(inspect.Out);
        var requests = json.RootElement.GetProperty("requests").GetInt64();
        Assert.InRange(requests, 30000L * 7 * 86_400 * 999 / 1000, 30000L * 7 * 86_400 * 1001 / 1000);
    }

    [Fact]
    public async Task Tampered_shards_are_one_line_naming_the_shard_and_the_problem()
    {
        using var dir = new TempFolder();
        var parts = dir.File("parts");
        foreach (var k in new[] { 0, 1 })
        {
            var (exit, _, stderr) = await Autoscale.Tests.Cli.CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", Path.Combine(TestPaths.Examples, "textbook-sweep.json"), "--shard", $"{k}/2", "--out", parts);
            Assert.True(exit == 0, stderr);
        }

        var good = File.ReadAllText(Path.Combine(parts, "shard-0-of-2.json"));
        var other = File.ReadAllText(Path.Combine(parts, "shard-1-of-2.json"));
        string Tamper(string json, Action<System.Text.Json.Nodes.JsonObject> change)
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
            change(node);
            return node.ToJsonString();
        }

        var cases = new (string Name, string Json, string Expected)[]
        {
            ("trace-null", Tamper(good, n => n["trace"] = null), "a part of the file is missing"),
            ("of-negative", Tamper(good, n => n["of"] = -1), "\"of\" (-1) must be between 1 and 10000"),
            ("of-zero", Tamper(good, n => n["of"] = 0), "\"of\" (0) must be between 1 and 10000"),
            ("of-huge", Tamper(good, n => n["of"] = int.MaxValue), "\"of\" (2147483647) must be between 1 and 10000"),
            ("no-results", Tamper(good, n => n["results"] = new System.Text.Json.Nodes.JsonArray()), "shard 0 of 2 lacks candidates it runs"),
            ("twice", Tamper(good, n => n["results"]!.AsArray().Add(n["results"]![0]!.DeepClone())), "a candidate appears twice in shard 0"),
            ("foreign", Tamper(good, n => n["results"]![0]!["name"] = "someone else"), "shard 0 of 2 holds candidates it does not run (someone else)"),
        };
        foreach (var (name, json, expected) in cases)
        {
            var folder = Directory.CreateDirectory(dir.File(name)).FullName;
            File.WriteAllText(Path.Combine(folder, "shard-0-of-2.json"), json);
            File.WriteAllText(Path.Combine(folder, "shard-1-of-2.json"), other);
            Assert.Contains(expected, await OneErrorLine("merge", folder));
        }
    }

    [Fact]
    public async Task Ticks_of_a_nanosecond_and_enormous_sweeps_are_refused_before_any_work()
    {
        using var dir = new TempFolder();
        var tick = dir.Write("tick.json", Config(extra: ", \"engine\": { \"tickSeconds\": 1e-9 }"));
        var sweep = dir.Write("sweep.json", Config(candidate: "{ \"name\": \"s\", \"policy\": \"textbook\", \"loadTime\": { \"fixedSeconds\": 1 }, \"sweep\": { \"spares\": { \"from\": 0, \"to\": 1999 }, \"baseReplicas\": { \"from\": 0, \"to\": 1999 } } }"));
        var unknown = dir.Write("unknown.json", Config(candidate: "{ \"name\": \"s\", \"policy\": \"textbook\", \"loadTime\": { \"fixedSeconds\": 1 }, \"sweep\": { \"spares\": { \"from\": 0, \"to\": 299 }, \"baseReplicas\": { \"from\": 0, \"to\": 299 }, \"sparez\": { \"from\": 0, \"to\": 299 } } }"));

        Assert.EndsWith("engine.tickSeconds: must be in [0.001, 86400] (was 1E-09)", await OneErrorLine("backtest", "--trace", TestPaths.TextbookTrace, "--config", tick));
        Assert.Contains("a config may expand to at most 10,000", await OneErrorLine("backtest", "--trace", TestPaths.TextbookTrace, "--config", sweep));
        Assert.Contains("candidates[0].sweep.sparez: unknown option for TextbookOptions", await OneErrorLine("backtest", "--trace", TestPaths.TextbookTrace, "--config", unknown));
    }

    [Theory]
    [InlineData("1500-01-01 00:00:00")]
    [InlineData("2300-01-01 00:00:00")]
    [InlineData("9999-01-01 00:00:00")]
    public async Task Parquet_timestamps_outside_the_range_are_refused_not_wrapped(string stamp)
    {
        using var dir = new TempFolder();
        var parquet = dir.File("far.parquet");
        Duck($"COPY (SELECT * FROM (VALUES (TIMESTAMP '2026-01-05 00:00:00', 1::BIGINT), (TIMESTAMP '{stamp}', 1::BIGINT)) t(timestamp, requests) ORDER BY timestamp) TO '{parquet}' (FORMAT parquet)");

        Assert.Contains("1678", await OneErrorLine("trace", "inspect", parquet));
    }

    [Theory]
    [InlineData("{'a': 1}")]
    [InlineData("[1, 2]")]
    public async Task A_requests_column_of_structs_or_lists_is_not_a_request_log(string value)
    {
        using var dir = new TempFolder();
        var parquet = dir.File("nested.parquet");
        Duck($"COPY (SELECT TIMESTAMP '2026-01-05 00:00:00' + INTERVAL (i) SECOND AS timestamp, {value} AS requests FROM range(3) t(i)) TO '{parquet}' (FORMAT parquet)");

        Assert.Contains("column requests: must be a column of plain values", await OneErrorLine("trace", "inspect", parquet));
    }

    [Fact]
    public async Task Evenly_spaced_metadata_over_shuffled_row_groups_is_refused()
    {
        using var dir = new TempFolder();
        var parquet = dir.File("shuffled.parquet");
        var start = new DateTime(2026, 1, 5, 0, 0, 0, DateTimeKind.Utc);
        var timestamp = new Parquet.Schema.DateTimeDataField("timestamp", Parquet.Schema.DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: Parquet.Schema.DateTimeTimeUnit.Millis);
        var requests = new Parquet.Schema.DataField<long>("requests");
        await using (var stream = File.Create(parquet))
        await using (var writer = await Parquet.ParquetWriter.CreateAsync(new Parquet.Schema.ParquetSchema(timestamp, requests), stream))
        {
            writer.CustomMetadata = new Dictionary<string, string> { ["autoscale.interval_ns"] = "1000000000", ["autoscale.evenly_spaced"] = "true" };
            foreach (var block in new[] { 0, 2, 1, 3 })
            {
                using var group = writer.CreateRowGroup();
                await group.WriteAsync<DateTime>(timestamp, Enumerable.Range(block * 10, 10).Select(i => start.AddSeconds(i)).ToArray());
                await group.WriteAsync<long>(requests, Enumerable.Range(0, 10).Select(i => (long)block + 1).ToArray());
            }
        }

        Assert.Contains("evenly spaced", await OneErrorLine("backtest", "--trace", parquet, "--config", Path.Combine(TestPaths.Examples, "textbook.json")));
    }

    [Fact]
    public async Task Billing_granularity_past_a_year_is_refused_and_any_granularity_bills_at_least_one_period()
    {
        using var dir = new TempFolder();
        var config = dir.Write("c.json", Config(extra: ", \"billing\": { \"granularitySeconds\": 1e12 }"));
        Assert.EndsWith("billing.granularitySeconds: must be in [0, 31536000] (was 1000000000000)", await OneErrorLine("backtest", "--trace", TestPaths.TextbookTrace, "--config", config));

        // A 120 s lifetime billed per 30 days costs 30 days; per hour, an hour; per 60 s, 120 s.
        Assert.Equal(2_592_000, Autoscale.Backtesting.Engine.FleetLedger.RoundUp(120, 2_592_000));
        Assert.Equal(3600, Autoscale.Backtesting.Engine.FleetLedger.RoundUp(120, 3600));
        Assert.Equal(120, Autoscale.Backtesting.Engine.FleetLedger.RoundUp(120, 60));
        Assert.Equal(180, Autoscale.Backtesting.Engine.FleetLedger.RoundUp(120.5, 60));
    }

    [Theory]
    [InlineData("{ \"slo\": { \"maxWaitSeconds\": 2 }, \"slo\": { \"maxWaitSeconds\": 5 }, \"replica\": { \"capacityRps\": 30 }, \"candidates\": [] }", "slo: is given twice in the same object")]
    [InlineData("{ \"slo\": { \"maxWaitSeconds\": 2 }, \"replica\": { \"capacityRps\": 30 }, \"candidates\": [ { \"name\": \"x\", \"policy\": \"textbook\", \"options\": { \"spares\": 1, \"Spares\": 2 }, \"loadTime\": { \"fixedSeconds\": 1 } } ] }", "candidates[0].options.Spares: is given twice in the same object (also as \"spares\"; names are not case-sensitive)")]
    public async Task Duplicate_keys_in_a_config_are_refused(string json, string expected)
    {
        using var dir = new TempFolder();
        var config = dir.Write("c.json", json);

        Assert.EndsWith(expected, await OneErrorLine("backtest", "--trace", TestPaths.TextbookTrace, "--config", config));
    }

    [Fact]
    public async Task Invalid_utf8_in_a_config_or_a_csv_is_refused()
    {
        using var dir = new TempFolder();
        var config = dir.File("c.json");
        var parts = Config(candidate: "{ \"name\": \"x|\", \"policy\": \"fixed\", \"loadTime\": { \"fixedSeconds\": 1 } }").Split('|');
        File.WriteAllBytes(config, Bytes(Encoding.UTF8.GetBytes(parts[0]), [0xC3, 0x28], Encoding.UTF8.GetBytes(parts[1])));
        var csv = dir.File("log.csv");
        File.WriteAllBytes(csv, Bytes(Encoding.UTF8.GetBytes("timestamp,note\n2026-01-05T00:00:00Z,"), [0xFF, 0xFE, (byte)'\n']));

        Assert.Contains("line 1, column ", await OneErrorLine("backtest", "--trace", TestPaths.TextbookTrace, "--config", config));
        Assert.Contains("not UTF-8 text (byte 0xC3 begins no character)", await OneErrorLine("backtest", "--trace", TestPaths.TextbookTrace, "--config", config));
        Assert.Contains("is not UTF-8 text", await OneErrorLine("trace", "import", csv, "--out", dir.File("t.parquet")));
    }

    [Fact]
    public async Task Duplicate_csv_columns_are_refused()
    {
        using var dir = new TempFolder();
        var csv = dir.Write("log.csv", "timestamp,requests,Requests\n2026-01-05T00:00:00Z,1,2\n");

        Assert.Contains("column Requests: the header names the column twice", await OneErrorLine("trace", "import", csv, "--out", dir.File("t.parquet")));
    }

    [Fact]
    public async Task An_infinite_phased_load_time_is_refused()
    {
        using var dir = new TempFolder();
        var config = dir.Write("c.json", Config(candidate: "{ \"name\": \"slow\", \"policy\": \"fixed\", \"loadTime\": { \"model\": \"phased\", \"modelSizeGb\": 1000000, \"nodeBandwidthGbps\": 0.001 } }"));

        Assert.Contains("at most 604800 s (a week)", await OneErrorLine("backtest", "--trace", TestPaths.TextbookTrace, "--config", config));
    }

    [Fact]
    public async Task Policy_check_options_from_a_file_are_read_not_taken_for_a_response_file()
    {
        using var dir = new TempFolder();
        var options = dir.Write("o.json", "{ \"minReplicas\": 3 }");

        var (exit, stdout, stderr) = await Autoscale.Tests.Cli.CliRunner.RunAsync("policy", "check", "--policy", "warm-floor", "--options", "@" + options);

        Assert.True(exit == 0, stdout + stderr);
    }

    [Fact]
    public async Task A_two_row_log_twenty_years_apart_inspects_at_once_and_replays_in_bounded_memory()
    {
        using var dir = new TempFolder();
        var csv = dir.Write("two.csv", "timestamp\n2000-01-01T00:00:00Z\n2020-01-01T00:00:00Z\n");
        var hourly = dir.Write("hourly.json", Config(extra: ", \"engine\": { \"tickSeconds\": 3600 }"));
        var import = await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "import", csv, "--out", dir.File("two.parquet"));
        Assert.True(import.Exit == 0, import.Err);

        var inspect = await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "inspect", dir.File("two.parquet"), "--format", "json");
        var backtest = await Autoscale.Tests.Cli.CliRunner.RunAsync("backtest", "--trace", dir.File("two.parquet"), "--config", hourly, "--format", "json");

        Assert.Equal(0, inspect.Exit);
        using (var json = JsonDocument.Parse(inspect.Out))
        {
            Assert.Equal(2, json.RootElement.GetProperty("requests").GetInt64());
            Assert.Equal(1, json.RootElement.GetProperty("peakRpsOver1s").GetDouble());
        }

        Assert.True(backtest.Exit == 0, backtest.Err);
        using (var json = JsonDocument.Parse(backtest.Out))
        {
            Assert.Equal(2, json.RootElement.GetProperty("candidates")[0].GetProperty("requests").GetInt64());
        }
    }

    [Fact]
    public async Task An_import_that_fails_leaves_no_output_and_an_earlier_one_stands()
    {
        using var dir = new TempFolder();
        var output = dir.File("t.parquet");
        var good = dir.Write("good.csv", "timestamp\n2026-01-05T00:00:00Z\n");
        var bad = dir.Write("bad.csv", "timestamp\n2026-01-05T00:00:00Z\nyesterday\n");
        Assert.Equal(0, (await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "import", good, "--out", output)).Exit);
        var before = File.ReadAllBytes(output);

        await OneErrorLine("trace", "import", bad, "--out", output);

        Assert.Equal(before, File.ReadAllBytes(output));
        Assert.Equal(["bad.csv", "good.csv", "t.parquet"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order());
    }

    // Found by the fuzzing suite (tests/Autoscale.Tests/Hostile/Fuzz).

    [Fact]
    public async Task A_decision_interval_of_a_day_costs_no_memory_and_a_longer_one_is_out_of_range()
    {
        using var dir = new TempFolder();
        var day = dir.Write("day.json", Config(candidate: "{ \"name\": \"daily\", \"policy\": \"reactive\", \"decisionIntervalSeconds\": 86400, \"metricsDelaySeconds\": 3600, \"loadTime\": { \"fixedSeconds\": 25 } }"));
        var huge = dir.Write("huge.json", Config(candidate: "{ \"name\": \"never\", \"policy\": \"reactive\", \"decisionIntervalSeconds\": 1e9, \"loadTime\": { \"fixedSeconds\": 25 } }"));

        var (exit, stdout, stderr) = await Autoscale.Tests.Cli.CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", day, "--format", "json");

        Assert.True(exit == 0, stderr);
        using (var json = JsonDocument.Parse(stdout))
        {
            Assert.Equal(12_804, json.RootElement.GetProperty("candidates")[0].GetProperty("requests").GetInt64());
        }

        Assert.EndsWith("candidates[0].decisionIntervalSeconds: must be in (0, 86400] (was 1000000000)", await OneErrorLine("backtest", "--trace", TestPaths.TextbookTrace, "--config", huge));
    }

    [Fact]
    public async Task A_sparse_log_with_tokens_inspects()
    {
        using var dir = new TempFolder();
        var csv = dir.Write("log.csv", "timestamp,input_tokens\n2040-02-20T00:04:12Z,1\n2000-02-29T23:59:59Z,7\n");
        Assert.Equal(0, (await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "import", csv, "--out", dir.File("t.parquet"))).Exit);

        var (exit, stdout, stderr) = await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "inspect", dir.File("t.parquet"), "--format", "json");

        Assert.True(exit == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(2, json.RootElement.GetProperty("requests").GetInt64());
    }

    [Fact]
    public async Task A_log_of_eighty_years_inspects_and_replays_with_daily_ticks_but_not_with_seconds()
    {
        using var dir = new TempFolder();
        var trace = dir.File("eighty.parquet");
        Duck($"COPY (SELECT * FROM (VALUES ('2000-01-01 00:00:00'::TIMESTAMP), ('2080-01-01 00:00:00'::TIMESTAMP), ('2040-06-01 12:00:00'::TIMESTAMP)) t(timestamp)) TO '{trace}' (FORMAT parquet)");
        var daily = dir.Write("daily.json", Config(extra: ", \"engine\": { \"tickSeconds\": 86400 }"));
        var seconds = dir.Write("seconds.json", Config());

        var inspect = await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "inspect", trace, "--format", "json");
        var replay = await Autoscale.Tests.Cli.CliRunner.RunAsync("backtest", "--trace", trace, "--config", daily, "--format", "json");

        Assert.True(inspect.Exit == 0, inspect.Err);
        using (var json = JsonDocument.Parse(inspect.Out))
        {
            Assert.Equal(3, json.RootElement.GetProperty("requests").GetInt64());
            Assert.Equal("2080-01-01T00:00:01Z", json.RootElement.GetProperty("end").GetString());
        }

        Assert.True(replay.Exit == 0, replay.Err);
        Assert.Contains("a replay runs at most 2,147,483,647 ticks", await OneErrorLine("backtest", "--trace", trace, "--config", seconds));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task A_long_log_in_no_order_replays_as_the_same_log_sorted()
    {
        // 200 days (more than the 16M ticks binned whole), rows shuffled across small row groups that overlap in time.
        using var dir = new TempFolder();
        var shuffled = dir.File("shuffled.parquet");
        var sorted = dir.File("sorted.parquet");
        const string Rows = "SELECT TIMESTAMP '2026-01-01 00:00:00' + to_seconds(((i * 7919) % 17280000)::BIGINT) AS timestamp, (i % 13)::BIGINT AS input_tokens FROM range(5000) r(i)";
        Duck($"COPY (SELECT * FROM ({Rows}) ORDER BY hash(timestamp)) TO '{shuffled}' (FORMAT parquet, ROW_GROUP_SIZE 700)");
        Duck($"COPY (SELECT * FROM ({Rows}) ORDER BY timestamp) TO '{sorted}' (FORMAT parquet)");
        var config = dir.Write("c.json", Config(candidate: "{ \"name\": \"f\", \"policy\": \"fixed\", \"options\": { \"replicas\": 1 }, \"loadTime\": { \"fixedSeconds\": 25 } }"));

        var results = new List<string>();
        foreach (var trace in new[] { shuffled, sorted })
        {
            var inspect = await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "inspect", trace, "--format", "json");
            var replay = await Autoscale.Tests.Cli.CliRunner.RunAsync("backtest", "--trace", trace, "--config", config, "--format", "json");
            Assert.True(inspect.Exit == 0 && replay.Exit == 0, inspect.Err + replay.Err);
            results.Add(inspect.Out.Replace(trace, "TRACE", StringComparison.Ordinal) + replay.Out.Replace(trace, "TRACE", StringComparison.Ordinal));
        }

        Assert.Contains("\"requests\": 5000", results[0], StringComparison.Ordinal);
        Assert.Equal(results[1], results[0]);
    }

    [Fact]
    public async Task Synth_takes_a_start_with_an_offset_and_a_bad_seed_is_said_plainly()
    {
        using var dir = new TempFolder();

        var (exit, _, stderr) = await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "synth", "--out", dir.File("t.parquet"), "--start", "2026-03-29T00:30:00+01:00", "--duration", "1h");
        var inspect = await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "inspect", dir.File("t.parquet"), "--format", "json");

        Assert.True(exit == 0, stderr);
        Assert.Contains("\"start\": \"2026-03-28T23:30:00Z\"", inspect.Out, StringComparison.Ordinal);
        Assert.Equal("error: --seed: \"x\" is not a whole number from -2147483648 to 2147483647", await OneErrorLine("trace", "synth", "--out", dir.File("u.parquet"), "--seed", "x"));
    }

    [Fact]
    public async Task Unsigned_counts_read_and_one_past_what_a_replay_counts_is_said()
    {
        using var dir = new TempFolder();
        var good = dir.File("good.parquet");
        var huge = dir.File("huge.parquet");
        Duck($"COPY (SELECT TIMESTAMP '2026-01-05 00:00:00' + to_seconds(i) AS timestamp, (i * 3)::UBIGINT AS requests FROM range(4) r(i)) TO '{good}' (FORMAT parquet)");
        Duck($"COPY (SELECT TIMESTAMP '2026-01-05 00:00:00' AS timestamp, 18446744073709551615::UBIGINT AS requests) TO '{huge}' (FORMAT parquet)");

        var (exit, stdout, stderr) = await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "inspect", good, "--format", "json");

        Assert.True(exit == 0, stderr);
        Assert.Contains("\"requests\": 18", stdout, StringComparison.Ordinal);
        Assert.EndsWith("column requests, row 1: count 18446744073709551615 is more than a replay can count", await OneErrorLine("trace", "inspect", huge));
    }

    [Fact]
    public async Task A_date_column_is_read_or_refused_by_its_type()
    {
        using var dir = new TempFolder();
        var trace = dir.File("dates.parquet");
        Duck($"COPY (SELECT DATE '2026-01-05' + i::INTEGER AS timestamp, 10::BIGINT AS requests FROM range(3) r(i)) TO '{trace}' (FORMAT parquet)");

        var (exit, stdout, stderr) = await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "inspect", trace, "--format", "json");

        Assert.True(exit == 0, stderr);
        Assert.Contains("\"requests\": 30", stdout, StringComparison.Ordinal);
        Assert.Contains("\"intervalSeconds\": 86400", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_report_into_a_folder_with_an_earlier_report_replaces_it_and_leaves_other_files()
    {
        using var dir = new TempFolder();
        var report = dir.File("report");
        var sweep = await Autoscale.Tests.Cli.CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", Path.Combine(TestPaths.Examples, "textbook-sweep.json"), "--out", report);
        Assert.True(sweep.Exit == 0, sweep.Err);
        Assert.Contains("timeline-9.png", Directory.GetFiles(report).Select(Path.GetFileName));
        File.WriteAllText(Path.Combine(report, "notes.txt"), "mine");
        File.WriteAllText(Path.Combine(report, "shard-0-of-2.json"), "{}");

        var small = await Autoscale.Tests.Cli.CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", Path.Combine(TestPaths.Examples, "textbook.json"), "--out", report);

        Assert.True(small.Exit == 0, small.Err);
        var html = File.ReadAllText(Path.Combine(report, "report.html"));
        var pngs = Directory.GetFiles(report, "*.png").Select(Path.GetFileName).ToList();
        Assert.DoesNotContain("timeline-9.png", pngs);
        Assert.DoesNotContain("sweep-1.png", pngs);
        Assert.All(pngs, png => Assert.Contains($"\"{png}\"", html, StringComparison.Ordinal));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(report, "notes.txt")));
        Assert.True(File.Exists(Path.Combine(report, "shard-0-of-2.json")));
    }

    [Fact]
    public async Task A_folder_given_for_a_file_says_so()
    {
        using var dir = new TempFolder();
        var folder = Directory.CreateDirectory(dir.File("t.parquet")).FullName;

        Assert.EndsWith("t.parquet: is a folder, not a Parquet file", await OneErrorLine("trace", "inspect", folder));
        Assert.EndsWith("t.parquet: is a folder, not a file", await OneErrorLine("backtest", "--trace", TestPaths.TextbookTrace, "--config", folder));
        Assert.EndsWith("t.parquet: is a folder, not a file", await OneErrorLine("trace", "import", folder, "--out", dir.File("u.parquet")));
    }

    [Fact]
    public async Task Synth_writes_up_to_the_last_hour_a_trace_can_hold_and_that_trace_reads_back()
    {
        using var dir = new TempFolder();
        var trace = dir.File("edge.parquet");

        var edge = await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "synth", "--out", trace, "--start", "2261-12-31T23:00:00Z", "--duration", "1h");
        var inspect = await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "inspect", trace, "--format", "json");

        Assert.True(edge.Exit == 0, edge.Err);
        Assert.True(inspect.Exit == 0, inspect.Err);
        Assert.Contains("\"end\": \"2262-01-01T00:00:00Z\"", inspect.Out, StringComparison.Ordinal);
        Assert.EndsWith("--start: 2262-04-11T00:00:00Z: timestamps must lie between 1678-01-01 and 2261-12-31 (a replay counts nanoseconds in 64 bits)",
            await OneErrorLine("trace", "synth", "--out", dir.File("past.parquet"), "--start", "2262-04-11T00:00:00Z", "--duration", "1h"));
        Assert.Contains("timestamps must lie between", await OneErrorLine("trace", "synth", "--out", dir.File("over.parquet"), "--start", "2261-12-31T23:00:00Z", "--duration", "2h"));
    }

    private static void Duck(string sql)
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
