using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Tests.Cli;

namespace Autoscale.Tests.Serving;

/// <summary>Disaggregated pools through the built command, out of process: the example replayed, its report, and bad input.</summary>
public sealed class DisaggregationCliTests
{
    private const string Config = """
        { "slo": { "maxTtftSeconds": 2, "targetPercent": 99 },
          "replica": { "gpus": 1, "dollarsPerGpuHour": 3.0, "serving": {
            "stepSeconds": { "base": 0.01, "perPrefillToken": 0.0001, "perDecodeToken": 0.0001 },
            "maxSequences": 64, "maxBatchedTokens": 4096, "kvCacheTokens": 1000000,
            "disaggregation": { "prefill": {}, "decode": { "dollarsPerGpuHour": 2 }, "kvTransfer": { "bandwidthGBps": 25, "kvBytesPerToken": 131072 } } } },
          "engine": { "serving": "request" },
          "candidates": [ { "name": "pd", "loadTime": { "fixedSeconds": 0 },
            "policies": { "prefill": { "policy": "fixed", "options": { "replicas": 1 } }, "decode": { "policy": "pd-ratio", "options": { "ratio": 2 } } } } ] }
        """;

    private static Task<(int Exit, string Out, string Err)> Cli(params string[] args) =>
        TestProcess.RunAsync("dotnet", [TestPaths.BuiltProgram("Autoscale.Cli"), .. args], TestPaths.Root, TimeSpan.FromMinutes(3));

