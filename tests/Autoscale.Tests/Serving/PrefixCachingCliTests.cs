using System.Globalization;
using System.Text;
using System.Text.Json;
using Autoscale.Tests.Cli;

namespace Autoscale.Tests.Serving;

/// <summary>Prefix caching through the built command, out of process: a Mooncake trace imported, inspected and replayed, and its bad input.</summary>
public sealed class PrefixCachingCliTests
{
    private const string Config = """
        { "slo": { "maxTtftSeconds": 2, "maxTpotSeconds": 0.1, "targetPercent": 99 },
          "replica": { "gpus": 1, "dollarsPerGpuHour": 3.0, "serving": {
            "stepSeconds": { "base": 0.005, "perPrefillToken": 0.00002, "perDecodeToken": 0.0001 },
            "maxSequences": 64, "maxBatchedTokens": 4096, "kvCacheTokens": 1000000, "routing": "ROUTING", "prefixCaching": CACHING } },
          "engine": { "serving": "request" },
          "candidates": [ { "name": "two", "policy": "fixed", "options": { "replicas": 2 }, "loadTime": { "fixedSeconds": 0 } } ] }
        """;

    /// <summary>
    /// 600 requests, one every 500 ms from 10 s: 6 conversations, each request a 3-block (1,536-token) system prompt of its
    /// conversation, then 1 to 3 blocks of its own; the last hash block is partial (100 tokens).
    /// </summary>
    private static string Mooncake()
    {
        var text = new StringBuilder();
        for (var i = 0; i < 600; i++)
        {
            var conversation = i % 6;
            var own = 1 + (i % 3);
            var hashes = Enumerable.Range(0, 3).Select(k => (conversation * 100) + k).Concat(Enumerable.Range(0, own).Select(k => 10_000 + (i * 10) + k));
            var input = ((3 + own - 1) * 512) + 100;
            text.Append(CultureInfo.InvariantCulture, $$"""{"timestamp": {{10_000 + (i * 500)}}, "input_length": {{input}}, "output_length": 20, "hash_ids": [{{string.Join(", ", hashes)}}]}""").Append('\n');
        }

        return text.ToString();
    }

    private static Task<(int Exit, string Out, string Err)> Cli(params string[] args) =>
        TestProcess.RunAsync("dotnet", [TestPaths.BuiltProgram("Autoscale.Cli"), .. args], TestPaths.Root, TimeSpan.FromMinutes(2));

