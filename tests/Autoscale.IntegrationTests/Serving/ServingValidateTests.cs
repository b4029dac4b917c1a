using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Tests.Hostile.Fuzz;
using Xunit;

namespace Autoscale.Tests.Serving;

/// <summary>
/// <c>serving validate</c>: benchmark runs (vLLM's result JSON, inference-perf report folders) replayed with a config's
/// profile and compared, through the built command. The runs are written for the tests: one whose figures are the
/// replay's own (so the errors must be near 0), and summaries of made-up servers.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ServingValidateTests
{
    private const string Config = """
        { "replica": { "serving": { "hardware": { "model": "llama-3.1-8b", "gpu": "H100-SXM" }, "maxSequences": 128, "maxBatchedTokens": 2048 } } }
        """;

    /// <summary>A detailed vLLM result whose per-request times are the replay's of <paramref name="configFile"/> (a run of 300 requests at 5 req/s).</summary>
    private static string SelfMeasured(string configFile, int seed = 7, double rate = 5.0)
    {
        var random = new Random(seed);
        var input = Enumerable.Range(0, 300).Select(_ => random.Next(100, 3000)).ToArray();
        var output = Enumerable.Range(0, 300).Select(_ => random.Next(2, 400)).ToArray();
        var placeholder = new JsonObject
        {
            ["num_prompts"] = 300, ["completed"] = 300, ["request_rate"] = rate, ["burstiness"] = 1.0,
            ["input_lens"] = new JsonArray(input.Select(i => (JsonNode)i).ToArray()), ["output_lens"] = new JsonArray(output.Select(o => (JsonNode)o).ToArray()),
            ["mean_ttft_ms"] = 1.0,
        };
        var run = Autoscale.Config.Benchmarks.BenchmarkRuns.Read(WriteTemp(placeholder.ToJsonString()))[0];
        var profile = Autoscale.Config.Benchmarks.ServingValidation.LoadProfile(configFile);
        var replay = new Autoscale.Backtesting.Serving.ServingRun(ServingFixtures.Fixed(1), ServingFixtures.Settings(profile, maxTtft: 3600, drainSeconds: 86_400),
            Autoscale.Backtesting.Serving.ServingWorkload.FromRequests(NodaTime.Instant.FromUtc(2026, 1, 1, 0, 0), NodaTime.Duration.FromSeconds(1), (run.ArrivalNanos[^1] / 1_000_000_000) + 1, run.ArrivalNanos, run.Input, run.Output, profile),
            recordRequests: true);
        replay.Run();
        var ttfts = new JsonArray();
        var itls = new JsonArray();
        for (var r = 0; r < 300; r++)
        {
            var ttft = (replay.FirstTokenAt(r) - run.ArrivalNanos[r]) / 1e9;
            var gap = output[r] > 1 ? (replay.EndAt(r) - replay.FirstTokenAt(r)) / 1e9 / (output[r] - 1) : 0;
            ttfts.Add(ttft);
            itls.Add(new JsonArray(Enumerable.Repeat(gap, Math.Max(0, output[r] - 1)).Select(g => (JsonNode)g).ToArray()));
        }

        placeholder["ttfts"] = ttfts;
        placeholder["itls"] = itls;
        placeholder["errors"] = new JsonArray(Enumerable.Repeat("", 300).Select(e => (JsonNode)e).ToArray());
        return placeholder.ToJsonString();
    }

    private static string WriteTemp(string text)
    {
        var file = Path.Combine(Path.GetTempPath(), $"autoscale-vllm-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, text);
        return file;
    }

    [Fact]
    public async Task A_run_measured_as_the_replay_predicts_it_validates_with_errors_near_zero_and_a_slower_profile_errs_high()
    {
        using var dir = new TempFolder();
        var config = dir.Write("c.json", Config);
        var result = dir.Write("result.json", SelfMeasured(config));
        var slower = dir.Write("slow.json", Config.Replace("\"maxSequences\"", "\"stepSeconds\": { \"perDecodeToken\": 0.0005 }, \"maxSequences\"", StringComparison.Ordinal));

        var same = await FuzzCli.RunAsync("serving", "validate", "--config", config, "--benchmark", result, "--format", "json");
        var off = await FuzzCli.RunAsync("serving", "validate", "--config", slower, "--benchmark", result, "--format", "json");
        var table = await FuzzCli.RunAsync("serving", "validate", "--config", config, "--benchmark", result);

        Assert.True(same.Exit == 0, same.Err);
        var errors = JsonNode.Parse(same.Out)!["runs"]![0]!["errorPercent"]!.AsObject();
        foreach (var (name, value) in errors)
        {
            Assert.True(Math.Abs(value!.GetValue<double>()) < 0.5, $"{name}: {value}");
        }

        Assert.True(JsonNode.Parse(off.Out)!["runs"]![0]!["errorPercent"]!["e2eMeanSeconds"]!.GetValue<double>() > 20, off.Out);
        Assert.Contains("median absolute error over 1 run: TTFT mean 0.0 %, E2E mean 0.0 %", table.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_inference_perf_folder_gives_a_run_per_stage_and_overloaded_runs_are_named_and_left_out()
    {
        using var dir = new TempFolder();
        var folder = Path.Combine(dir.Path, "ip");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.yaml"), "load:\n  type: constant\n  stages:\n  - rate: 2\n    duration: 60\n  - rate: 40\n    duration: 60\n");
        for (var i = 0; i < 2; i++)
        {
            var (count, rate, achieved) = i == 0 ? (120, 2, 2.0) : (2400, 40, 21.5);
            File.WriteAllText(Path.Combine(folder, $"stage_{i}_lifecycle_metrics.json"), string.Create(CultureInfo.InvariantCulture, $$$"""
                {"load_summary": {"count": {{{count}}}, "requested_rate": {{{rate}}}, "achieved_rate": {{{achieved}}}},
                 "successes": {"count": 120, "latency": {"time_to_first_token": {"mean": 0.05, "median": 0.045, "p90": 0.07, "p99": 0.1},
                   "request_latency": {"mean": 1.5, "median": 1.4, "p90": 2.5, "p99": 3.0}, "inter_token_latency": {"mean": 0.008}},
                   "prompt_len": {"mean": 800, "min": 100, "median": 700, "p90": 1500, "max": 2000}, "output_len": {"mean": 150, "min": 10, "median": 140, "p90": 300, "max": 500}},
                 "failures": {"count": 0}}
                """));
        }

        var run = await FuzzCli.RunAsync("serving", "validate", "--config", dir.Write("c.json", Config), "--benchmark", folder, "--format", "json");

        Assert.True(run.Exit == 0, run.Err);
        var doc = JsonNode.Parse(run.Out)!;
        Assert.Equal("ip/stage_0", doc["runs"]![0]!["name"]!.ToString());
        Assert.Equal(120, doc["runs"]![0]!["requests"]!.GetValue<int>());
        Assert.Equal(0.05, doc["runs"]![0]!["measured"]!["ttftMeanSeconds"]!.GetValue<double>());
        Assert.Single(doc["runs"]!.AsArray());
        Assert.Equal("achieved 21.5 req/s of the 40 requested", doc["leftOut"]![0]!["reason"]!.ToString());
    }

    [Theory]
    [InlineData("{\"a\": 1}", "has neither ttfts nor mean_ttft_ms (expected vLLM's benchmark_serving --save-result JSON")]
    [InlineData("not json", "is not JSON")]
    public async Task A_benchmark_file_of_neither_format_is_one_error_line(string text, string expected)
    {
        using var dir = new TempFolder();
        var run = await FuzzCli.RunAsync("serving", "validate", "--config", dir.Write("c.json", Config), "--benchmark", dir.Write("b.json", text));

        Assert.Equal(2, run.Exit);
        Assert.Equal("", run.Out);
        Assert.Single(run.Err.TrimEnd().Split('\n'));
        Assert.Contains(expected, run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_config_without_a_serving_profile_is_one_error_line()
    {
        using var dir = new TempFolder();
        var run = await FuzzCli.RunAsync("serving", "validate", "--config", dir.Write("c.json", "{ \"replica\": { \"capacityRps\": 2 } }"), "--benchmark", dir.Write("b.json", "{\"mean_ttft_ms\": 1, \"num_prompts\": 2}"));

        Assert.Equal(2, run.Exit);
        Assert.Contains("replica.serving: must be given", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serving_fit_recovers_a_calibration_from_runs_of_one_model_and_predicts_another()
    {
        using var dir = new TempFolder();

        // The "real" servers: the hardware model with factors unlike BLIS's (slower prefill, a longer time before the queue).
        const string truth = "\"calibration\": { \"prefillCompute\": 0.4, \"requestOverheadSeconds\": 0.03, \"weightLoad\": 1.1 }";
        string Server(string model, string extra = "") => $$"""{ "replica": { "serving": { "hardware": { "model": "{{model}}", "gpu": "H100-SXM"{{extra}} }, "maxSequences": 128, "maxBatchedTokens": 2048 } } }""";
        var llamaTrue = dir.Write("llama-true.json", Server("llama-3.1-8b", ", " + truth));
        var qwenTrue = dir.Write("qwen-true.json", Server("qwen3-14b", ", " + truth));
        var llama = dir.Write("llama.json", Server("llama-3.1-8b"));
        var qwen = dir.Write("qwen.json", Server("qwen3-14b"));
        var runA = dir.Write("llama-a.json", SelfMeasured(llamaTrue, seed: 1, rate: 3));
        var runB = dir.Write("llama-b.json", SelfMeasured(llamaTrue, seed: 2, rate: 8));
        var held = dir.Write("qwen-a.json", SelfMeasured(qwenTrue, seed: 3, rate: 4));
        var runs = dir.Write("runs.json", """{ "runs": [ { "config": "llama.json", "benchmark": "llama-a.json" }, { "config": "llama.json", "benchmark": "llama-b.json" } ] }""");
        var holdout = dir.Write("holdout.json", """{ "runs": [ { "config": "qwen.json", "benchmark": "qwen-a.json" } ] }""");

        var fit = await FuzzCli.RunAsync("serving", "fit", "--runs", runs, "--holdout", holdout);

        Assert.True(fit.Exit == 0, fit.Err);
        var calibration = JsonNode.Parse(fit.Out)!["hardware"]!["calibration"]!;
        Assert.Contains("held out qwen-a.json", fit.Err, StringComparison.Ordinal);
        var after = System.Text.RegularExpressions.Regex.Match(fit.Err, @"RMS error ([0-9.]+) % before, ([0-9.]+) % after");
        Assert.True(after.Success && double.Parse(after.Groups[2].Value, CultureInfo.InvariantCulture) < 3, fit.Err);

        // The fitted factors, pasted into the other model's config, predict its run.
        var fitted = dir.Write("qwen-fitted.json", Server("qwen3-14b", ", \"calibration\": " + calibration.ToJsonString()));
        var check = await FuzzCli.RunAsync("serving", "validate", "--config", fitted, "--benchmark", held, "--format", "json");
        Assert.True(check.Exit == 0, check.Err);
        var errors = JsonNode.Parse(check.Out)!["runs"]![0]!["errorPercent"]!;
        Assert.True(Math.Abs(errors["e2eMeanSeconds"]!.GetValue<double>()) < 5 && Math.Abs(errors["ttftMeanSeconds"]!.GetValue<double>()) < 10, check.Out);
        var before = await FuzzCli.RunAsync("serving", "validate", "--config", qwen, "--benchmark", held, "--format", "json");
        Assert.True(Math.Abs(JsonNode.Parse(before.Out)!["runs"]![0]!["errorPercent"]!["ttftMeanSeconds"]!.GetValue<double>()) > 20, before.Out);
    }

    [Fact]
    public async Task A_bad_runs_file_is_one_error_line()
    {
        using var dir = new TempFolder();
        var run = await FuzzCli.RunAsync("serving", "fit", "--runs", dir.Write("runs.json", """{ "runs": [ { "benchmark": "x.json" } ] }"""));

        Assert.Equal(2, run.Exit);
        Assert.Contains("runs[0].config must be given (a path)", run.Err, StringComparison.Ordinal);
    }
}
