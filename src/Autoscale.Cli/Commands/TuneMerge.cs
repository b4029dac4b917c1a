using Autoscale.Config.Tuning;
using Autoscale.Reporting;

namespace Autoscale.Cli.Commands;

/// <summary><c>autoscale merge</c> of the parts of <c>tune --shard K/N</c>: the result one machine gives (without the worst-day plots, which replay the trace).</summary>
internal static class TuneMerge
{
    public static async Task RunAsync(CliContext context, IReadOnlyList<string> files, string format, string? outDir, CancellationToken cancellationToken)
    {
        var parts = new List<(TuneShard Part, string File)>();
        foreach (var file in files)
        {
            if (!Path.GetFileName(file).StartsWith("tune-shard-", StringComparison.Ordinal))
            {
                throw new UserInputException($"{file}: a backtest's shard cannot be merged with a tune's");
            }

            try
            {
                parts.Add((TuneShard.ReadFile(file), file));
            }
            catch (InvalidDataException e)
            {
                throw new UserInputException(e.Message);
            }
        }

        var (first, firstFile) = parts[0];
        foreach (var (p, file) in parts)
        {
            var differs = p.Of != first.Of ? $"it is of {p.Of} shards, not {first.Of}"
                : p.Trace != first.Trace ? "another trace"
                : p.Seed != first.Seed || p.Margin != first.Margin || p.TargetPercent != first.TargetPercent || p.TimeZone != first.TimeZone || p.Units != first.Units ? "other settings (seed, slo, --slo-margin, report.timeZone, --train or --test)"
                : !p.Candidates.Select(c => (c.Name, c.Policy, string.Join(",", c.Paths))).SequenceEqual(first.Candidates.Select(c => (c.Name, c.Policy, string.Join(",", c.Paths)))) ? "another config's candidates"
                : null;
            if (differs is not null)
            {
                throw new UserInputException($"{file}: shard {p.Shard} of {p.Of} does not belong with {firstFile}: {differs}");
            }
        }

        var missing = Enumerable.Range(0, first.Of).Except(parts.Select(p => p.Part.Shard)).ToList();
        var twice = parts.GroupBy(p => p.Part.Shard).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (missing.Count > 0 || twice.Count > 0)
        {
            throw new UserInputException(missing.Count > 0 ? $"shards missing: {string.Join(", ", missing)} of {first.Of}" : $"shard {twice[0]} given more than once");
        }

        var units = parts.SelectMany(p => p.Part.Done).OrderBy(u => u.Candidate).ThenBy(u => u.Window.Index).ToList();
        if (units.Count != first.Units)
        {
            throw new UserInputException($"the shards hold {units.Count} training windows where the tune has {first.Units}");
        }

        var outcomes = TuneShard.Outcomes(first.Candidates, units, first.TargetPercent, first.Seed);
        var trace = new TraceInfo(first.Trace, first.TraceStart, first.TraceEnd, 0, first.TraceRequests, null);
        var header = new Autoscale.Cli.Output.TuneReport.Header(first.SloLine, first.TargetPercent, 1);
        await TuneCommand.PresentAsync(context, outcomes, trace, header, ReportText.Zone(first.TimeZone), format, outDir, [], null, cancellationToken);
    }
}
