using System.Text.Json;
using Autoscale.Tests.Cli;
using Xunit;

namespace Autoscale.Tests.Serving;

/// <summary>Serving replays through the command line: results, and one clear line for each bad input.</summary>
public sealed class ServingCliTests
{
    private const string Profile = """
        "stepSeconds": { "base": 0.005, "perPrefillToken": 0.00002, "perDecodeToken": 0.0001 },
        "maxSequences": 64, "maxBatchedTokens": 4096, "kvCacheTokens": 1000000
        """;

    private static string Config(string serving = Profile, string slo = "\"maxTtftSeconds\": 2, \"maxTpotSeconds\": 0.1", string policy = "\"policy\": \"fixed\", \"options\": { \"replicas\": 2 }") => $$"""
        { "slo": { {{slo}}, "targetPercent": 99 },
          "replica": { "gpus": 1, "dollarsPerGpuHour": 3.0, "serving": { {{serving}} } },
          "engine": { "serving": "request" },
          "candidates": [ { "name": "two", {{policy}}, "loadTime": { "fixedSeconds": 0 } } ] }
        """;

    private static async Task<(int Exit, string Out, string Err, string File)> Backtest(string config, string trace, params string[] extra)
    {
        using var dir = new TempFolder();
        var file = Path.Combine(dir.Path, "serving.json");
        await File.WriteAllTextAsync(file, config);
        var (exit, stdout, stderr) = await CliRunner.RunAsync(["backtest", "--trace", trace, "--config", file, .. extra]);
        return (exit, stdout, stderr, file);
    }

    private static string Conversation => Path.Combine(TestPaths.Traces, "azure-llm-conv-2023.parquet");

