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
        var backtest = (await Backtest.RunAsync(forBacktest, plan.Settings, [spec])).Single();
        await using var forLive = await TraceReader.OpenAsync(path, plan.Settings.Tick);
        var live = await LiveReplay.RunAsync(forLive, plan.Settings, spec, CancellationToken.None);

        Assert.Equal(backtest with { Rank = 0, OnParetoFront = false }, live with { Rank = 0, OnParetoFront = false });
        return spec;
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
        using var l = JsonDocument.Parse(live.Out);
        using var b = JsonDocument.Parse(backtest.Out);
        var fromLive = l.RootElement.GetProperty("candidates")[0];
        var fromBacktest = b.RootElement.GetProperty("candidates").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "cold-start autoscaling");
        foreach (var field in new[] { "requests", "late", "dropped", "violationPercent", "dollars", "idleDollars", "coldStarts", "peakReplicas", "endReplicas", "waitP99Seconds" })
        {
            Assert.Equal(fromBacktest.GetProperty(field).GetRawText(), fromLive.GetProperty(field).GetRawText());
        }

        Assert.Equal(6022, fromLive.GetProperty("late").GetInt64());
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
