using System.CommandLine;
using Autoscale.Backtesting.Traces;

namespace Autoscale.Cli.Commands;

/// <summary><c>autoscale trace ...</c>: bring traffic in.</summary>
internal static class TraceCommands
{
    public static Command Create(CliContext context)
    {
        var trace = new Command("trace", "Import and inspect traffic traces.");
        trace.Subcommands.Add(Import(context));
        trace.Subcommands.Add(Inspect(context));
        return trace;
    }

    private static Command Inspect(CliContext context)
    {
        var file = new Argument<string>("file") { Description = "The Parquet trace." };
        var format = CliOptions.Format("table", "json");
        var command = new Command("inspect", "Show a trace's shape, span, requests, and mean and peak rates (1 s and 1 min).") { file, format };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(file)!;
            var (trace, info) = await ParquetTrace.ReadWithInfoAsync(path, NodaTime.Duration.FromSeconds(1), cancellationToken: cancellationToken);
            var summary = TraceSummary.Of(trace, info);
            await context.Stdout.WriteAsync(parse.GetValue(format) == "json" ? Output.TraceSummaryText.Json(path, summary) : Output.TraceSummaryText.Table(path, summary));
            return AutoscaleCli.Success;
        });
        return command;
    }

    private static Command Import(CliContext context)
    {
        var input = new Argument<string>("input") { Description = "A CSV of interval counts with a header (timestamp,requests)." };
        var output = CliOptions.RequiredPath("--out", "The Parquet trace to write.");
        var timestampField = new Option<string>("--timestamp-field") { Description = "The timestamp column.", DefaultValueFactory = _ => "timestamp" };
        var requestsField = new Option<string>("--requests-field") { Description = "The requests column.", DefaultValueFactory = _ => "requests" };
        var command = new Command("import", "Convert a CSV of interval counts (ISO-8601 or epoch-second timestamps) into a Parquet trace.")
        {
            input, output, timestampField, requestsField,
        };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(input)!;
            var counts = CsvTraceImporter.Read(path, path, parse.GetValue(timestampField)!, parse.GetValue(requestsField)!);
            await ParquetTrace.WriteIntervalCountsAsync(parse.GetValue(output)!, counts.TimestampsNanos, counts.Counts, counts.IntervalNanos, cancellationToken: cancellationToken);
            long total = 0;
            foreach (var c in counts.Counts)
            {
                total += c;
            }

            await context.Stderr.WriteLineAsync($"wrote {parse.GetValue(output)}: {counts.Counts.Length} intervals, {total} requests");
            return AutoscaleCli.Success;
        });
        return command;
    }
}
