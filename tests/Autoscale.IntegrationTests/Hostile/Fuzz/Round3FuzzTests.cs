using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace Autoscale.Tests.Hostile.Fuzz;

/// <summary>
/// The fuzzing suite for the third hostile round's paths, in the style of <see cref="FuzzTests"/>: seeded generators
/// (<see cref="Round3Gen"/>), each case the built command as its own process under <see cref="FuzzCli"/>'s heap and time
/// limits. Success must give figures that can be true (requests conserved, utilisation a share, latency percentiles in
/// order and absent when nothing was measured, dollars finite with their parts within the whole); a refusal is one
/// <c>error:</c> line with exit 2. <c>AUTOSCALE_FUZZ_SEED</c> and <c>AUTOSCALE_FUZZ_SCALE</c> run others and more.
/// </summary>
[Trait("Category", "Slow")]
public sealed class Round3FuzzTests(ITestOutputHelper output)
{
    /// <summary>Generated cases per test in CI.</summary>
    public const int ServingCases = 40, ClusterCases = 30, ManifestCases = 60, BenchmarkCases = 40, PartCases = 30;

    private static T[] Cases<T>(Gen<T> generator, int count, ulong salt) =>
        Gen.Sample(generator, FuzzCli.Cases(count), new Rnd(FuzzCli.Seed * 37 + salt), 30);

    [Fact]
    public Task Generated_serving_configs_replay_with_figures_that_can_be_true_or_are_refused_in_one_line() =>
        ReplayAsync("serving configs", Round3Gen.ServingConfig, ServingCases, 1, CheckServing);

    [Fact]
    public Task Generated_cluster_configs_replay_with_figures_that_can_be_true_or_are_refused_in_one_line() =>
        ReplayAsync("cluster configs", Round3Gen.ClusterConfig, ClusterCases, 2, CheckParts);

    /// <summary>Backtests each generated config on the textbook trace: a refusal in one line, or figures <paramref name="check"/> finds true.</summary>
    private async Task ReplayAsync(string kind, Gen<string> configs, int count, ulong salt, Action<FuzzRun, string> check)
    {
        var tally = new FuzzTally(kind, output);
        await Task.WhenAll(Cases(configs, count, salt).Select(async (config, i) =>
        {
            using var dir = new TempFolder();
            var run = await FuzzCli.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", dir.Write("c.json", config), "--format", "json");
            var input = $"{kind} case {i}: {config}";
            var succeeded = FuzzCli.Judge(run, input, dir.Path);
            if (succeeded)
            {
                FuzzCli.CheckBacktest(run, input, 12_804);
                check(run, input);
            }

            tally.Add(succeeded, run.Err);
        }));
        tally.AssertMixed();
    }

    [Fact]
    public async Task Generated_manifests_import_to_candidates_or_are_refused_in_one_line()
    {
        var tally = new FuzzTally("manifests", output);
        await Task.WhenAll(Cases(Round3Gen.Manifest, ManifestCases, 3).Select(async (manifest, i) =>
        {
            using var dir = new TempFolder();
            var run = await FuzzCli.RunAsync("policy", "import", dir.Write("m.yaml", manifest));
            var input = $"manifest case {i}:\n{manifest}";
            var succeeded = run.Exit == 0 ? ImportSucceeded(run, input) : FuzzCli.Judge(run, input, dir.Path);
            tally.Add(succeeded, run.Err);
        }));
        tally.AssertMixed(0.1);
    }

    [Fact]
    public async Task Generated_benchmarks_fit_a_profile_in_range_or_are_refused_in_one_line()
    {
        var tally = new FuzzTally("benchmarks", output);
        await Task.WhenAll(Cases(Round3Gen.Benchmark, BenchmarkCases, 4).Select(async (csv, i) =>
        {
            using var dir = new TempFolder();
            var run = await FuzzCli.RunAsync("serving", "fit", "--benchmark", dir.Write("b.csv", csv));
            var input = $"benchmark case {i}:\n{csv}";
            bool succeeded;
            if (run.Exit == 0)
            {
                Assert.False(run.Err.Contains("error:", StringComparison.Ordinal), $"exit 0 with an error line: {input}\n{run.Err}");
                var step = JsonNode.Parse(run.Out)!["stepSeconds"]!;
                var (b, p, d) = (step["base"]!.GetValue<double>(), step["perPrefillToken"]!.GetValue<double>(), step["perDecodeToken"]!.GetValue<double>());
                Assert.True(b is > 0 and <= 60 && p is >= 0 and <= 1 && d is >= 0 and <= 1, $"a fitted profile out of range ({b}, {p}, {d}): {input}");
                succeeded = true;
            }
            else
            {
                succeeded = FuzzCli.Judge(run, input, dir.Path);
            }

            tally.Add(succeeded, run.Err);
        }));
        tally.AssertMixed();
    }

