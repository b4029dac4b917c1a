using System.Buffers.Binary;
using System.Text.Json;
using System.Text.RegularExpressions;
using Autoscale.Config;
using Autoscale.Backtesting.Engine;
using Autoscale.Traces.Synthesis;
using Autoscale.Traces;
using Autoscale.Policies.Catalog;
using NodaTime;

namespace Autoscale.Tests.Cli;

public sealed class ReportTests
{
    [Fact]
    public async Task A_swept_warm_pool_names_its_knee_and_writes_the_whole_report()
    {
        using var dir = new TempFolder();
        var outDir = Path.Combine(dir.Path, "report");

        var (exit, _, stderr) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace,
            "--config", Path.Combine(TestPaths.Examples, "textbook-sweep.json"), "--out", outDir, "--format", "json");

        Assert.Equal(0, exit);
        Assert.Contains("report.html", stderr);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")));
        var sweep = json.RootElement.GetProperty("sweeps")[0];
        Assert.Equal("warm pool", sweep.GetProperty("name").GetString());
        Assert.Equal("spares=5", sweep.GetProperty("knee").GetString());
        Assert.Equal(9, sweep.GetProperty("rows").GetArrayLength());
        // ceil(delta / c): the spike adds 160 req/s over a 30 req/s replica, so the rule says 6; the
        // regenerated arrivals peak at 218 req/s, which 2 + 5 replicas (210 req/s) absorb with the queue's help.
        Assert.Equal(6, (int)Math.Ceiling(160 / 30.0));

        // Timelines of the winner (the knee), the other end of the sweep and the cold-start failure (the worst, spares=0).
        var files = Directory.GetFiles(outDir).Select(f => Path.GetFileName(f)).Order().ToArray();
        Assert.Equal(["pareto.png", "report.html", "results.csv", "results.json", "sweep-1.png", "timeline-1.png", "timeline-4.png", "timeline-9.png"], files);
        foreach (var png in files.Where(f => f!.EndsWith(".png", StringComparison.Ordinal)))
        {
            var bytes = File.ReadAllBytes(Path.Combine(outDir, png!));
            Assert.Equal([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], bytes[..8]);
            var (width, height) = (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
            Assert.Equal(1100, width);
            Assert.True(height >= 520, $"{png} is {height} px high");
            Assert.True(bytes.Length > 20_000, $"{png} is suspiciously small ({bytes.Length} bytes): no text or lines?");
        }

        var html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        var references = Regex.Matches(html, "(?:src|href)=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(references);
        Assert.All(references, r => Assert.Contains(r, files));
        Assert.DoesNotContain("http", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Knee: <b>spares=5</b>", html);
        Assert.Contains("Winner: warm pool spares=5", html);
        Assert.Contains("Rank 9, warm pool spares=0 (the worst; one end of warm pool)", html);
        Assert.Contains("Rank 1, warm pool spares=5 (the winner; the best textbook; knee of warm pool)", html);
        foreach (var (term, _) in Autoscale.Reporting.ReportText.Glossary)
        {
            Assert.Contains($"<dt>{System.Net.WebUtility.HtmlEncode(term)}</dt>", html);
        }
    }

    [Fact]
    public async Task A_sweep_of_hundreds_gives_a_page_sized_pareto_plot_listing_the_best_forty()
    {
        using var dir = new TempFolder();
        var outDir = Path.Combine(dir.Path, "report");
        var config = dir.Write("wide.json", """
            { "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 30, "dollarsPerGpuHour": 3 },
              "candidates": [ { "name": "w", "policy": "textbook", "sweep": { "spares": { "from": 0, "to": 299 } }, "loadTime": { "fixedSeconds": 25 } } ] }
            """);

        var (exit, _, stderr) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--out", outDir, "--format", "json");

        Assert.True(exit == 0, stderr);
        var bytes = File.ReadAllBytes(Path.Combine(outDir, "pareto.png"));
        var height = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20));
        Assert.InRange(height, 520, 110 + (21 * (Autoscale.Reporting.ReportPlots.MaxLabelled + 3)));
        var results = Enumerable.Range(1, 300).Select(i => new CandidateResult
        {
            Name = $"c{i}",
            Rank = i,
            Requests = 1000,
            Late = 300 - i,
            Dollars = i,
            OnParetoFront = i % 50 == 0,
        }).ToList();
        var plot = Autoscale.Reporting.ReportPlots.Pareto(results, 99).Plot;
        var legend = plot.GetPlottables().SelectMany(p => p.LegendItems).Select(i => i.LabelText).ToList();
        Assert.Contains("260 more (see the table)", legend);
        Assert.Equal(Autoscale.Reporting.ReportPlots.MaxLabelled, legend.Count(l => Regex.IsMatch(l, @"^\d+\. ")));
    }

