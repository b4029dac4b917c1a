using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Autoscale.Backtesting.Engine;
using Autoscale.Cli.Output;
using Autoscale.Config;
using Autoscale.Config.Tuning;
using Autoscale.Reporting;
using Autoscale.Traces;
using Autoscale.Shared;

namespace Autoscale.Cli.Commands;

/// <summary>
/// <c>autoscale tune --trace T --config C</c>: the cheapest settings of each candidate's <c>tune</c> space that hold the SLO,
/// picked on training days and judged, walking forward, on the days after them.
/// </summary>
internal static class TuneCommand
{
    /// <summary>The most settings one window may evaluate.</summary>
    public const int MaxBudget = 100_000;

    public static Command Create(CliContext context)
    {
        var trace = CliOptions.RequiredPath("--trace", "The Parquet traffic trace: tuned on its training days, judged on the days after them.");
        var config = CliOptions.RequiredPath("--config", "The JSON config; each candidate to tune has a \"tune\" space beside its options.");
        var candidates = new Option<string[]>("--candidate") { Description = "Tune only this candidate (repeatable); default: every candidate with a tune space." };
        var train = new Option<string>("--train") { Description = "Training window: whole calendar days in report.timeZone, as 7d.", DefaultValueFactory = _ => "7d" };
        var test = new Option<string>("--test") { Description = "Held-out days after each training window (and the step between folds), as 1d.", DefaultValueFactory = _ => "1d" };
        var budget = new Option<int>("--budget") { Description = "Settings evaluated per training window; a smaller space is searched whole.", DefaultValueFactory = _ => 200 };
        var seed = new Option<long?>("--seed") { Description = "Seed of the search and of the bootstrap (default: engine.seed)." };
        var outDir = new Option<string?>("--out") { Description = "A folder to write report.html, results.json (every evaluated setting), results.csv and the plots into." };
        var format = CliOptions.Format("table", "json", "csv");
        var export = new Option<string?>("--export") { Description = "Write the pick as a manifest: hpa, keda, knative or ray-serve (to standard output, or DIR/pick.yaml with --out)." };
        export.AcceptOnlyFromAmong([.. Autoscale.Config.Manifests.ManifestExporter.Kinds]);
        var shard = new Option<string?>("--shard") { Description = "K/N: tune every N-th (candidate, window) starting at K and write DIR/tune-shard-K-of-N.json for autoscale merge. Needs --out." };
        var margin = new Option<double>("--slo-margin") { Description = "The share of each training day's error budget a pick must keep to spare, each training day judged alone (0 to 0.95; 0, the default: the training window judged as a backtest judges it, all its requests together).", DefaultValueFactory = _ => Tuner.DefaultMargin };
        var threads = new Option<int>("--threads") { Description = "Replays run at once (default: every core). The result is the same for any number.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("tune", "Search each candidate's tune space for the cheapest settings that hold the SLO on training days, judged walking forward on the days after them.")
        {
            trace, config, candidates, train, test, budget, seed, outDir, format, export, shard, margin, threads,
        };

        var userPolicies = new UserPolicies.UserPolicyLoader();
        userPolicies.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            await userPolicies.LoadAsync(parse, context.Catalog, context.Stderr, cancellationToken);
            var trainDays = Days(parse.GetValue(train)!, "--train");
            var testDays = Days(parse.GetValue(test)!, "--test");
            var (perWindow, sloMargin, threadCount) = Limits(parse.GetValue(budget), parse.GetValue(margin), parse.GetValue(threads));

            var dir = parse.GetValue(outDir);
            if (dir is not null)
            {
                ReportFolder.Check(dir);
            }

            var (shardIndex, shardCount) = Shards.Parse(parse.GetValue(shard), dir, "tune");
            var configFile = parse.GetValue(config)!;
            var plan = await new ConfigLoader(context.Catalog).LoadFileAsync(configFile, cancellationToken);
            var chosen = Choose(plan, parse.GetValue(candidates) ?? [], configFile);
            var kind = parse.GetValue(export);
            if (kind is not null && shardCount == 0)
            {
                // A candidate with no form of that kind is refused before anything runs.
                RefuseUnexportable(chosen, plan, kind, configFile);
            }

            var zone = NodaTime.DateTimeZoneProviders.Tzdb.GetZoneOrNull(plan.TimeZone) ?? NodaTime.DateTimeZone.Utc;
            var tracePath = parse.GetValue(trace)!;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var data = await ReadAsync(tracePath, plan, chosen, cancellationToken);
            var windows = Windows(data, plan, zone, trainDays, testDays, tracePath);

            var runSeed = parse.GetValue(seed) ?? plan.Settings.Seed;
            var units = Enumerable.Range(0, chosen.Count).SelectMany(c => windows.Select(w => (Candidate: c, Window: w))).ToList();
            var mine = shardCount == 0 ? units : units.Where((_, i) => i % shardCount == shardIndex).ToList();
            var tuners = chosen.Select(t => new Tuner(plan.Settings, data, t, perWindow, runSeed, threadCount, margin: sloMargin)).ToList();
            var done = Tune(context, mine, tuners, chosen, plan, data, (perWindow, runSeed, threadCount, sloMargin), cancellationToken);
            await TimingAsync(context, clock.Elapsed, done);

            var meta = chosen.Select(t => new TuneShard.Candidate(t.Baseline.Name, t.Baseline.PolicyName, t.Dimensions.Select(d => d.Path).ToList(), t.Options)).ToList();
            var info = new TraceInfo(tracePath, data.Start, data.Start + data.Tick * data.Ticks, data.Ticks, data.Requests, null);
            if (shardCount > 0)
            {
                var part = new TuneShard(shardIndex, shardCount, tracePath, runSeed, plan.Settings.Slo.TargetPercent, plan.TimeZone, units.Count, meta, done);
                await WriteShardAsync(context, part with { Margin = sloMargin, SloLine = ReportText.SloLine(plan.Settings.Slo) }, info, dir!, cancellationToken);
                return AutoscaleCli.Success;
            }

            var outcomes = TuneShard.Outcomes(meta, done, plan.Settings.Slo.TargetPercent, runSeed);
            var manifests = kind is null ? [] : Manifests(chosen, outcomes, plan, kind, configFile);
            var timelines = dir is null ? null : chosen.Select((t, i) => WorstDay(tuners[i], t, outcomes[i], windows)).ToList();
            await PresentAsync(context, outcomes, info, new TuneReport.Header(ReportText.SloLine(plan.Settings.Slo), plan.Settings.Slo.TargetPercent, plan.Settings.Replica.CapacityRps), zone, parse.GetValue(format)!, dir, manifests, timelines, cancellationToken);
            return AutoscaleCli.Success;
        });
        return command;
    }

    /// <summary>Each candidate's deployed pick as a manifest of <paramref name="kind"/>, by candidate name.</summary>
    private static List<(string Name, string Manifest)> Manifests(IReadOnlyList<TuneTarget> chosen, IReadOnlyList<TuneOutcome> outcomes, BacktestPlan plan, string kind, string configFile) =>
        chosen.Select((t, i) => (t.Baseline.Name, Autoscale.Config.Manifests.ManifestExporter.Export(
            t.Build(outcomes[i].Deploy.Pick, t.Baseline.Name), plan.Settings, kind, configFile, plan.Sources.GetValueOrDefault(t.Baseline.Name)))).ToList();

    /// <summary>With AUTOSCALE_TIMING=1: the tune's time, replays and memory on standard error.</summary>
    private static async Task TimingAsync(CliContext context, TimeSpan elapsed, IReadOnlyList<TuneUnit> done)
    {
        if (Environment.GetEnvironmentVariable("AUTOSCALE_TIMING") == "1")
        {
            await context.Stderr.WriteLineAsync($"timing: {elapsed.TotalSeconds:F3} s for {done.Sum(u => u.Evaluations.Count)} replays of training windows in {done.Count} windows;"
                + $" GCs {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} (gen 0/1/2), {GC.GetTotalAllocatedBytes() / 1048576} MB allocated, peak working set {Environment.WorkingSet / 1048576} MB");
        }
    }

    /// <summary>Writes one shard's windows, with the trace's span and requests, as DIR/tune-shard-K-of-N.json, for autoscale merge.</summary>
    private static async Task WriteShardAsync(CliContext context, TuneShard part, TraceInfo info, string dir, CancellationToken cancellationToken)
    {
        part = part with { TraceStart = info.Start, TraceEnd = info.End, TraceRequests = info.Requests };
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, $"tune-shard-{part.Shard}-of-{part.Of}.json");
        await AtomicFile.WriteTextAsync(file, part.ToJson(), cancellationToken);
        await context.Stderr.WriteLineAsync($"wrote {file}: {part.Done.Count} of {part.Units} training windows");
    }

    /// <summary>The search's limits, each checked: evaluations per window, the SLO margin, threads.</summary>
    private static (int PerWindow, double Margin, int Threads) Limits(int perWindow, double sloMargin, int threadCount)
    {
        if (perWindow is < 1 or > MaxBudget)
        {
            throw new UserInputException($"--budget ({perWindow}) must be between 1 and {MaxBudget:N0} settings per training window");
        }

        if (!(sloMargin is >= 0 and <= 0.95))
        {
            throw new UserInputException($"--slo-margin ({sloMargin.ToString(CultureInfo.InvariantCulture)}) must be from 0 to 0.95: the share of each training day's error budget a pick keeps to spare");
        }

        if (threadCount is < 1 or > 1024)
        {
            throw new UserInputException($"--threads ({threadCount}) must be between 1 and 1024");
        }

        return (perWindow, sloMargin, threadCount);
    }

    /// <summary>Exports each candidate's baseline as <paramref name="kind"/>: one that has no form of that kind is refused before anything runs.</summary>
    private static void RefuseUnexportable(IReadOnlyList<TuneTarget> chosen, BacktestPlan plan, string kind, string configFile)
    {
        foreach (var target in chosen)
        {
            Autoscale.Config.Manifests.ManifestExporter.Export(target.Baseline, plan.Settings, kind, configFile, plan.Sources.GetValueOrDefault(target.Baseline.Name));
        }
    }

    /// <summary>The walk-forward windows over the trace; for a request-level replay, the longest window's requests checked against the settings first.</summary>
    private static IReadOnlyList<TuneWindow> Windows(TuneData data, BacktestPlan plan, NodaTime.DateTimeZone zone, int trainDays, int testDays, string tracePath)
    {
        IReadOnlyList<TuneWindow> windows;
        try
        {
            windows = TuneSchedule.Build(data.Start, data.Tick, data.Ticks, zone, trainDays, testDays);
        }
        catch (ArgumentException e)
        {
            throw new UserInputException($"{tracePath}: {e.Message}");
        }

        // A request-level replay holds a window's requests: the longest window (training and test days) is checked first.
        if (plan.Settings.Serving is not null && !plan.Settings.FluidServing)
        {
            var most = windows.Max(w => data.RequestsIn(w.TrainFrom, w.Deploy ? w.TrainTo : w.TestDays[^1]));
            if (plan.Settings.WorkProblem(most) is { } tooMuch)
            {
                throw new UserInputException($"{tracePath}: a training window and its test days: {tooMuch}");
            }
        }

        return windows;
    }

    /// <summary>Tunes each (candidate, window) of <paramref name="units"/> in turn, with progress on standard error.</summary>
    private static List<TuneUnit> Tune(CliContext context, IReadOnlyList<(int Candidate, TuneWindow Window)> units, IReadOnlyList<Tuner> tuners, IReadOnlyList<TuneTarget> chosen,
        BacktestPlan plan, TuneData data, (int PerWindow, long Seed, int Threads, double Margin) search, CancellationToken cancellationToken)
    {
        using var progress = new TuneProgress(context.Stderr, units.Sum(u => tuners[u.Candidate].EvaluationsPerWindow), units.Count);
        var done = new List<TuneUnit>();
        foreach (var (c, window) in units)
        {
            progress.Window(chosen[c].Baseline.Name, window, tuners[c].FirstRungDays(window));
            var counting = new Tuner(plan.Settings, data, chosen[c], search.PerWindow, search.Seed, search.Threads, progress.Evaluated, search.Margin);
            done.Add(counting.Run(c, window, cancellationToken));
        }

        progress.Finish();
        return done;
    }

    /// <summary>Writes the report folder (with <c>--out</c>), the manifests, and the result in the chosen format.</summary>
    public static async Task PresentAsync(CliContext context, IReadOnlyList<TuneOutcome> outcomes, TraceInfo trace, TuneReport.Header settings, NodaTime.DateTimeZone zone, string format,
        string? dir, IReadOnlyList<(string Name, string Manifest)> manifests, IReadOnlyList<TuneReport.WorstDay?>? timelines, CancellationToken cancellationToken)
    {
        if (dir is not null)
        {
            await TuneReport.WriteAsync(dir, outcomes, trace, settings, zone, manifests, timelines, cancellationToken);
            await context.Stderr.WriteLineAsync($"wrote {Path.Combine(dir, "report.html")}");
        }

        // A manifest without --out is standard output's document; the table then goes to standard error.
        var manifestOnStdout = manifests.Count > 0 && dir is null;
        var document = format switch
        {
            "json" => TuneJson.Result(outcomes, points: false),
            "csv" => TuneJson.Csv(outcomes),
            _ => null,
        };
        var tableTo = manifestOnStdout ? context.Stderr : context.Stdout;
        if (document is null)
        {
            TuneTable.Write(outcomes, trace, settings, zone, tableTo, context.OutputRedirected || manifestOnStdout);
        }
        else
        {
            await (manifestOnStdout ? context.Stderr : context.Stdout).WriteAsync(document);
        }

        if (manifestOnStdout)
        {
            await context.Stdout.WriteAsync(string.Join("---\n", manifests.Select(m => m.Manifest)));
        }
    }

    /// <summary>The pick's worst held-out day (most violations, then the dearest) replayed with a timeline, beside the baseline's same day.</summary>
    private static TuneReport.WorstDay? WorstDay(Tuner tuner, TuneTarget target, TuneOutcome outcome, IReadOnlyList<TuneWindow> windows)
    {
        var days = outcome.Folds.SelectMany(f => f.PickTestDays.Select((d, i) => (Fold: f, Day: i, Figure: d))).ToList();
        if (days.Count == 0)
        {
            return null;
        }

        var worst = days.OrderByDescending(d => d.Figure.Violations).ThenByDescending(d => d.Figure.Dollars).ThenBy(d => d.Fold.Window.Index).First();
        var window = windows.First(w => !w.Deploy && w.Index == worst.Fold.Window.Index);
        var span = window.TestDays[worst.Day + 1] - window.TrainFrom;
        var points = (int)Math.Min(200_000, span / Math.Max(1, (window.TestDays[worst.Day + 1] - window.TestDays[worst.Day]) / 720));
        var pick = tuner.Timeline(target.Build(worst.Fold.Pick, $"{target.Baseline.Name} (pick)"), window, worst.Day, points);
        var baseline = tuner.Timeline(target.Baseline with { Name = $"{target.Baseline.Name} (baseline)" }, window, worst.Day, points);
        var baselineDay = worst.Fold.BaselineTestDays[worst.Day];
        return new TuneReport.WorstDay(worst.Figure.Start, window.DayStarts[window.TrainDayCount + worst.Day + 1], pick, baseline, worst.Figure, baselineDay,
            worst.Fold.Pick, target.BaselineValues.Select(v => v ?? double.NaN).ToList());
    }

    private static List<TuneTarget> Choose(BacktestPlan plan, string[] names, string file)
    {
        if (names.Length == 0)
        {
            var all = plan.Candidates.Where(c => plan.Tunes.ContainsKey(c.Name)).Select(c => plan.Tunes[c.Name]).ToList();
            return all.Count > 0 ? all
                : throw new UserInputException($"{file}: no candidate has a \"tune\" space: add one beside a candidate's options, as {{\"tune\": {{\"minReplicas\": {{\"from\": 1, \"to\": 8, \"step\": 1}}}}}}");
        }

        var chosen = new List<TuneTarget>();
        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            if (plan.Candidates.All(c => c.Name != name))
            {
                throw new UserInputException($"{file}: --candidate: no candidate named \"{name}\" (candidates: {string.Join(", ", plan.Candidates.Select(c => c.Name))})");
            }

            chosen.Add(plan.Tunes.TryGetValue(name, out var target) ? target
                : throw new UserInputException($"{file}: --candidate: \"{name}\" has no \"tune\" space beside its options"));
        }

        return chosen;
    }

    /// <summary>A whole number of days, written <c>7d</c> (or <c>7</c>).</summary>
    private static int Days(string text, string option)
    {
        var digits = text.EndsWith('d') ? text[..^1] : text;
        return int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var days) && days is >= 1 and <= 3650
            ? days
            : throw new UserInputException($"{option}: \"{text}\" must be a whole number of days from 1 to 3650, as 7d (folds are whole calendar days)");
    }

    private static async Task<TuneData> ReadAsync(string path, BacktestPlan plan, IReadOnlyList<TuneTarget> chosen, CancellationToken cancellationToken)
    {
        try
        {
            return await TuneData.ReadAsync(path, plan.Settings, chosen, cancellationToken);
        }
        catch (Autoscale.Backtesting.Serving.ServingWorkloadException e)
        {
            throw new UserInputException(e.Message);
        }
    }
}
