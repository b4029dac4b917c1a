using System.Text.Json.Nodes;
using Autoscale.Traces;
using Xunit;

namespace Autoscale.Tests.Tuning;

/// <summary>
/// <c>autoscale tune</c> as users run it: the built command, out of process, on six days of minute ticks: a manifest's
/// HPA and a reactive policy tuned, the report, the exported manifest, the same bytes on any number of threads and in
/// shards merged, and bad input refused in one line with nothing written.
/// </summary>
public sealed class TuneCliTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public TuneCliTests()
    {
        File.Copy(Path.Combine(TestPaths.Examples, "manifests", "hpa-vllm.yaml"), Path.Combine(_dir.Path, "hpa-vllm.yaml"));
        File.WriteAllText(Config, $$"""
            {
              "slo": { "maxWaitSeconds": 120, "targetPercent": 99.0 },
              "replica": { "capacityRps": 1, "gpus": 1, "dollarsPerGpuHour": 2.0 },
              "engine": { "tickSeconds": 60, "maxReplicas": 500 },
              "report": { "timeZone": "Europe/Berlin" },
              "candidates": [
                { "name": "llm-hpa", "policyFrom": "hpa-vllm.yaml", "metricMap": { "vllm_requests_in_flight": "inFlight" },
                  "loadTime": { "fixedSeconds": 120 }, "decisionIntervalSeconds": 60,
                  "tune": { "metrics[0].pods.target.averageValue": { "from": 2, "to": 64, "log": true },
                            "minReplicas": { "from": 1, "to": 12, "step": 1 } } },
                { "name": "reactive", "policy": "reactive", "loadTime": { "fixedSeconds": 120 }, "decisionIntervalSeconds": 60,
                  "options": { "minReplicas": 2, "maxReplicas": 60 },
                  "tune": { "minReplicas": { "values": [1, 4, 8] }, "targetUtilization": { "values": [0.5, 0.7, 0.9] } } }
              ]
            }
            """);
        var trace = TuneFixture.Daily(6, 3, baseRate: 200, peakRate: 1200, start: NodaTime.Instant.FromUtc(2026, 1, 4, 23, 0));
        ParquetTrace.WriteIntervalCountsAsync(Trace, trace.Start, trace.Tick, trace.Arrivals).GetAwaiter().GetResult();
    }

    private string Config => Path.Combine(_dir.Path, "tune.json");

    private string Trace => Path.Combine(_dir.Path, "days.parquet");

    public void Dispose() => _dir.Dispose();

    private static Task<(int Exit, string Out, string Err)> Cli(params string[] args) =>
        TestProcess.RunAsync("dotnet", [TestPaths.BuiltProgram("Autoscale.Cli"), .. args], timeout: TimeSpan.FromMinutes(3));

    /// <summary>The tune command with 3 training days, 1 held-out day and a budget of 12, each overridden by <paramref name="more"/>.</summary>
    private string[] Tune(params string[] more)
    {
        var args = new List<string> { "tune", "--trace", Trace, "--config", Config };
        foreach (var (option, value) in new[] { ("--train", "3d"), ("--test", "1d"), ("--budget", "12") })
        {
            if (!more.Contains(option))
            {
                args.AddRange([option, value]);
            }
        }

        return [.. args, .. more];
    }

    [Fact]
    public async Task Tunes_writes_the_report_and_exports_the_pick()
    {
        var report = Path.Combine(_dir.Path, "report");
        var (exit, stdout, stderr) = await Cli(Tune("--out", report, "--export", "hpa", "--candidate", "llm-hpa", "--format", "json"));

        Assert.True(exit == 0, stderr);
        var candidate = JsonNode.Parse(stdout)!["candidates"]!.AsArray().Single()!;
        Assert.Equal("llm-hpa", candidate["name"]!.GetValue<string>());
        Assert.Equal("tpe", candidate["search"]!.GetValue<string>());

        // Berlin's first whole day begins at the trace's start (23:00 UTC); six days: folds 0, 1 and 2 of 3 + 1 days, then the last 3 days.
        var folds = candidate["folds"]!.AsArray();
        Assert.Equal(3, folds.Count);
        Assert.Equal("2026-01-04T23:00:00Z", folds[0]!["trainStart"]!.GetValue<string>());
        Assert.Equal("2026-01-07T23:00:00Z", folds[0]!["testStart"]!.GetValue<string>());
        Assert.Equal("2026-01-08T23:00:00Z", folds[1]!["testStart"]!.GetValue<string>());
        foreach (var key in new[] { "dollars", "violationPercent", "meetsSlo", "days", "daysMet" })
        {
            Assert.NotNull(candidate["pick"]!["test"]![key]);
            Assert.NotNull(candidate["baseline"]!["test"]![key]);
            Assert.NotNull(folds[0]!["baselineTest"]![key]);
        }

        Assert.Equal(3, candidate["pick"]!["test"]!["days"]!.GetValue<int>());
        Assert.Equal(3, candidate["pick"]!["train"]!["days"]!.GetValue<int>());
        var saving = candidate["savingPercent"]!.GetValue<double>();
        var interval = candidate["savingInterval"]!.AsArray().Select(v => v!.GetValue<double>()).ToList();
        Assert.True(interval[0] <= saving + 1e-6 && saving <= interval[1] + 1e-6, $"{saving} outside [{interval[0]}, {interval[1]}]");
        var baseline = candidate["baseline"]!["test"]!["dollars"]!.GetValue<double>();
        var pick = candidate["pick"]!["test"]!["dollars"]!.GetValue<double>();
        Assert.Equal(100 * (baseline - pick) / baseline, saving, 3);

        // The baseline is the manifest's own settings; the pick's options are the candidate's, with the tuned ones moved.
        Assert.Equal(2, candidate["baseline"]!["options"]!["minReplicas"]!.GetValue<int>());
        var options = candidate["pick"]!["options"]!;
        Assert.Equal(40, options["maxReplicas"]!.GetValue<int>());
        Assert.Equal(options["minReplicas"]!.GetValue<int>(), candidate["pick"]!["values"]!["minReplicas"]!.GetValue<int>());

        foreach (var file in new[] { "report.html", "results.json", "results.csv", "pick.yaml", "front-llm-hpa.png", "folds-llm-hpa.png", "worst-day-llm-hpa-pick.png", "worst-day-llm-hpa-baseline.png" })
        {
            Assert.True(File.Exists(Path.Combine(report, file)), file);
        }

        Assert.DoesNotContain(Directory.GetFileSystemEntries(_dir.Path), f => Path.GetFileName(f).StartsWith('.'));
        var points = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(report, "results.json")))!["candidates"]![0]!["points"]!.AsArray();
        Assert.True(points.Count >= 4 * 12, $"{points.Count} points");

        // The manifest edited: its name, target and metric kept, the tuned fields moved.
        var manifest = await File.ReadAllTextAsync(Path.Combine(report, "pick.yaml"));
        Assert.Contains("kind: HorizontalPodAutoscaler", manifest, StringComparison.Ordinal);
        Assert.Contains("name: llm-hpa", manifest, StringComparison.Ordinal);
        Assert.Contains("name: vllm_requests_in_flight", manifest, StringComparison.Ordinal);
        Assert.Contains($"minReplicas: {options["minReplicas"]!.GetValue<int>()}\n", manifest, StringComparison.Ordinal);
        var html = await File.ReadAllTextAsync(Path.Combine(report, "report.html"));
        Assert.Contains("The pick's worst held-out day", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_without_out_prints_the_manifest_and_the_table_on_standard_error()
    {
        var (exit, stdout, stderr) = await Cli(Tune("--export", "keda", "--candidate", "reactive"));

        Assert.True(exit == 0, stderr);
        Assert.StartsWith("# Exported by autoscale", stdout, StringComparison.Ordinal);
        Assert.Contains("kind: ScaledObject", stdout, StringComparison.Ordinal);
        Assert.Contains("reactive: the tuned settings", stderr, StringComparison.Ordinal);
        Assert.Contains("fold by fold", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Threads_and_shards_give_the_same_bytes()
    {
        var one = await Cli(Tune("--threads", "1", "--format", "json"));
        var two = await Cli(Tune("--threads", "2", "--format", "json"));
        Assert.True(one.Exit == 0, one.Err);
        Assert.Equal(one.Out, two.Out);

        var parts = Path.Combine(_dir.Path, "parts");
        foreach (var k in new[] { 0, 1, 2 })
        {
            var shard = await Cli(Tune("--shard", $"{k}/3", "--out", parts));
            Assert.True(shard.Exit == 0, shard.Err);
        }

        var merged = await Cli("merge", parts, "--format", "json");
        Assert.True(merged.Exit == 0, merged.Err);
        Assert.Equal(one.Out, merged.Out);

        var csv = await Cli("merge", parts, "--format", "csv", "--out", Path.Combine(_dir.Path, "merged"));
        Assert.True(csv.Exit == 0, csv.Err);
        Assert.StartsWith("candidate,fold,trainStart", csv.Out, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_dir.Path, "merged", "report.html")));
    }

    [Theory]
    [InlineData("\"minReplicas\": { \"from\": 1, \"to\": 8, \"step\": 3 }", "", "candidates[1].tune.minReplicas.step: (3) does not divide the range 1 to 8 into whole steps")]
    [InlineData("\"minReplicas\": { \"from\": 1, \"to\": 8, \"step\": 1 }", "--budget 0", "--budget (0) must be between 1 and 100,000 settings per training window")]
    [InlineData("\"minReplicas\": { \"from\": 1, \"to\": 8, \"step\": 1 }", "--train 6d", "days.parquet: the trace holds 6 whole calendar day(s) in Europe/Berlin from 2026-01-05; --train 6d --test 1d needs at least 7")]
    [InlineData("\"minReplicas\": { \"from\": 1, \"to\": 8, \"step\": 1 }", "--candidate nobody", "--candidate: no candidate named \"nobody\" (candidates: llm-hpa, reactive)")]
    [InlineData("\"targetUtilization\": { \"values\": [0.5, 1.5] }", "", "candidates[1].tune.targetUtilization: 1.5 is not a value the option takes: targetUtilization: must be in (0, 1] (was 1.5)")]
    [InlineData("\"metric\": { \"values\": [1] }", "", "candidates[1].tune.metric: \"metric\" is one of a set of names: only numbers can be tuned")]
    public async Task Bad_input_is_one_line_and_nothing_is_written(string tune, string more, string expected)
    {
        var config = File.ReadAllText(Config).Replace("\"minReplicas\": { \"values\": [1, 4, 8] }, \"targetUtilization\": { \"values\": [0.5, 0.7, 0.9] }", tune, StringComparison.Ordinal);
        File.WriteAllText(Config, config);
        var report = Path.Combine(_dir.Path, "report");
        var (exit, stdout, stderr) = await Cli(Tune(["--out", report, .. more.Split(' ', StringSplitOptions.RemoveEmptyEntries)]));

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.EndsWith(expected, line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(report));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(_dir.Path), f => Path.GetFileName(f).StartsWith('.'));
    }

    /// <summary>A user's own policy class is tuned through its options class, the policy file compiled by the command.</summary>
    [Fact]
    public async Task A_users_own_policy_is_tuned_through_its_options_class()
    {
        var file = Path.Combine(_dir.Path, "Surge.cs");
        File.WriteAllText(file, """
            namespace Contoso.Scaling;

            public sealed class SurgeOptions
            {
                [Option(Min = 0, Max = 50)] public int Spares { get; set; } = 6;
                [Option(Min = 0.1, Max = 1)] public double Target { get; set; } = 0.5;
            }

            public sealed class SurgePolicy(SurgeOptions o) : IScalingPolicy
            {
                public ScalingDecision Decide(in ScalingSignal s) =>
                    new(Math.Min(s.MaxReplicas, (int)Math.Ceiling((s.ArrivalRate + s.QueueDepth / 60.0) / (o.Target * s.CapacityPerReplica)) + o.Spares), "surge");
            }
            """);
        var config = Path.Combine(_dir.Path, "surge.json");
        File.WriteAllText(config, """
            {
              "slo": { "maxWaitSeconds": 120, "targetPercent": 99.0 },
              "replica": { "capacityRps": 1, "gpus": 1, "dollarsPerGpuHour": 2.0 },
              "engine": { "tickSeconds": 60, "maxReplicas": 500 },
              "candidates": [ { "name": "surge", "policy": "SurgePolicy", "loadTime": { "fixedSeconds": 120 }, "decisionIntervalSeconds": 60,
                "tune": { "spares": { "from": 0, "to": 8, "step": 2 }, "target": { "values": [0.5, 0.7, 0.9] } } } ]
            }
            """);

        var (exit, stdout, stderr) = await Cli("tune", "--trace", Trace, "--config", config, "--train", "3d", "--test", "1d", "--policy-file", file, "--format", "csv");

        Assert.True(exit == 0, stderr);
        var all = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single(l => l.StartsWith("surge,all,", StringComparison.Ordinal));
        Assert.Contains("spares=", all, StringComparison.Ordinal);
        Assert.Contains("target=0.9", all, StringComparison.Ordinal);

        // Every setting of the 5 x 3 grid on each of the three windows (in UTC the trace's first and last days are partial:
        // five whole days, two folds and the last three days).
        var (_, json, _) = await Cli("tune", "--trace", Trace, "--config", config, "--train", "3d", "--test", "1d", "--policy-file", file, "--format", "json");
        Assert.Equal(45, JsonNode.Parse(json)!["candidates"]![0]!["evaluations"]!.GetValue<int>());
        Assert.Equal("grid", JsonNode.Parse(json)!["candidates"]![0]!["search"]!.GetValue<string>());

        // The options class's own range is checked before anything runs.
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"to\": 8, \"step\": 2", "\"to\": 80, \"step\": 2", StringComparison.Ordinal));
        var refused = await Cli("tune", "--trace", Trace, "--config", config, "--train", "3d", "--test", "1d", "--policy-file", file);
        Assert.Equal(2, refused.Exit);
        Assert.EndsWith("candidates[0].tune.spares: 52 is not a value the option takes: spares: must be in [0, 50] (was 52)", refused.Err.Trim(), StringComparison.Ordinal);
    }
}
