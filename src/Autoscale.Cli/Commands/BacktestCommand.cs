using Autoscale.Shared;
using System.CommandLine;
using Autoscale.Config;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Results;
using Autoscale.Traces;
using Autoscale.Cli.Output;
using Autoscale.Reporting;
using Spectre.Console;

namespace Autoscale.Cli.Commands;

/// <summary><c>autoscale backtest --trace T --config C</c>: replay one trace against every candidate and rank them.</summary>
internal static class BacktestCommand
{
    /// <summary>Timeline points per candidate recorded for the report's plots.</summary>
    private const int TimelinePoints = 1500;

    public static Command Create(CliContext context)
    {
        var trace = CliOptions.RequiredPath("--trace", "The Parquet traffic trace to replay.");
        var config = CliOptions.RequiredPath("--config", "The JSON config: slo, replica, engine, billing and candidates.");
        var format = CliOptions.Format("table", "json", "csv");
        var outDir = new Option<string?>("--out") { Description = "A folder to write report.html, results.json, results.csv and PNG plots into." };
        var seeds = new Option<int>("--seeds") { Description = "Run every candidate with this many seeds (engine.seed, +1, ...) and report the spread (jittered load times).", DefaultValueFactory = _ => 1 };
        var shard = new Option<string?>("--shard") { Description = "K/N: run every N-th candidate starting at K (0 <= K < N) and write DIR/shard-K-of-N.json for autoscale merge. Needs --out." };
        var command = new Command("backtest", "Replay a trace against each candidate policy and rank them by SLO risk and dollars.")
        {
            trace, config, format, outDir, seeds, shard,
        };

        var userPolicies = new UserPolicies.UserPolicyLoader();
        userPolicies.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            await userPolicies.LoadAsync(parse, context.Catalog, context.Stderr, cancellationToken);
            var seedCount = parse.GetValue(seeds);
            if (seedCount is < 1 or > 1000)
            {
                throw new UserInputException($"--seeds ({seedCount}) must be between 1 and 1000");
            }

            var clock = System.Diagnostics.Stopwatch.StartNew();
            var tracePath = parse.GetValue(trace)!;
            var plan = await new ConfigLoader(context.Catalog).LoadFileAsync(parse.GetValue(config)!, cancellationToken);
            var order = plan.Candidates.Select(c => c.Name).ToList();
            var (shardIndex, shardCount) = Shards.Parse(parse.GetValue(shard), parse.GetValue(outDir), "backtest");
            if (shardCount > 1 || shardIndex > 0)
            {
                plan = plan with { Candidates = plan.Candidates.Where((_, i) => i % shardCount == shardIndex).ToList() };
            }
            var timeline = parse.GetValue(outDir) is null ? 0 : TimelinePoints;
            var runs = new List<IReadOnlyList<CandidateResult>>();
            TraceInfo? info = null;
            var readSeconds = 0.0;
            for (var s = 0; s < seedCount; s++)
            {
                var settings = plan.Settings with { Seed = plan.Settings.Seed + s };
                await using var reader = await TraceReader.OpenAsync(tracePath, settings.Tick, cancellationToken: cancellationToken);
                var label = seedCount == 1 ? "replaying" : $"replaying, seed {settings.Seed}";
                if (shardCount > 0 && seedCount > 1)
                {
                    throw new UserInputException("--seeds and --shard cannot be combined");
                }

                var (results, read) = await ReplayAsync(context, reader, settings, plan.Candidates, tracePath, label, s == 0 ? timeline : 0, cancellationToken);
                readSeconds += read;
                runs.Add(results);
                info ??= new TraceInfo(tracePath, reader.Start, reader.Start + reader.Tick * reader.Length, reader.Length, reader.Requests,
                    reader.InputTokens is null && reader.OutputTokens is null ? null : (reader.InputTokens ?? 0) + (reader.OutputTokens ?? 0));
            }

            if (Environment.GetEnvironmentVariable("AUTOSCALE_TIMING") == "1")
            {
                await context.Stderr.WriteLineAsync($"timing: {clock.Elapsed.TotalSeconds:F3} s for {info!.Ticks} ticks x {plan.Candidates.Count} candidates x {seedCount} seeds{(readSeconds > 0 ? $" (serving workload read in {readSeconds:F3} s)" : "")};"
                    + $" GCs {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} (gen 0/1/2), paused {GC.GetTotalPauseDuration().TotalMilliseconds:F0} ms, {GC.GetTotalAllocatedBytes() / 1048576} MB allocated");
            }

            if (shardCount > 0)
            {
                await WriteShardAsync(context, new PartialResults { Shard = shardIndex, Of = shardCount, Trace = info!, Settings = plan.Settings, Order = order, Results = runs[0], TimeZone = plan.TimeZone },
                    parse.GetValue(outDir)!, cancellationToken);
                return AutoscaleCli.Success;
            }

            var report = new BacktestReport(info!, plan.Settings, runs[0], SweepAnalysis.Of(runs[0], order), seedCount > 1 ? Spreads(runs) : null,
                plan.TimeZone, seedCount > 1 && SameEverySeed(runs) ? [$"--seeds {seedCount}: every seed gave every candidate the same results: none of them draws anything at random, or no draw changed a result (only jittered and empirical load times are drawn); one seed says as much"] : null);
            await PresentAsync(context, report, parse.GetValue(format)!, parse.GetValue(outDir), cancellationToken);
            return AutoscaleCli.Success;
        });
        return command;
    }

    /// <summary>One seed's replay of every candidate (request by request or as a fluid with a serving profile, else the count replay) and the seconds spent reading a serving workload.</summary>
    private static async Task<(IReadOnlyList<CandidateResult> Results, double ReadSeconds)> ReplayAsync(CliContext context, TraceReader reader, ReplaySettings settings,
        IReadOnlyList<CandidateSpec> candidates, string tracePath, string label, int timeline, CancellationToken cancellationToken)
    {
        if (settings.Serving is { } profile)
        {
            var readStart = System.Diagnostics.Stopwatch.GetTimestamp();
            var workload = await ReadWorkloadAsync(reader, settings, profile, candidates, tracePath, cancellationToken);
            var read = System.Diagnostics.Stopwatch.GetElapsedTime(readStart).TotalSeconds;
            var served = await WithProgressAsync(context, label, _ =>
                Task.Run(() => Backtest.RunServing(workload, settings, candidates, timelinePoints: timeline, cancellationToken: cancellationToken), cancellationToken));
            return (served, read);
        }

        var counted = await WithProgressAsync(context, label, progress =>
            Backtest.RunAsync(reader, settings, candidates, timelinePoints: timeline, progress: progress, cancellationToken: cancellationToken));
        return (counted, 0);
    }

    /// <summary>Writes one shard's results as DIR/shard-K-of-N.json, for autoscale merge.</summary>
    private static async Task WriteShardAsync(CliContext context, PartialResults partial, string dir, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, $"shard-{partial.Shard}-of-{partial.Of}.json");
        await AtomicFile.WriteTextAsync(file, partial.ToJson(), cancellationToken);
        await context.Stderr.WriteLineAsync($"wrote {file}: {partial.Results.Count} of {partial.Order.Count} candidates");
    }

    /// <summary>
    /// The requests of a serving replay, read as every command reads them: a request log too long for the settings refused
    /// before it is read, then the workload's size, then each candidate's replica shape; a problem is one user error.
    /// </summary>
    public static async Task<Autoscale.Backtesting.Serving.ServingWorkload> ReadWorkloadAsync(TraceReader reader, ReplaySettings settings,
        Autoscale.Backtesting.Serving.ServingProfile profile, IReadOnlyList<CandidateSpec> candidates, string tracePath, CancellationToken cancellationToken)
    {
        // A request log's rows are its requests: refused before they are read; interval counts once summed.
        if (reader.Info.Shape == TraceShape.RequestLog && settings.WorkProblem(reader.Info.Rows) is { } tooLong)
        {
            throw new UserInputException($"{tracePath}: {tooLong}");
        }

        try
        {
            var workload = await Autoscale.Backtesting.Serving.ServingWorkload.ReadAsync(reader, profile, settings.Seed, tracePath, cancellationToken);
            if (settings.WorkProblem(workload.Count) is { } tooMuch)
            {
                throw new UserInputException($"{tracePath}: {tooMuch}");
            }

            Backtest.CheckShapes(workload, candidates, tracePath);
            Backtest.CheckPools(workload, settings, candidates, tracePath);
            return workload;
        }
        catch (Autoscale.Backtesting.Serving.ServingWorkloadException e)
        {
            throw new UserInputException(e.Message);
        }
    }

    /// <summary>Writes the report folder (when asked) and the ranking in the chosen format.</summary>
    public static async Task PresentAsync(CliContext context, BacktestReport report, string format, string? outDir, CancellationToken cancellationToken)
    {
        if (outDir is not null)
        {
            await report.WriteFolderAsync(outDir, cancellationToken);
            await context.Stderr.WriteLineAsync($"wrote {Path.Combine(outDir, "report.html")}");
        }

        switch (format)
        {
            case "json":
                await context.Stdout.WriteAsync(report.ToJson());
                await WarnAsync(context, report);
                break;
            case "csv":
                await context.Stdout.WriteAsync(report.ToCsv());
                await WarnAsync(context, report);
                break;
            default:
                ResultTable.Write(report, context.Stdout, context.OutputRedirected);
                break;
        }
    }

    /// <summary>With a document on standard output, warnings go to standard error (they are in the document too).</summary>
    private static async Task WarnAsync(CliContext context, BacktestReport report)
    {
        foreach (var warning in report.Warnings)
        {
            await context.Stderr.WriteLineAsync($"warning: {warning}");
        }
    }

    private static bool SameEverySeed(List<IReadOnlyList<CandidateResult>> runs) =>
        runs.Skip(1).All(run => run.Zip(runs[0]).All(p => p.First.Name == p.Second.Name && p.First.Violations == p.Second.Violations
            && p.First.Dollars.Equals(p.Second.Dollars) && p.First.ColdStarts == p.Second.ColdStarts));

    private static List<SeedSpread> Spreads(List<IReadOnlyList<CandidateResult>> runs) =>
        runs.SelectMany(r => r)
            .Where(r => !r.Failed)
            .GroupBy(r => r.Name, StringComparer.Ordinal)
            .OrderBy(g => runs[0].First(r => r.Name == g.Key).Rank)
            .Select(g => new SeedSpread(g.Key, g.Count(), Spread.Of(g.Select(r => r.ViolationPercent).ToList()), Spread.Of(g.Select(r => r.Dollars).ToList()), g.Count(r => r.MeetsSlo)))
            .ToList();

    /// <summary>Shows a progress bar on standard error when it is a terminal and the run takes more than a second.</summary>
    private static async Task<T> WithProgressAsync<T>(CliContext context, string label, Func<IProgress<double>?, Task<T>> run)
    {
        if (context.OutputRedirected || Console.IsErrorRedirected || !ReferenceEquals(context.Stderr, Console.Error))
        {
            return await run(null);
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        var started = System.Diagnostics.Stopwatch.StartNew();
        await console.Progress().AutoClear(true).StartAsync(async ctx =>
        {
            var task = ctx.AddTask(label, autoStart: true, maxValue: 1);
            var progress = new Progress<double>(p => task.Value = started.Elapsed.TotalSeconds > 1 ? p : 0);
            result = await run(progress);
            task.Value = 1;
        });
        return result;
    }
}
