using System.CommandLine;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Results;
using Autoscale.Reporting;

namespace Autoscale.Cli.Commands;

/// <summary><c>autoscale merge PARTS...</c>: the shards of a sharded backtest combined into the report one run gives.</summary>
internal static class MergeCommand
{
    public static Command Create(CliContext context)
    {
        var parts = new Argument<string[]>("parts") { Description = "shard-K-of-N.json (or tune-shard-K-of-N.json) files, or folders holding them.", Arity = ArgumentArity.OneOrMore };
        var format = CliOptions.Format("table", "json", "csv");
        var outDir = new Option<string?>("--out") { Description = "A folder to write report.html, results.json, results.csv and PNG plots into." };
        var command = new Command("merge", "Combine the partial results of backtest --shard K/N (or tune --shard K/N) into the ranking and report of a single run.") { parts, format, outDir };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var files = new List<string>();
            foreach (var part in parse.GetValue(parts)!)
            {
                if (Directory.Exists(part))
                {
                    files.AddRange(Directory.GetFiles(part, "shard-*-of-*.json").Concat(Directory.GetFiles(part, "tune-shard-*-of-*.json")).Order(StringComparer.Ordinal));
                }
                else if (File.Exists(part))
                {
                    files.Add(part);
                }
                else
                {
                    throw new UserInputException($"{part}: no such file or folder");
                }
            }

            if (files.Count == 0)
            {
                throw new UserInputException("no shard-K-of-N.json or tune-shard-K-of-N.json files to merge");
            }

            if (files.Any(f => Path.GetFileName(f).StartsWith("tune-shard-", StringComparison.Ordinal)))
            {
                await TuneMerge.RunAsync(context, files, parse.GetValue(format)!, parse.GetValue(outDir), cancellationToken);
                return AutoscaleCli.Success;
            }

            var partials = new List<PartialResults>();
            foreach (var file in files)
            {
                try
                {
                    partials.Add(PartialResults.ReadFile(file));
                }
                catch (InvalidDataException e)
                {
                    throw new UserInputException(e.Message);
                }
            }

            var first = partials[0];
            foreach (var (p, file) in partials.Zip(files))
            {
                var differs = p.Of != first.Of ? $"it is of {p.Of} shards, not {first.Of}"
                    : p.Trace != first.Trace ? "another trace"
                    : p.Settings != first.Settings || p.TimeZone != first.TimeZone ? "other settings (slo, replica, engine, billing or report)"
                    : !p.Order.SequenceEqual(first.Order, StringComparer.Ordinal) ? "another config's candidates"
                    : null;
                if (differs is not null)
                {
                    throw new UserInputException($"{file}: shard {p.Shard} of {p.Of} does not belong with {files[0]}: {differs}");
                }
            }

            var missing = Enumerable.Range(0, first.Of).Except(partials.Select(p => p.Shard)).ToList();
            var twice = partials.GroupBy(p => p.Shard).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            if (missing.Count > 0 || twice.Count > 0)
            {
                throw new UserInputException(missing.Count > 0
                    ? $"shards missing: {string.Join(", ", missing)} of {first.Of}"
                    : $"shard {twice[0]} given more than once");
            }

            var results = Ranking.Rank(partials.SelectMany(p => p.Results));
            var report = new BacktestReport(first.Trace, first.Settings, results, SweepAnalysis.Of(results, first.Order), timeZone: first.TimeZone);
            await BacktestCommand.PresentAsync(context, report, parse.GetValue(format)!, parse.GetValue(outDir), cancellationToken);
            return AutoscaleCli.Success;
        });
        return command;
    }
}