    [Fact]
    public async Task The_example_replays_both_pools_and_reports_each()
    {
        using var dir = new TempFolder();
        var outDir = Path.Combine(dir.Path, "report");
        var trace = Path.Combine(TestPaths.Root, "traces", "azure-llm-conv-2023.parquet");
        var run = await Cli("backtest", "--trace", trace, "--config", Path.Combine(TestPaths.Root, "examples", "disaggregated.json"), "--format", "json", "--out", outDir);
        Assert.True(run.Exit == 0, run.Err);

        using var doc = JsonDocument.Parse(run.Out);
        var candidates = doc.RootElement.GetProperty("candidates").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.False(candidates["co-located fixed 3"].TryGetProperty("pools", out _));
        foreach (var name in new[] { "P/D fixed 1+2", "P/D fixed 1+3", "P/D HPA on TTFT, both pools", "P/D HPA on TTFT + ratio 3", "P/D dynamo-sla" })
        {
            var c = candidates[name];
            var pools = c.GetProperty("pools");
            var prefill = pools.GetProperty("prefill");
            var decode = pools.GetProperty("decode");
            Assert.Equal(c.GetProperty("dollars").GetDouble(), prefill.GetProperty("dollars").GetDouble() + decode.GetProperty("dollars").GetDouble(), 4);
            Assert.Equal(19_366, c.GetProperty("requests").GetInt64());
            Assert.Equal(19_366, prefill.GetProperty("requests").GetInt64());
            Assert.Equal(c.GetProperty("ttftP99Seconds").GetDouble(), decode.GetProperty("ttftP99Seconds").GetDouble());

            // The prefill pool's first token is the prefill's; the client's comes after the transfer and a decode step.
            Assert.True(prefill.GetProperty("ttftP50Seconds").GetDouble() < decode.GetProperty("ttftP50Seconds").GetDouble());
        }

        // For the dollars of 3 co-located replicas, 1 prefill + 2 decode replicas run out of KV cache for the conversations'
        // long prompts; a third decode replica holds the SLO, and the ratio policy keeps it.
        Assert.Equal(candidates["co-located fixed 3"].GetProperty("dollars").GetDouble(), candidates["P/D fixed 1+2"].GetProperty("dollars").GetDouble(), 1);
        Assert.True(candidates["co-located fixed 3"].GetProperty("meetsSlo").GetBoolean());
        Assert.False(candidates["P/D fixed 1+2"].GetProperty("meetsSlo").GetBoolean());
        Assert.True(candidates["P/D fixed 1+3"].GetProperty("meetsSlo").GetBoolean());
        Assert.True(candidates["P/D HPA on TTFT + ratio 3"].GetProperty("meetsSlo").GetBoolean());
        Assert.Equal(3, candidates["P/D HPA on TTFT + ratio 3"].GetProperty("pools").GetProperty("decode").GetProperty("peakReplicas").GetInt32());

        var html = await File.ReadAllTextAsync(Path.Combine(outDir, "report.html"));
        Assert.Contains("<h3>Prefill and decode pools</h3>", html, StringComparison.Ordinal);
        Assert.Contains("<td class=\"name\">P/D dynamo-sla</td><td class=\"name\">decode</td><td class=\"name\">dynamo-sla</td>", html, StringComparison.Ordinal);
        var csv = (await File.ReadAllLinesAsync(Path.Combine(outDir, "results.csv")))[0].Split(',');
        Assert.Contains("pools.prefill.dollars", csv);
        Assert.Contains("pools.decode.ttftP99Seconds", csv);

        // The terminal table names each pool's figures under the ranking.
        var table = await Cli("backtest", "--trace", trace, "--config", Path.Combine(TestPaths.Root, "examples", "disaggregated.json"));
        Assert.True(table.Exit == 0, table.Err);
        Assert.Contains("P/D fixed 1+3: prefill pool (fixed) $", table.Out, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> BadConfigs => new()
    {
        { "replica.serving.disaggregation.kvTransfer.bandwidthGBps", "0", "replica.serving.disaggregation.kvTransfer.bandwidthGBps: must be in (0, 1000000] (was 0)" },
        { "candidates[0].policies.decode", "null", "candidates[0].policies.decode: is required" },
        { "candidates[0].policies.decode", """{ "options": { "ratio": 2 } }""", "candidates[0].policies.decode.policy: is required" },
        { "candidates[0].policies.decode.options.ratio", "-1", "candidates[0].policies.decode.options.ratio: must be in [0, 1000] (was -1)" },
        { "replica.serving.disaggregation", "null", "candidates[0].policies: scales a disaggregated fleet's pools, and the config has none: give replica.serving.disaggregation (or a single policy)" },
        { "candidates[0].policy", "\"fixed\"", "candidates[0]: policies (one per pool) replaces policy and policyFrom: give one or the other" },
        { "candidates[0].policies.prefill.policy", "\"pd-ratio\"", "candidates[0].policies.prefill.policy: \"pd-ratio\" scales the decode pool from the prefill pool: the prefill pool needs a policy of its own" },
        { "replica.serving.disaggregation.kvTransfer.kvBytesPerToken", "null", "replica.serving.disaggregation.kvTransfer.kvBytesPerToken: is required: the prefill pool names no hardware (model) to derive a token's KV cache bytes from" },
        { "replica.serving.disaggregation.prefill.maxSequences", "0", "replica.serving.disaggregation.prefill.maxSequences: must be in [1, 1000000] (was 0)" },
        { "replica.serving.disaggregation.decode.gpus", "0", "replica.serving.disaggregation.decode.gpus: must be in [1, 4096] (was 0)" },
        { "replica.serving.disaggregation.decode.maxSeqs", "8", "replica.serving.disaggregation.decode.maxSeqs: unknown field (known: blockTokens, dollarsPerGpuHour, drainTimeoutSeconds, gpus, hardware, hashBlockTokens, kvCacheTokens, maxBatchedTokens, maxModelLen, maxSequences, overlapLastStep, perInputTokenOverheadSeconds, perOutputTokenOverheadSeconds, preemption, prefixCaching, requestOverheadSeconds, routing, routingWeights, stepSeconds, warmupSeconds, warmupSlowdown)" },
        { "engine.serving", "\"fluid\"", "engine.serving: candidate \"pd\" scales disaggregated pools, which are replayed request by request: engine.serving must be \"request\"" },
        { "cluster", """{ "nodePools": [ { "name": "p", "gpusPerNode": 8, "dollarsPerNodeHour": 20, "provisionSeconds": 60 } ] }""", "cluster: candidate \"pd\" scales disaggregated pools, which are not replayed on a cluster yet: leave cluster out" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public async Task A_bad_disaggregated_config_is_one_line_and_exit_2(string path, string value, string expected)
    {
        using var dir = new TempFolder();
        var config = dir.Write("pd.json", Set(Config, path, value));
        var outDir = Path.Combine(dir.Path, "out");
        var run = await Cli("backtest", "--trace", Path.Combine(TestPaths.Root, "traces", "azure-llm-conv-2023.parquet"), "--config", config, "--out", outDir);

        Assert.Equal(2, run.Exit);
        Assert.Equal("", run.Out);
        Assert.Equal($"error: {config}: {expected}\n", run.Err.ReplaceLineEndings("\n"));
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task A_pool_policy_named_alone_is_refused()
    {
        using var dir = new TempFolder();
        var config = dir.Write("pd.json", Set(Config, "candidates[0]", """{ "name": "x", "policy": "dynamo-sla", "loadTime": { "fixedSeconds": 0 } }"""));
        var run = await Cli("backtest", "--trace", Path.Combine(TestPaths.Root, "traces", "azure-llm-conv-2023.parquet"), "--config", config);
        Assert.Equal(2, run.Exit);
        Assert.Equal($"error: {config}: candidates[0].policy: \"dynamo-sla\" scales one pool of a disaggregated fleet: name it in policies (policies.prefill or policies.decode), with replica.serving.disaggregation\n", run.Err.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task A_request_that_does_not_fit_a_pool_is_named_before_the_replay()
    {
        using var dir = new TempFolder();
        var config = dir.Write("pd.json", Set(Config, "replica.serving.disaggregation.decode.kvCacheTokens", "1000"));
        var trace = Path.Combine(TestPaths.Root, "traces", "azure-llm-conv-2023.parquet");
        var run = await Cli("backtest", "--trace", trace, "--config", config);
        Assert.Equal(2, run.Exit);
        Assert.Equal($"error: {trace}: request 7 (at 2023-11-16T18:15:54.426Z) needs 91 KV blocks of 16 tokens (1313 input + 142 output), more than replica.serving.disaggregation.decode.kvCacheTokens holds (62 blocks)\n", run.Err.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task The_live_loop_refuses_a_disaggregated_candidate_in_one_line()
    {
        var run = await Cli("live", "--replay", Path.Combine(TestPaths.Root, "traces", "azure-llm-conv-2023.parquet"),
            "--config", Path.Combine(TestPaths.Root, "examples", "disaggregated.json"), "--candidate", "P/D fixed 1+3");
        Assert.Equal(2, run.Exit);
        Assert.Equal("error: policies: candidate \"P/D fixed 1+3\" scales disaggregated pools, which the live loop does not run yet: backtest it\n", run.Err.ReplaceLineEndings("\n"));
    }

    /// <summary><paramref name="json"/> with the value at a dotted path (<c>[i]</c> into lists) set to <paramref name="value"/>; <c>null</c> removes it.</summary>
    private static string Set(string json, string path, string value)
    {
        var root = JsonNode.Parse(json)!;
        var parts = path.Replace("[", ".[", StringComparison.Ordinal).Split('.');
        var node = root;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            node = parts[i].StartsWith('[') ? node[int.Parse(parts[i][1..^1], System.Globalization.CultureInfo.InvariantCulture)]! : node[parts[i]]!;
        }

        var last = parts[^1];
        if (last.StartsWith('['))
        {
            node[int.Parse(last[1..^1], System.Globalization.CultureInfo.InvariantCulture)] = JsonNode.Parse(value);
        }
        else if (value == "null")
        {
            node.AsObject().Remove(last);
        }
        else
        {
            node[last] = JsonNode.Parse(value);
        }

        return root.ToJsonString();
    }
}