    [Fact]
    public async Task Tampered_parts_merge_into_figures_that_can_be_true_or_are_refused_in_one_line()
    {
        using var made = new TempFolder();
        var shard = await FuzzCli.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", Path.Combine(TestPaths.Examples, "textbook.json"), "--shard", "0/1", "--out", made.File("parts"));
        Assert.True(FuzzCli.Judge(shard, "shard"), shard.Err);
        var part = await File.ReadAllTextAsync(made.File("parts/shard-0-of-1.json"));

        var tally = new FuzzTally("tampered parts", output);
        await Task.WhenAll(Cases(Round3Gen.PartChange, PartCases, 5).Select(async (change, i) =>
        {
            using var dir = new TempFolder();
            var json = JsonNode.Parse(part)!;
            var result = json["results"]![i % 2]!;
            result[change.Field] = JsonNode.Parse(change.Value);
            var run = await FuzzCli.RunAsync("merge", dir.Write("shard-0-of-1.json", json.ToJsonString()), "--format", "json");
            var input = $"part case {i}: {change.Field} = {change.Value}";
            var succeeded = FuzzCli.Judge(run, input, dir.Path);
            if (succeeded)
            {
                FuzzCli.CheckBacktest(run, input, 12_804);
                CheckParts(run, input);
            }

            tally.Add(succeeded, run.Err);
        }));
        tally.AssertMixed(0.05);
    }

    /// <summary>An import printed one candidate or <c>{"candidates": [...]}</c>, each with a name, a policy and options; notes only on standard error.</summary>
    private static bool ImportSucceeded(FuzzRun run, string input)
    {
        Assert.False(run.Err.Contains("error", StringComparison.OrdinalIgnoreCase), $"exit 0 with an error printed: {input}\n{run.Err}");
        using var json = JsonDocument.Parse(run.Out);
        var candidates = json.RootElement.TryGetProperty("candidates", out var list) ? list.EnumerateArray().ToList() : [json.RootElement];
        Assert.NotEmpty(candidates);
        foreach (var candidate in candidates)
        {
            Assert.True(candidate.GetProperty("name").GetString() is { Length: > 0 }, input);
            Assert.True(candidate.GetProperty("policy").GetString() is "hpa" or "keda" or "knative" or "ray-serve", input);
            Assert.Equal(JsonValueKind.Object, candidate.GetProperty("options").ValueKind);
        }

        Assert.Equal(candidates.Count, candidates.Select(c => c.GetProperty("name").GetString()).Distinct().Count());
        return true;
    }

    /// <summary>Every candidate's parts of its dollars and replica-seconds are within the whole, its worst hour within its violations.</summary>
    private static void CheckParts(FuzzRun run, string input)
    {
        using var json = JsonDocument.Parse(run.Out);
        foreach (var c in json.RootElement.GetProperty("candidates").EnumerateArray().Where(c => c.TryGetProperty("dollars", out _)))
        {
            double N(string f) => c.TryGetProperty(f, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : 0;
            var where = $"{c.GetProperty("name")}: {input}";
            Assert.True(N("idleDollars") <= (N("dollars") * 1.000001) + 1e-6 && N("loadingDollars") <= (N("dollars") * 1.000001) + 1e-6, $"dollars' parts above the whole: {where}");
            Assert.True(N("worstHourViolations") <= N("violations") && N("worstMinuteViolations") <= N("worstHourViolations"), $"worst windows beyond the violations: {where}");
            Assert.True(N("waitP50Seconds") <= N("waitP95Seconds") && N("waitP95Seconds") <= N("waitP99Seconds") && N("waitP99Seconds") <= N("waitMaxSeconds"), $"wait percentiles out of order: {where}");
            Assert.True(N("endReplicas") <= N("peakReplicas"), $"more replicas at the end than at the peak: {where}");
        }
    }

    /// <summary>Serving figures that can be true: KV use a share, percentiles in order, none where nothing was measured.</summary>
    private static void CheckServing(FuzzRun run, string input)
    {
        CheckParts(run, input);
        using var json = JsonDocument.Parse(run.Out);
        foreach (var c in json.RootElement.GetProperty("candidates").EnumerateArray().Where(c => c.TryGetProperty("kvCacheUtilization", out _)))
        {
            double? N(string f) => c.TryGetProperty(f, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
            var where = $"{c.GetProperty("name")}: {input}";
            Assert.True(N("kvCacheUtilization") is >= 0 and <= 1, $"KV use {N("kvCacheUtilization")} is no share: {where}");
            Assert.True(Ordered(N("ttftP50Seconds"), N("ttftP90Seconds"), N("ttftP99Seconds")) && Ordered(N("tpotP50Seconds"), N("tpotP99Seconds")) && Ordered(N("e2eP50Seconds"), N("e2eP99Seconds")),
                $"latency percentiles out of order: {where}");
            if (N("served") == 0)
            {
                Assert.True(N("tpotP50Seconds") is null && N("dollarsPerMillionTokens") is null, $"a time or cost per token for a fleet that served nothing: {where}");
            }

            Assert.True(N("ttftP50Seconds") is null or > 0, $"a first token in no time: {where}");
        }
    }

    /// <summary>Whether the given percentiles rise (an absent one, null, is infinite: a dropped request's, or none at all).</summary>
    private static bool Ordered(params double?[] percentiles)
    {
        for (var i = 1; i < percentiles.Length; i++)
        {
            if (percentiles[i] is { } later && (percentiles[i - 1] is not { } earlier || earlier > later))
            {
                return false;
            }
        }

        return true;
    }
}
