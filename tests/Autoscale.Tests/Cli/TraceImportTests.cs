using System.Text.Json;
using Autoscale.Traces;
using NodaTime;

namespace Autoscale.Tests.Cli;

public sealed class TraceImportTests
{
    private static string AzureRaw(string kind) =>
        Path.Combine(TestPaths.Root, "..", "shared", "traces-raw", "azure-llm-2023", $"AzureLLMInferenceTrace_{kind}.csv");

    [Theory]
    [InlineData("code", 8819, 18059974, 245896)]
    [InlineData("conv", 19366, 22361870, 4088665)]
    public async Task The_bundled_azure_traces_hold_every_request_and_token(string kind, long requests, long input, long output)
    {
        var (exit, stdout, _) = await CliRunner.RunAsync("trace", "inspect", Path.Combine(TestPaths.Traces, $"azure-llm-{kind}-2023.parquet"), "--format", "json");

        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal("requestLog", json.RootElement.GetProperty("shape").GetString());
        Assert.Equal(requests, json.RootElement.GetProperty("requests").GetInt64());
        Assert.Equal(input, json.RootElement.GetProperty("inputTokens").GetInt64());
        Assert.Equal(output, json.RootElement.GetProperty("outputTokens").GetInt64());
    }

    [Theory]
    [InlineData("input_tokens", "inputTokens", "outputTokens")]
    [InlineData("output_tokens", "outputTokens", "inputTokens")]
    public async Task A_log_with_one_token_column_imports_with_that_column_alone(string column, string present, string absent)
    {
        using var dir = new TempFolder();
        File.WriteAllText(dir.File("log.csv"), $"timestamp,{column}\n2026-01-05T00:00:00.250Z,10\n2026-01-05T00:00:03Z,5\n2026-01-05T00:00:01.5Z,7\n");

        var import = await CliRunner.RunAsync("trace", "import", dir.File("log.csv"), "--out", dir.File("log.parquet"));
        var (exit, stdout, _) = await CliRunner.RunAsync("trace", "inspect", dir.File("log.parquet"), "--format", "json");

        Assert.Equal(0, import.Exit);
        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(3, json.RootElement.GetProperty("requests").GetInt64());
        Assert.Equal(22, json.RootElement.GetProperty(present).GetInt64());
        Assert.True(!json.RootElement.TryGetProperty(absent, out var value) || value.ValueKind == JsonValueKind.Null);
    }

    [Fact]
    public async Task The_azure_csv_imports_with_no_options_and_matches_the_bundled_file()
    {
        var raw = AzureRaw("code");
        using var dir = new TempFolder();

        var (exit, _, stderr) = await CliRunner.RunAsync("trace", "import", raw, "--out", dir.File("code.parquet"));

        Assert.Equal(0, exit);
        Assert.Contains("8819 requests (request log), with tokens", stderr);
        var fresh = await ParquetTrace.ReadAsync(dir.File("code.parquet"), Duration.FromSeconds(1));
        var bundled = await ParquetTrace.ReadAsync(Path.Combine(TestPaths.Traces, "azure-llm-code-2023.parquet"), Duration.FromSeconds(1));
        Assert.Equal(bundled.Arrivals, fresh.Arrivals);
        Assert.Equal(bundled.Start, fresh.Start);
    }

    [Fact]
    public async Task A_jsonl_log_with_millisecond_offsets_imports_with_options()
    {
        using var dir = new TempFolder();
        var log = dir.Write("log.jsonl", """
            {"t_ms": 0, "prompt": 10, "completion": 3, "model": "x"}
            {"t_ms": 250, "prompt": 20, "completion": 4}
            {"t_ms": 1999, "prompt": 30, "completion": 5}

            {"t_ms": 1500, "prompt": 40, "completion": 6}
            {"t_ms": 3000.5, "prompt": 50, "completion": 7}
            """);

        var (exit, _, stderr) = await CliRunner.RunAsync("trace", "import", log, "--out", dir.File("log.parquet"),
            "--timestamp-field", "t_ms", "--timestamp-unit", "ms", "--start", "2026-03-02T09:00:00Z",
            "--input-tokens-field", "prompt", "--output-tokens-field", "completion");

        Assert.Equal(0, exit);
        Assert.Contains("5 requests (request log), with tokens", stderr);
        var (trace, info) = await ParquetTrace.ReadWithInfoAsync(dir.File("log.parquet"), Duration.FromSeconds(1));
        Assert.Equal(Instant.FromUtc(2026, 3, 2, 9, 0), trace.Start);
        Assert.Equal([2L, 2L, 0L, 1L], trace.Arrivals);
        Assert.Equal((150L, 25L), (info.InputTokens!.Value, info.OutputTokens!.Value));
    }