    [Fact]
    public async Task The_fluid_mode_says_so_and_reports_the_same_fields_as_the_request_level_one()
    {
        var fluid = await Backtest(Config().Replace("\"serving\": \"request\"", "\"serving\": \"fluid\""), Conversation);
        Assert.True(fluid.Exit == 0, fluid.Err);
        Assert.Contains("Replayed as a fluid (engine.serving \"fluid\")", fluid.Out, StringComparison.Ordinal);

        var request = await Backtest(Config(), Conversation, "--format", "json");
        var asJson = await Backtest(Config().Replace("\"serving\": \"request\"", "\"serving\": \"fluid\""), Conversation, "--format", "json");
        using var a = JsonDocument.Parse(request.Out);
        using var b = JsonDocument.Parse(asJson.Out);
        var names = (JsonElement c) => c.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(names(a.RootElement.GetProperty("candidates")[0]), names(b.RootElement.GetProperty("candidates")[0]));
        Assert.Equal(19_366, b.RootElement.GetProperty("candidates")[0].GetProperty("requests").GetInt64());
        Assert.DoesNotContain("Replayed as a fluid", request.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fixed_fleet_on_the_conversation_trace_reports_token_latencies()
    {
        var (exit, stdout, stderr, _) = await Backtest(Config(), Conversation, "--format", "json");

        Assert.True(exit == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var c = doc.RootElement.GetProperty("candidates")[0];
        Assert.Equal(19_366, c.GetProperty("requests").GetInt64());
        Assert.Equal(c.GetProperty("requests").GetInt64(), c.GetProperty("served").GetInt64() + c.GetProperty("dropped").GetInt64());
        foreach (var field in new[] { "ttftP50Seconds", "ttftP90Seconds", "ttftP99Seconds", "tpotP50Seconds", "tpotP99Seconds", "e2eP50Seconds", "e2eP99Seconds", "goodputRps", "inputTokensPerSecond", "outputTokensPerSecond", "kvCacheUtilization", "dollarsPerMillionTokens" })
        {
            Assert.True(c.TryGetProperty(field, out var value) && value.GetDouble() >= 0, field);
        }

        Assert.True(c.GetProperty("ttftP50Seconds").GetDouble() <= c.GetProperty("ttftP99Seconds").GetDouble());
        var slo = doc.RootElement.GetProperty("slo");
        Assert.Equal(2, slo.GetProperty("maxTtftSeconds").GetDouble());
        Assert.False(slo.TryGetProperty("maxWaitSeconds", out _));

        // Every input token of the trace is served: 22,361,870 over its 3,503 one-second ticks.
        Assert.Equal(22_361_870 / 3503.0, c.GetProperty("inputTokensPerSecond").GetDouble(), 3);
    }

    [Theory]
    [InlineData("\"stepSeconds\": { \"base\": 0.005, \"perPrefillToken\": -0.00002 }", "replica.serving.stepSeconds.perPrefillToken")]
    [InlineData("\"stepSeconds\": { \"base\": 0 }", "replica.serving.stepSeconds.base")]
    [InlineData("\"stepSeconds\": { \"perDecodeToken\": 0.0001 }", "replica.serving: stepSeconds.base is required")]
    [InlineData("\"stepSeconds\": { \"base\": 0.005 }, \"maxBatchedTokens\": 0", "replica.serving.maxBatchedTokens")]
    [InlineData("\"stepSeconds\": { \"base\": 0.005 }, \"routing\": \"random\"", "routing")]
    [InlineData("\"stepSeconds\": { \"base\": 0.005 }, \"kvCacheTokens\": 8, \"blockTokens\": 16", "kvCacheTokens")]
    [InlineData("\"stepSeconds\": { \"base\": 0.005 }, \"tokens\": { \"input\": { \"fixed\": 5, \"median\": 3, \"sigma\": 1 } }", "exactly one of fixed")]
    public async Task A_bad_serving_profile_is_one_error_line(string serving, string expected)
    {
        var (exit, stdout, stderr, file) = await Backtest(Config(serving), Conversation);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith($"error: {file}: ", stderr);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Theory]
    [InlineData("\"kvCacheTokens\": 2000", "more than replica.serving.kvCacheTokens holds")]
    [InlineData("\"maxModelLen\": 1000", "more than replica.serving.maxModelLen (1000)")]
    public async Task A_request_larger_than_a_replica_holds_is_named(string limit, string expected)
    {
        var (exit, stdout, stderr, _) = await Backtest(Config("\"stepSeconds\": { \"base\": 0.005 }, " + limit), Conversation);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Matches(@"^error: .*azure-llm-conv-2023\.parquet: request \d+ \(at 2023-11-16T[0-9:.]+Z\) ", stderr);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task A_trace_without_tokens_needs_a_distribution()
    {
        var (exit, _, stderr, _) = await Backtest(Config(), TestPaths.TextbookTrace);

        Assert.Equal(2, exit);
        Assert.Contains("has no input_tokens column and replica.serving.tokens.input gives no distribution", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));

        var drawn = Config(Profile + ", \"tokens\": { \"input\": { \"median\": 300, \"sigma\": 0.5 }, \"output\": { \"histogram\": [[50, 1], [200, 3]] } }");
        var (ok, stdout, err, _) = await Backtest(drawn, TestPaths.TextbookTrace, "--format", "csv");
        Assert.True(ok == 0, err);
        Assert.Contains("ttftP99Seconds", stdout);
    }

    [Theory]
    [InlineData("\"maxWaitSeconds\": 2, \"maxTtftSeconds\": 1", "slo.maxTtftSeconds needs a serving profile")]
    [InlineData("\"targetPercent\": 99", "slo: maxWaitSeconds is required")]
    public async Task Token_slos_need_a_serving_profile(string slo, string expected)
    {
        var config = $$"""{ "slo": { {{slo}} }, "replica": { "capacityRps": 30 }, "candidates": [ { "name": "f", "policy": "fixed", "options": { "replicas": 2 }, "loadTime": { "fixedSeconds": 0 } } ] }""";
        var (exit, _, stderr, _) = await Backtest(config, TestPaths.TextbookTrace);

        Assert.Equal(2, exit);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task A_policy_on_a_serving_signal_needs_a_serving_profile()
    {
        var config = """{ "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 30 }, "candidates": [ { "name": "r", "policy": "reactive", "options": { "metric": "runningPerReplica" }, "loadTime": { "fixedSeconds": 0 } } ] }""";
        var (exit, _, stderr, file) = await Backtest(config, TestPaths.TextbookTrace);

        Assert.Equal(2, exit);
        Assert.StartsWith($"error: {file}: candidates[0].options: the signal \"running\" needs a serving profile", stderr);
    }

    [Fact]
    public async Task The_built_command_replays_a_serving_config_out_of_process()
    {
        var dll = TestPaths.BuiltProgram("Autoscale.Cli");
        var (exit, stdout, stderr) = await TestProcess.RunAsync("dotnet",
            [dll, "backtest", "--trace", Path.Combine("traces", "azure-llm-code-2023.parquet"), "--config", Path.Combine("examples", "llm-serving.json")], TestPaths.Root, TimeSpan.FromMinutes(3));

        Assert.True(exit == 0, stderr);
        Assert.Contains("p99 TTFT s", stdout);
        Assert.Contains("SLO: 99% of requests have their first token within 2 s and take at most 0.1 s per later token.", stdout);
        Assert.DoesNotContain("error", stderr);
    }
}
