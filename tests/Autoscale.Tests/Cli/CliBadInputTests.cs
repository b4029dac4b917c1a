namespace Autoscale.Tests.Cli;

public sealed class CliBadInputTests
{
    private const string Settings = """
        "slo": { "maxWaitSeconds": 2, "targetPercent": 99.0 },
        "replica": { "capacityRps": 30, "gpus": 1, "dollarsPerGpuHour": 3.0 },
        """;

    private static string Candidates(string candidate) => "{" + Settings + "\"candidates\": [" + candidate + "]}";

    public static TheoryData<string, string> BadConfigs => new()
    {
        { Candidates("""{ "name": "x", "policy": "nope", "loadTime": { "fixedSeconds": 25 } }"""),
          "error: {config}: candidates[0].policy: unknown policy \"nope\" (known: dynamo-sla, fixed, hpa, keda, knative, max, pd-ratio, predictive, ray-serve, reactive, scheduled-floor, textbook, warm-floor)" },
        { Candidates("""{ "name": "x", "policy": "textbook", "options": { "spares": -1 }, "loadTime": { "fixedSeconds": 25 } }"""),
          "error: {config}: candidates[0].options.spares: must be >= 0 (was -1)" },
        { Candidates("""{ "name": "x", "policy": "textbook", "options": { "baseReplicas": -3 }, "loadTime": { "fixedSeconds": 25 } }"""),
          "error: {config}: candidates[0].options.baseReplicas: must be >= 0 (was -3)" },
        { Candidates("""{ "name": "x", "policy": "textbook", "options": { "sparez": 1 }, "loadTime": { "fixedSeconds": 25 } }"""),
          "error: {config}: candidates[0].options.sparez: unknown option for TextbookOptions (known: baseReplicas, spares)" },
        { Candidates("""{ "name": "x", "policy": "textbook", "options": { "spares": "two" }, "loadTime": { "fixedSeconds": 25 } }"""),
          "error: {config}: candidates[0].options.spares: must be an integer, not the string \"two\"" },
        { Candidates("""{ "name": "x", "policy": "textbook" }"""),
          "error: {config}: candidates[0].loadTime: is required, e.g. {\"fixedSeconds\": 25}" },
        { Candidates("""{ "name": "x", "policy": "textbook", "loadTime": { "fixedSeconds": -5 } }"""),
          "error: {config}: candidates[0].loadTime.fixedSeconds: must be in [0, 604800] (was -5)" },
        { Candidates("""{ "name": "x", "policy": "textbook", "loadTime": { "fixedSeconds": 5 } }, { "name": "x", "policy": "fixed", "loadTime": { "fixedSeconds": 5 } }"""),
          "error: {config}: candidates[1].name: \"x\" is already the name of candidates[0]" },
        { """{ "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 0 }, "candidates": [] }""",
          "error: {config}: replica.capacityRps: must be in (0, 1000000000] (was 0)" },
        { """{ "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 30 }, "candidates": [] }""",
          "error: {config}: candidates must list at least one candidate" },
        { """{ "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 30 }, "candidate": [] }""",
          "error: {config}: candidate: unknown field (known: billing, candidates, cluster, engine, replica, replicas, report, slo)" },
        { """{ "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 30 }, "candidates": [ """,
          "error: {config}: line 1, column 85: not valid JSON (Expected depth to be zero at the end of the JSON payload)" },
        { Candidates("""{ "name": "x", "policy": "textbook", "loadTime": { "fixedSeconds": 5 }, "decisionIntervalSeconds": 0 }"""),
          "error: {config}: candidates[0].decisionIntervalSeconds: must be in (0, 86400] (was 0)" },
        { Candidates("""{ "name": "x", "policy": "textbook", "loadTime": { "fixedSeconds": 5 }, "sweep": { "spares": [0, -1] } }"""),
          "error: {config}: candidates[0].sweep.spares: must be >= 0 (was -1)" },
        { Cluster("""{ "nodePools": [ { "name": "a", "gpusPerNode": 0 } ] }"""),
          "error: {config}: cluster.nodePools[0].gpusPerNode: must be in [1, 4096] (was 0)" },
        { Cluster("""{ "nodePools": [ { "name": "a", "gpusPerNode": 4 } ] }, "replicas": { "big": { "gpus": 8 } }"""),
          "error: {config}: replicas.big.gpus: a replica needs 8 GPUs on one node, more than any node of any pool has (the largest: 4, pool \"a\")" },
        { Cluster("""{ "nodePools": [ { "name": "a", "spot": true, "preemptionsPerNodeHour": -1 } ] }"""),
          "error: {config}: cluster.nodePools[0].preemptionsPerNodeHour: must be in [0, 3600] (was -1)" },
        { Cluster("""{ "nodePools": [ { "name": "a" } ], "replicaFailuresPerHour": -0.5 }"""),
          "error: {config}: cluster.replicaFailuresPerHour: must be in [0, 3600] (was -0.5)" },
        { Cluster("""{ "nodePools": [ { "name": "a" } ], "placement": ["b"] }"""),
          "error: {config}: cluster.placement[0]: names no pool: \"b\" (pools: a)" },
        { Cluster("""{ "nodePools": [ { "name": "a" }, { "name": "a" } ] }"""),
          "error: {config}: cluster.nodePools[1].name: \"a\" is already the name of another pool" },
        { Cluster("""{ "nodePools": [ { "name": "a", "stockouts": { "windows": [ { "from": "yesterday", "to": "2026-01-01T00:00:00Z" } ] } } ] }"""),
          "error: {config}: cluster.nodePools[0].stockouts.windows[0].from: must be an ISO-8601 instant such as \"2026-01-05T10:00:00Z\" (was \"yesterday\")" },
        { Candidates("""{ "name": "x", "policy": "textbook", "replica": "big", "loadTime": { "fixedSeconds": 25 } }"""),
          "error: {config}: candidates[0].replica: unknown replica shape \"big\" (the config has no replicas section)" },
        { "{" + Settings + """ "replicas": { "small": { "gpus": 1 } }, "candidates": [ { "name": "x", "policy": "textbook", "sweep": { "replica": [ "small", "large" ] }, "loadTime": { "fixedSeconds": 25 } } ] }""",
          "error: {config}: candidates[0].sweep.replica: unknown replica shape \"large\" (known: small)" },
        { Cluster("""{ "nodePools": [ { "name": "a", "gpusPerNode": 8 } ] }, "replicas": { "big": { "gpus": 2, "pool": "b" } }"""),
          "error: {config}: replicas.big.pool: names no pool: \"b\" (pools: a)" },
        { "{" + Settings + """ "replicas": { "big": { "gpus": 2, "serving": { "stepSeconds": { "base": 0.01 } } } }, "candidates": [ { "name": "x", "policy": "textbook", "loadTime": { "fixedSeconds": 25 } } ] }""",
          "error: {config}: replicas.big.serving: a shape's serving profile needs one in replica.serving too (the trace's tokens are read with it)" },
        { Cluster("""{ "nodePools": [ { "name": "a" } ], "placement": "random" }"""),
          "error: {config}: cluster.placement: must be \"cheapest-first\", a list of pool names, or {\"onDemandBase\": N, \"onDemandPercentAboveBase\": P}, not the string \"random\"" },
    };