    [Fact]
    public async Task Interval_counts_with_token_sums_round_trip()
    {
        using var dir = new TempFolder();
        var csv = dir.Write("counts.csv", "time,count,input_tokens,output_tokens\n2026-01-05 00:00:00,5,500,50\n2026-01-05 00:01:00,7,700,70\n");

        var (exit, _, stderr) = await CliRunner.RunAsync("trace", "import", csv, "--out", dir.File("c.parquet"));

        Assert.Equal(0, exit);
        Assert.Contains("2 intervals, 12 requests, with tokens", stderr);
        var (trace, info) = await ParquetTrace.ReadWithInfoAsync(dir.File("c.parquet"), Duration.FromSeconds(1));
        Assert.Equal(120, trace.Length);
        Assert.Equal(12, trace.TotalRequests);
        Assert.Equal(Duration.FromMinutes(1), info.Interval);
        Assert.Equal((1200L, 120L), (info.InputTokens!.Value, info.OutputTokens!.Value));
    }

    [Theory]
    [InlineData("{\"ts\": 1}\n[1]\n", "row 2: expected a JSON object per line (line 2)")]
    [InlineData("{\"ts\": 1}\n{\"ts\": \n", "row 2: not valid JSON (line 2)")]
    [InlineData("{\"ts\": \"soon\"}\n", "column ts, row 1: \"soon\" is not a timestamp (ISO-8601, 'YYYY-MM-DD HH:MM:SS' or epoch seconds) (line 1)")]
    [InlineData("{\"ts\": 1, \"input_tokens\": -2}\n", "column input_tokens, row 1: negative count (-2) (line 1)")]
    [InlineData("{\"ts\": 1}\n{\"other\": 2}\n", "column ts, row 2: missing value (line 2)")]
    [InlineData("{\"when\": 1}\n", "missing column 'timestamp' (found: when; name yours with --timestamp-field)")]
    public async Task A_bad_jsonl_line_is_named(string text, string expected)
    {
        using var dir = new TempFolder();
        var log = dir.Write("bad.jsonl", text);

        var (exit, _, stderr) = await CliRunner.RunAsync("trace", "import", log, "--out", dir.File("x.parquet"));

        Assert.Equal(2, exit);
        Assert.StartsWith($"error: {log}: {expected}", stderr);
        Assert.Equal(["bad.jsonl"], dir.Files());
    }

    [Fact]
    public async Task A_named_field_that_is_absent_is_an_error()
    {
        using var dir = new TempFolder();
        var csv = dir.Write("c.csv", "timestamp,requests\n2026-01-05T00:00:00Z,1\n");

        var (exit, _, stderr) = await CliRunner.RunAsync("trace", "import", csv, "--out", dir.File("x.parquet"), "--requests-field", "n");

        Assert.Equal(2, exit);
        Assert.Equal($"error: {csv}: missing requests field 'n' (found: timestamp, requests)\n", stderr);
    }

    [Fact]
    public async Task A_bad_start_is_an_error()
    {
        var (exit, _, stderr) = await CliRunner.RunAsync("trace", "import", "x.csv", "--out", "x.parquet", "--start", "monday");

        Assert.Equal(2, exit);
        Assert.Equal("error: --start: \"monday\" is not an ISO-8601 instant such as 2026-01-05T00:00:00Z or 2026-01-05T09:00:00+09:00\n", stderr);
    }
}