    [Fact]
    public async Task A_mooncake_trace_imports_inspects_and_replays_with_its_cache_hits()
    {
        using var dir = new TempFolder();
        var jsonl = Path.Combine(dir.Path, "mooncake.jsonl");
        var trace = Path.Combine(dir.Path, "mooncake.parquet");
        await File.WriteAllTextAsync(jsonl, Mooncake());

        var import = await Cli("trace", "import", jsonl, "--format", "mooncake", "--out", trace);
        Assert.True(import.Exit == 0, import.Err);

        var inspect = await Cli("trace", "inspect", trace, "--format", "json");
        Assert.True(inspect.Exit == 0, inspect.Err);
        // Every request after its conversation's first reuses the 1,536 system tokens: 594 x 1,536 over all prompts.
        var prompts = Enumerable.Range(0, 600).Sum(i => (long)(((3 + (i % 3)) * 512) + 100));
        var perfect = 594.0 * 1536 / prompts;
        using (var doc = JsonDocument.Parse(inspect.Out))
        {
            var root = doc.RootElement;
            Assert.Equal(600, root.GetProperty("requests").GetInt64());
            Assert.Equal("2026-01-01T00:00:10Z", root.GetProperty("start").GetString());
            Assert.Equal(Math.Round(perfect, 6), root.GetProperty("reusablePromptShare").GetDouble());
        }

        async Task<JsonElement> Replay(string routing, bool caching)
        {
            var config = Path.Combine(dir.Path, $"{routing}-{caching}.json");
            await File.WriteAllTextAsync(config, Config.Replace("ROUTING", routing).Replace("CACHING", caching ? "true" : "false"));
            var (exit, stdout, stderr) = await Cli("backtest", "--trace", trace, "--config", config, "--format", "json");
            Assert.True(exit == 0, stderr);
            using var doc = JsonDocument.Parse(stdout);
            return doc.RootElement.GetProperty("candidates")[0].Clone();
        }

        var off = await Replay("least-loaded", caching: false);
        var least = await Replay("least-loaded", caching: true);
        var aware = await Replay("prefix-aware", caching: true);
        Assert.False(off.TryGetProperty("prefixCacheHitRate", out _));
        var leastRate = least.GetProperty("prefixCacheHitRate").GetDouble();
        var awareRate = aware.GetProperty("prefixCacheHitRate").GetDouble();

        // No replay reuses more than a perfect cache; prefix-aware routing sends each conversation where its prefix is.
        Assert.InRange(leastRate, 0.01, perfect + 1e-6); // results round to 6 places
        Assert.InRange(awareRate, 0.01, perfect + 1e-6);
        Assert.True(awareRate >= leastRate, $"prefix-aware {awareRate} below least-loaded {leastRate}");
        Assert.True(least.GetProperty("ttftMeanSeconds").GetDouble() < off.GetProperty("ttftMeanSeconds").GetDouble());

        // The terminal table shows the hit rate too, as a percentage.
        var table = await Cli("backtest", "--trace", trace, "--config", Path.Combine(dir.Path, "prefix-aware-True.json"));
        Assert.True(table.Exit == 0, table.Err);
        Assert.Contains("prefix hits", table.Out, StringComparison.Ordinal);
        Assert.Contains((awareRate * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %", table.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"hash_ids\": \"abc\"", "hash_ids", "must be a list of integers")]
    [InlineData("\"hash_ids\": [1, 2.5]", "hash_ids", "must be a list of integers")]
    public async Task Bad_prefix_input_is_one_error_line_naming_the_field(string hashes, string field, string problem)
    {
        using var dir = new TempFolder();
        var jsonl = Path.Combine(dir.Path, "bad.jsonl");
        var trace = Path.Combine(dir.Path, "bad.parquet");
        await File.WriteAllTextAsync(jsonl, $$"""
            {"timestamp": 0, "input_length": 600, "output_length": 5, "hash_ids": [1, 2]}
            {"timestamp": 500, "input_length": 600, "output_length": 5, {{hashes}}}
            """);
        var (exit, _, stderr) = await Cli("trace", "import", jsonl, "--format", "mooncake", "--out", trace);
        Assert.Equal(2, exit);
        Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
        Assert.Contains(field, stderr, StringComparison.Ordinal);
        Assert.Contains(problem, stderr, StringComparison.Ordinal);
        Assert.Contains("row 2", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.False(File.Exists(trace));
    }

    [Fact]
    public async Task Prefix_tokens_above_the_prompt_are_refused()
    {
        using var dir = new TempFolder();
        var csv = Path.Combine(dir.Path, "groups.csv");
        await File.WriteAllTextAsync(csv, "timestamp,input_tokens,output_tokens,prefix_group,prefix_tokens\n2026-01-01T00:00:00Z,100,5,a,50\n2026-01-01T00:00:01Z,100,5,a,150\n");
        var (exit, _, stderr) = await Cli("trace", "import", csv, "--out", Path.Combine(dir.Path, "groups.parquet"));
        Assert.Equal(2, exit);
        Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
        Assert.Contains("prefix_tokens", stderr, StringComparison.Ordinal);
        Assert.Contains("more than the request's 100 input tokens", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"hashBlockTokens\": 500", "replica.serving: hashBlockTokens (500) must be a multiple of blockTokens (16): each hash covers whole KV blocks")]
    [InlineData("\"routing\": \"prefix-awar\"", "replica.serving: routing (\"prefix-awar\") must be \"least-loaded\", \"round-robin\", \"shared-queue\" or \"prefix-aware\"")]
    [InlineData("\"routingWeights\": { \"prefixCache\": 0, \"queueDepth\": 0, \"kvUtilization\": 0 }", "replica.serving: routingWeights: at least one weight must be above 0")]
    [InlineData("\"routingWeights\": { \"prefixCache\": -1 }", "replica.serving.routingWeights.prefixCache: must be in [0, 1000] (was -1)")]
    public async Task Wrong_prefix_settings_are_one_error_line(string setting, string expected)
    {
        using var dir = new TempFolder();
        var config = Path.Combine(dir.Path, "c.json");
        await File.WriteAllTextAsync(config, Config.Replace("\"routing\": \"ROUTING\", \"prefixCaching\": CACHING", setting, StringComparison.Ordinal));
        var (exit, _, stderr) = await CliRunner.RunAsync("backtest", "--trace", Path.Combine(TestPaths.Traces, "azure-llm-conv-2023.parquet"), "--config", config);
        Assert.Equal(2, exit);
        Assert.Equal($"error: {config}: {expected}\n", stderr);
    }
}