    private static string Cluster(string cluster, string loadTime = """{ "fixedSeconds": 25 }""") =>
        "{" + Settings + "\"cluster\": " + cluster + ", \"candidates\": [{ \"name\": \"x\", \"policy\": \"textbook\", \"loadTime\": " + loadTime + " }]}";

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public async Task A_bad_config_is_one_line_and_exit_2(string config, string expected)
    {
        using var dir = new TempFolder();
        var path = dir.Write("bad.json", config);
        var outDir = Path.Combine(dir.Path, "out");

        var (exit, stdout, stderr) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", path, "--format", "json", "--out", outDir);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Equal(expected.Replace("{config}", path, StringComparison.Ordinal) + "\n", stderr);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task A_missing_trace_is_named()
    {
        using var dir = new TempFolder();
        var config = dir.Write("c.json", CliRunner.TextbookConfig);
        var missing = dir.File("nope.parquet");

        var (exit, _, stderr) = await CliRunner.RunAsync("backtest", "--trace", missing, "--config", config);

        Assert.Equal(2, exit);
        Assert.Equal($"error: {missing}: no such file\n", stderr);
    }

    [Fact]
    public async Task A_trace_that_is_not_parquet_is_named()
    {
        using var dir = new TempFolder();
        var config = dir.Write("c.json", CliRunner.TextbookConfig);
        var notParquet = dir.Write("trace.parquet", "timestamp,requests\n2026-01-05T00:00:00Z,1\n");

        var (exit, stdout, stderr) = await CliRunner.RunAsync("backtest", "--trace", notParquet, "--config", config);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith($"error: {notParquet}: not a Parquet file", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    public static TheoryData<string, string> BadCsvs => new()
    {
        { "timestamp,requests\n2026-01-05T00:00:00Z,1\n2026-01-05T00:00:01Z,abc\n", "column requests, row 2: \"abc\" is not a whole number (line 3)" },
        { "timestamp,requests\n2026-01-05T00:00:00Z,1\n2026-01-05T00:00:01Z,-4\n", "column requests, row 2: negative count (-4) (line 3)" },
        { "timestamp,requests\n2026-01-05T00:00:00Z,1,7\n", "row 1: expected 2 fields, found 3 (line 2)" },
        { "timestamp,requests\nyesterday,1\n", "column timestamp, row 1: \"yesterday\" is not a timestamp (ISO-8601, 'YYYY-MM-DD HH:MM:SS' or epoch seconds) (line 2)" },
        { "timestamp,requests\n2026-01-05T00:00:01Z,1\n2026-01-05T00:00:00Z,1\n", "column timestamp, row 2: timestamps must increase (2026-01-05T00:00:00Z after the previous row) (line 3)" },
        { "timestamp,requests\n2026-01-05T00:00:01Z,1\n2026-01-05T00:00:01Z,1\n", "column timestamp, row 2: duplicate timestamp (2026-01-05T00:00:01Z after the previous row) (line 3)" },
        { "when,n\n2026-01-05T00:00:01Z,1\n", "missing column 'timestamp' (found: when, n; name yours with --timestamp-field)" },
        { "", "the file is empty (expected a header such as timestamp,requests)" },
        { "timestamp,requests\n", "the file has a header but no rows" },
    };

    [Theory]
    [MemberData(nameof(BadCsvs))]
    public async Task A_bad_csv_row_is_named_and_nothing_is_written(string csv, string expected)
    {
        using var dir = new TempFolder();
        var input = dir.Write("in.csv", csv);
        var output = dir.File("out.parquet");

        var (exit, stdout, stderr) = await CliRunner.RunAsync("trace", "import", input, "--out", output);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Equal($"error: {input}: {expected}\n", stderr);
        Assert.Equal(["in.csv"], dir.Files());
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("backtest --trace t.parquet")]
    [InlineData("backtest --trace t.parquet --config c.json --format xml")]
    public async Task A_bad_command_line_is_one_line_and_exit_2(string commandLine)
    {
        var args = commandLine.Split(' ');
        var (exit, stdout, stderr) = await CliRunner.RunAsync(args);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith("error: ", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }
}
