using System.Text.Json;
using Autoscale.Config;
using Autoscale.Backtesting.Engine;
using Autoscale.Traces;
using Autoscale.Cli.Commands;
using Autoscale.Policies.Catalog;
using Autoscale.Tests.Cli;

namespace Autoscale.Tests.Hosting;

public sealed class LiveReplayTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var trace in new[] { "textbook-spike", "azure-llm-code-2023" })
        {
            foreach (var candidate in new[] { "textbook", "fixed 8", "reactive", "warm-floor", "scheduled-floor", "predictive", "floor + predictive" })
            {
                data.Add(trace, candidate);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public Task The_live_loop_on_a_replay_gives_the_backtest_result_exactly(string trace, string candidate) =>
        AssertLiveEqualsBacktest("all-policies.json", trace, candidate);

    /// <summary>The candidate of the example config, replayed on the trace by the backtest and by the live loop: the same result.</summary>
    private static async Task<CandidateSpec> AssertLiveEqualsBacktest(string config, string trace, string candidate)
    {
        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadFileAsync(Path.Combine(TestPaths.Examples, config));
        var spec = plan.Candidates.Single(c => c.Name == candidate);
        var path = Path.Combine(TestPaths.Traces, trace + ".parquet");

        await using var forBacktest = await TraceReader.OpenAsync(path, plan.Settings.Tick);
        CandidateResult backtest;
        if (plan.Settings.Serving is { } profile)
        {
            var workload = await Autoscale.Backtesting.Serving.ServingWorkload.ReadAsync(forBacktest, profile, plan.Settings.Seed, path);
            backtest = Backtest.RunServing(workload, plan.Settings, [spec]).Single();
        }
        else
        {
            backtest = (await Backtest.RunAsync(forBacktest, plan.Settings, [spec])).Single();
        }

        await using var forLive = await TraceReader.OpenAsync(path, plan.Settings.Tick);
        var live = await LiveReplay.RunAsync(forLive, plan.Settings, spec, CancellationToken.None, path);

        Assert.Equal(JsonSerializer.Serialize(backtest with { Rank = 0, OnParetoFront = false }), JsonSerializer.Serialize(live with { Rank = 0, OnParetoFront = false }));
        return spec;
    }

    /// <summary>
    /// A serving config replays live too: the loop reads the serving replay's signals (running requests, KV cache use,
    /// tokens, TTFT) and its result is the backtest's, request by request and as a fluid.
    /// </summary>
    [Theory]
    [InlineData("llm-serving.json", "textbook")]
    [InlineData("llm-serving.json", "reactive on running")]
    [InlineData("llm-serving.json", "reactive on TTFT")]
    [InlineData("llm-serving.json", "predictive")]
    [InlineData("llm-serving.json", "hpa on waiting+running")]
    [InlineData("llm-serving-fluid.json", "reactive on TTFT")]
    [InlineData("llm-serving-fluid.json", "hpa on waiting+running")]
    public Task The_live_loop_on_a_serving_replay_gives_the_backtest_result_exactly(string config, string candidate) =>
        AssertLiveEqualsBacktest(config, "azure-llm-conv-2023", candidate);

    [Fact]
    public async Task A_ray_serve_request_limit_is_kept_when_the_loop_takes_the_policys_seat()
    {
        using var dir = new TempFolder();
        var doc = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.Examples, "llm-serving.json")))!.AsObject();
        doc["candidates"] = System.Text.Json.Nodes.JsonNode.Parse("""
            [ { "name": "ray, 2 per replica", "policy": "ray-serve", "options": { "minReplicas": 2, "maxReplicas": 20, "targetOngoingRequests": 2, "maxOngoingRequests": 2 }, "loadTime": { "fixedSeconds": 60 } },
              { "name": "ray, unlimited", "policy": "ray-serve", "options": { "minReplicas": 2, "maxReplicas": 20, "targetOngoingRequests": 2, "maxOngoingRequests": 1000 }, "loadTime": { "fixedSeconds": 60 } } ]
            """);
        var config = dir.Write("c.json", doc.ToJsonString());
        var trace = Path.Combine(TestPaths.Traces, "azure-llm-conv-2023.parquet");

        // Out of process, from the build users run.
        var dll = TestPaths.BuiltProgram("Autoscale.Cli");
        var backtest = await TestProcess.RunAsync("dotnet", [dll, "backtest", "--trace", trace, "--config", config, "--format", "json"]);
        var means = new List<string>();
        foreach (var candidate in new[] { "ray, 2 per replica", "ray, unlimited" })
        {
            var live = await TestProcess.RunAsync("dotnet", [dll, "live", "--replay", trace, "--config", config, "--candidate", candidate, "--format", "json"]);
            Assert.True(live.Exit == 0, live.Err);
            AssertSameFigures(backtest.Out, live.Out, candidate, "ttftP99Seconds", "ttftMeanSeconds", "kvCacheUtilization");
            means.Add(JsonDocument.Parse(live.Out).RootElement.GetProperty("candidates")[0].GetProperty("ttftMeanSeconds").GetRawText());
        }

        // The limit reached the replay through the loop's seat: it changes the figures.
        Assert.NotEqual(means[0], means[1]);
    }

    /// <summary>The candidate's figures in two JSON reports, field by field.</summary>
    private static void AssertSameFigures(string backtestJson, string liveJson, string candidate, params string[] extra)
    {
        using var l = JsonDocument.Parse(liveJson);
        using var b = JsonDocument.Parse(backtestJson);
        var fromLive = l.RootElement.GetProperty("candidates")[0];
        var fromBacktest = b.RootElement.GetProperty("candidates").EnumerateArray().Single(c => c.GetProperty("name").GetString() == candidate);
        foreach (var field in new[] { "requests", "late", "dropped", "violationPercent", "dollars", "idleDollars", "coldStarts", "peakReplicas", "endReplicas" }.Concat(extra))
        {
            Assert.Equal(fromBacktest.GetProperty(field).GetRawText(), fromLive.GetProperty(field).GetRawText());
        }
    }

    /// <summary>On a cluster too (reclaims, committed nodes, a swept shape), the live loop gives the backtest's result, cluster figures and all.</summary>
    [Theory]
    [InlineData("reactive, 70% spot")]
    [InlineData("warm-floor, 4 committed + on-demand")]
    [InlineData("reactive on replica=l40sx4")]
    public async Task The_live_loop_on_a_cluster_gives_the_backtest_result_exactly(string candidate)
    {
        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadFileAsync(Path.Combine(TestPaths.Examples, "fleet.json"));
        var spec = plan.Candidates.Single(c => c.Name == candidate);
        var path = Path.Combine(TestPaths.Traces, "azure-llm-code-2023.parquet");
        await using var forBacktest = await TraceReader.OpenAsync(path, plan.Settings.Tick);
        var backtest = (await Backtest.RunAsync(forBacktest, plan.Settings, [spec])).Single();
        await using var forLive = await TraceReader.OpenAsync(path, plan.Settings.Tick);
        var live = await LiveReplay.RunAsync(forLive, plan.Settings, spec, CancellationToken.None);
        Assert.NotNull(live.Cluster);
        Assert.Equal(JsonSerializer.Serialize(backtest with { Rank = 0, OnParetoFront = false }), JsonSerializer.Serialize(live with { Rank = 0, OnParetoFront = false }));
    }

    [Theory]
    [InlineData("textbook-spike", "hpa default 90s")]
    [InlineData("azure-llm-code-2023", "hpa default 240s")]
    [InlineData("azure-llm-code-2023", "hpa behavior 90s")]
    [InlineData("textbook-spike", "keda 90s")]
    [InlineData("azure-llm-code-2023", "keda 240s")]
    [InlineData("textbook-spike", "ray-serve 90s")]
    [InlineData("azure-llm-code-2023", "ray-serve 240s")]
    [InlineData("textbook-spike", "knative 90s")]
    [InlineData("azure-llm-code-2023", "knative 240s")]
    public async Task The_live_loop_runs_an_emulated_autoscaler_as_the_backtest_does(string trace, string candidate)
    {
        var spec = await AssertLiveEqualsBacktest("what-you-run-today.json", trace, candidate);

        // Each runs on its own period: the HPA's (and KEDA's HPA's) 15 s sync, every second for Ray Serve's loop and Knative's metrics.
        Assert.Equal(candidate.StartsWith("ray-serve", StringComparison.Ordinal) || candidate.StartsWith("knative", StringComparison.Ordinal) ? 1 : 15, spec.DecisionIntervalTicks);
    }

    [Fact]
    public async Task Live_replay_from_the_command_line_prints_the_backtest_numbers()
    {
        var config = Path.Combine(TestPaths.Examples, "textbook.json");

        var live = await CliRunner.RunAsync("live", "--replay", TestPaths.TextbookTrace, "--config", config, "--candidate", "cold-start autoscaling", "--format", "json");
        var backtest = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--format", "json");

        Assert.Equal(0, live.Exit);
        AssertSameFigures(backtest.Out, live.Out, "cold-start autoscaling", "waitP99Seconds");
        Assert.Equal(6022, JsonDocument.Parse(live.Out).RootElement.GetProperty("candidates")[0].GetProperty("late").GetInt64());
    }

    [Fact]
    public async Task An_unknown_candidate_is_named()
    {
        var config = Path.Combine(TestPaths.Examples, "textbook.json");

        var (exit, _, stderr) = await CliRunner.RunAsync("live", "--replay", TestPaths.TextbookTrace, "--config", config, "--candidate", "nope");

        Assert.Equal(2, exit);
        Assert.Equal($"error: {config}: no candidate named \"nope\" (candidates: cold-start autoscaling, warm pool 6)\n", stderr);
    }
}