    [Fact]
    public async Task A_failing_report_leaves_no_folder_behind()
    {
        using var dir = new TempFolder();
        var outDir = Path.Combine(dir.Path, "missing-parent", "report");

        var (exit, _, stderr) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace,
            "--config", Path.Combine(TestPaths.Examples, "textbook.json"), "--out", outDir);

        Assert.Equal(2, exit);
        Assert.StartsWith("error: ", stderr);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Loading_and_idle_dollars_of_the_textbook_runs_follow_by_hand()
    {
        var trace = new TickTrace(Autoscale.Config.Scenarios.TextbookScenario.Start, Duration.FromSeconds(1),
            Autoscale.Traces.Synthesis.TextbookTraffic.Arrivals());
        var cold = Backtest.RunOne(trace, Autoscale.Config.Scenarios.TextbookScenario.Settings, Autoscale.Config.Scenarios.TextbookScenario.Candidate("cold", 0));

        // 122 cold starts, each loading 25 s before it serves: 3,050 replica-seconds at $3 per hour.
        Assert.Equal(122, cold.ColdStarts);
        Assert.Equal(3050, cold.LoadingReplicaSeconds, 9);
        Assert.Equal(3050 * 3.0 / 3600, cold.LoadingDollars, 9);
        // Billed replica-seconds: 2 replicas for 120 s plus each cold start from its start to the end.
        Assert.Equal(cold.ReplicaSeconds * 3.0 / 3600, cold.Dollars, 9);
        Assert.True(cold.IdleDollars < cold.Dollars - cold.LoadingDollars + 1e-9);
    }

    [Fact]
    public void Billing_per_minute_with_a_minimum_rounds_each_lifetime_up()
    {
        var trace = new TickTrace(Instant.FromUtc(2026, 1, 5, 0, 0), Duration.FromSeconds(1), new long[90]);
        var settings = new ReplaySettings(new SloSettings(NodaTime.Duration.FromSeconds(2), 99), new ReplicaSettings(30, 1, 3.6), Duration.FromSeconds(1))
        {
            BillingGranularity = NodaTime.Duration.FromSeconds(60),
            BillingMinimum = NodaTime.Duration.FromSeconds(60),
        };
        var fixedFleet = new CandidateSpec("f", () => new Autoscale.Policies.Fixed.FixedPolicy(new() { Replicas = 3 }), new FixedLoadTime(Duration.Zero));

        var r = Backtest.RunOne(trace, settings, fixedFleet);

        // Three replicas live 90 s, billed 120 s each: 360 s at $0.001 per second.
        Assert.Equal(270, r.ReplicaSeconds, 9);
        Assert.Equal(0.09, r.RoundingDollars, 9);
        Assert.Equal(0.36, r.Dollars, 9);
    }

    [Fact]
    public async Task Exercise_23_6_3_gives_the_daily_idle_cost_of_the_warm_pool()
    {
        // A day with no traffic but a 30-minute spike that needs two 30 req/s replicas.
        using var dir = new TempFolder();
        var start = Instant.FromUtc(2026, 1, 5, 0, 0);
        var options = new SynthOptions
        {
            Start = start, Length = Duration.FromDays(1), MeanRps = 0, Noise = NoiseKind.None,
            Spikes = [new SpikeSpec(start + Duration.FromHours(12), Duration.FromMinutes(30), AddedRps: 60)],
        };
        await TrafficSynthesizer.WriteAsync(options, dir.File("day.parquet"));
        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadFileAsync(Path.Combine(TestPaths.Examples, "exercise-23-6-3.json"));
        await using var reader = await TraceReader.OpenAsync(dir.File("day.parquet"), plan.Settings.Tick);

        var results = await Backtest.RunAsync(reader, plan.Settings, plan.Candidates);

        // 2 replicas x 8 GPUs x $3 per GPU-hour x 23.5 idle hours.
        var pool = results.Single(r => r.Name == "warm pool of 2");
        Assert.Equal(2 * 8 * 3 * 23.5, pool.IdleDollars, 0.01);
        Assert.Equal(0, pool.Violations);
        var slow = results.Single(r => r.Name == "cold path 4 min");
        var fast = results.Single(r => r.Name == "cold path 40 s (streaming + local cache)");
        Assert.True(fast.Violations < slow.Violations, $"{fast.Violations} late on the 40 s path, {slow.Violations} on the 4 min one");
        Assert.True(fast.Dollars < pool.Dollars / 10);
    }
}
