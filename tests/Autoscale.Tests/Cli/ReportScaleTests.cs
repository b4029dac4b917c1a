using System.Text.Json;
using Autoscale.Backtesting.Engine;
using Autoscale.Traces.Synthesis;
using Autoscale.Traces;
using NodaTime;

namespace Autoscale.Tests.Cli;

/// <summary>Numbers with their scale, warnings a user needs, and a report that shows why losers lose.</summary>
public sealed class ReportScaleTests
{
    [Fact]
    public async Task The_table_names_the_span_and_the_slo_and_gives_dollars_per_hour_and_sweep_knees()
    {
        var (exit, stdout, _) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", Path.Combine(TestPaths.Examples, "textbook-sweep.json"));

        Assert.Equal(0, exit);
        var lines = stdout.Split('\n');
        Assert.StartsWith("Trace ", lines[0], StringComparison.Ordinal);
        Assert.Contains(": 2 min, 2026-01-05 00:00:00 to 2026-01-05 00:02:00 UTC, 12,804 requests.", lines[0], StringComparison.Ordinal);
        Assert.Equal("SLO: 99% of requests start within 2 s.", lines[1]);
        Assert.Contains("$ total", stdout, StringComparison.Ordinal);
        Assert.Contains("$/hour", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("$/day", stdout, StringComparison.Ordinal);
        Assert.Contains("peak replicas", stdout, StringComparison.Ordinal);
        Assert.Contains("end replicas", stdout, StringComparison.Ordinal);
        // spares=5: 7 replicas x $3 per hour = $21 per hour, $0.70 over the 2 minutes.
        Assert.Matches(@"warm pool spares=5 \(winner\) \* .*0\.70 .*21\.00", stdout);
        Assert.Contains("Sweep warm pool: knee spares=5, the cheapest value that meets the SLO ($0.70 total, 0% violations); first without violations: spares=5.", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_single_candidate_that_misses_the_slo_is_not_called_the_winner()
    {
        var (exit, stdout, _) = await CliRunner.RunAsync("live", "--replay", TestPaths.TextbookTrace, "--config", Path.Combine(TestPaths.Examples, "textbook.json"),
            "--candidate", "cold-start autoscaling");

        Assert.Equal(0, exit);
        Assert.DoesNotContain("winner", stdout, StringComparison.Ordinal);
        Assert.Contains("No candidate meets the SLO; the best ranked is cold-start autoscaling (47.032% violations).", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hitting_engine_max_replicas_is_a_warning_under_the_table_and_in_results_json()
    {
        using var dir = new TempFolder();
        var config = dir.Write("c.json", """
            { "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 30 }, "engine": { "maxReplicas": 5 },
              "candidates": [ { "name": "cold", "policy": "textbook", "options": { "baseReplicas": 2 }, "loadTime": { "fixedSeconds": 25 } } ] }
            """);

        var table = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config);
        var json = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--format", "json");

        Assert.Contains("warning: cold: reached engine.maxReplicas (5) in 99 of 120 decisions (82.5%), from 2026-01-05T00:00:21Z", table.Out, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(json.Out);
        var warning = Assert.Single(document.RootElement.GetProperty("warnings").EnumerateArray()).GetString();
        Assert.StartsWith("cold: reached engine.maxReplicas (5)", warning, StringComparison.Ordinal);
        Assert.Single(document.RootElement.GetProperty("candidates")[0].GetProperty("warnings").EnumerateArray());
        Assert.Contains("warning: cold: reached engine.maxReplicas (5)", json.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Seeds_with_nothing_random_say_so()
    {
        var (exit, stdout, _) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", Path.Combine(TestPaths.Examples, "textbook.json"), "--seeds", "3");

        Assert.Equal(0, exit);
        Assert.Contains("warning: --seeds 3: every seed gave every candidate the same results", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_floor_that_never_sets_a_decision_is_named_with_the_shares_of_its_parts()
    {
        using var dir = new TempFolder();
        var config = dir.Write("c.json", """
            { "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 30 },
              "candidates": [
                { "name": "useless floor", "policy": "scheduled-floor",
                  "options": { "minReplicas": 2, "schedule": [ { "days": "*", "from": "00:00", "to": "24:00", "minReplicas": 1 } ] },
                  "loadTime": { "fixedSeconds": 25 } },
                { "name": "useless part", "policy": "max",
                  "options": { "policies": [ { "policy": "fixed", "options": { "replicas": 1 } }, { "policy": "fixed", "options": { "replicas": 3 } } ] },
                  "loadTime": { "fixedSeconds": 25 } } ] }
            """);

        var (exit, stdout, _) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config);

        Assert.Equal(0, exit);
        Assert.Contains("warning: useless floor: the schedule never set a decision of scheduled-floor alone, so leaving it out changes no decision (decisions set by the schedule 0% (0), the reactive part 100% (120), ties 0% (0))", stdout, StringComparison.Ordinal);
        Assert.Contains("warning: useless part: part 1 (fixed) never set a decision of max alone, so leaving it out changes no decision (decisions set by part 1 (fixed) 0% (0), part 2 (fixed) 100% (120), ties 0% (0))", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void A_timeline_of_a_long_trace_keeps_the_worst_hour_in_10_second_steps()
    {
        // Two days of 10 req/s with a 10-minute spike to 200 req/s at 30:20; a fixed fleet of five 30 req/s replicas.
        var arrivals = new long[2 * 86_400];
        Array.Fill(arrivals, 10);
        for (var t = 30 * 3600 + 1200; t < 30 * 3600 + 1800; t++)
        {
            arrivals[t] = 200;
        }

        var trace = new TickTrace(Instant.FromUtc(2026, 1, 5, 0, 0), Duration.FromSeconds(1), arrivals);
        var settings = new ReplaySettings(new SloSettings(NodaTime.Duration.FromSeconds(2), 99), new ReplicaSettings(30, 1, 3), Duration.FromSeconds(1));
        var spec = new CandidateSpec("five", () => new Autoscale.Policies.Fixed.FixedPolicy(new() { Replicas = 5 }), new FixedLoadTime(Duration.Zero));

        var result = Backtest.Run(trace, settings, [spec], timelinePoints: 1500).Single();

        var zoom = Assert.IsType<Timeline>(result.Timeline.Zoom);
        Assert.Equal(10, zoom.BucketSeconds);
        Assert.Equal(360, zoom.Points.Count);
        Assert.Equal(30 * 3600, zoom.Points[0].StartSeconds);
        Assert.Equal(result.WorstHourStartSeconds, zoom.Points[0].StartSeconds);
        Assert.Equal(result.WorstHourViolations, zoom.Points.Sum(p => p.Violations));
        Assert.Null(Backtest.Run(new TickTrace(trace.Start, trace.Tick, arrivals[..3600]), settings, [spec], timelinePoints: 1500).Single().Timeline.Zoom);
    }

    [Fact]
    public async Task A_report_of_a_long_trace_zooms_on_each_worst_hour_and_replaces_an_earlier_report()
    {
        using var dir = new TempFolder();
        var start = Instant.FromUtc(2026, 1, 5, 0, 0);
        await TrafficSynthesizer.WriteAsync(new SynthOptions
        {
            Start = start, Length = Duration.FromDays(2), MeanRps = 20, Noise = NoiseKind.None,
            Spikes = [new SpikeSpec(start + Duration.FromHours(30), Duration.FromMinutes(5), AddedRps: 300)],
        }, dir.File("two-days.parquet"));
        var outDir = dir.File("report");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "timeline-7.png"), "a plot of an earlier report");
        File.WriteAllText(Path.Combine(outDir, "notes.txt"), "mine");
        File.WriteAllText(Path.Combine(outDir, "shard-0-of-2.json"), "{}");

        var (exit, _, stderr) = await CliRunner.RunAsync("backtest", "--trace", dir.File("two-days.parquet"), "--config", Path.Combine(TestPaths.Examples, "textbook.json"), "--out", outDir);

        Assert.True(exit == 0, stderr);
        var files = Directory.GetFiles(outDir).Select(f => Path.GetFileName(f)!).Order().ToArray();
        Assert.Equal(["notes.txt", "pareto.png", "report.html", "results.csv", "results.json", "shard-0-of-2.json", "timeline-1-zoom.png", "timeline-1.png", "timeline-2-zoom.png", "timeline-2.png"], files);
        Assert.Contains("its worst hour, from 2026-01-06 06:00:00 UTC, in 10-second steps", File.ReadAllText(Path.Combine(outDir, "report.html")), StringComparison.Ordinal);
        Assert.Contains("$/day", File.ReadAllText(Path.Combine(outDir, "report.html")), StringComparison.Ordinal);
    }
}
