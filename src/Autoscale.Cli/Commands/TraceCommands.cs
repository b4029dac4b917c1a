using System.CommandLine;
using Autoscale.Traces;

namespace Autoscale.Cli.Commands;

/// <summary><c>autoscale trace ...</c>: bring traffic in.</summary>
internal static class TraceCommands
{
    public static Command Create(CliContext context)
    {
        var trace = new Command("trace", "Import, inspect and generate traffic traces.");
        trace.Subcommands.Add(Import(context));
        trace.Subcommands.Add(Inspect(context));
        trace.Subcommands.Add(SynthCommand.Create(context));
        trace.Subcommands.Add(ServeGen(context));
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
            await using var reader = await TraceReader.OpenForSummaryAsync(path, cancellationToken: cancellationToken);
            var summary = await reader.SummarizeAsync(cancellationToken);
            await context.Stdout.WriteAsync(parse.GetValue(format) == "json" ? Output.TraceSummaryText.Json(path, summary) : Output.TraceSummaryText.Table(path, summary));
            return AutoscaleCli.Success;
        });
        return command;
    }

    private static Command ServeGen(CliContext context)
    {
        var directory = new Argument<string>("directory") { Description = "A ServeGen folder of chunk-N-trace.csv files (one per client)." };
        var output = CliOptions.RequiredPath("--out", "The Parquet trace to write.");
        var seed = new Option<int>("--seed") { Description = "Seed of the arrival draws.", DefaultValueFactory = _ => 1 };
        var start = new Option<string>("--start") { Description = "The start given to the trace.", DefaultValueFactory = _ => "2026-01-05T00:00:00Z" };
        var command = new Command("servegen", "Generate per-second arrivals from ServeGen's per-client window parameters, summed over clients, with each request's tokens drawn from its client's distributions (chunk-N-dataset.json) where the folder has them.") { directory, output, seed, start };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var dir = parse.GetValue(directory)!;
            if (!Directory.Exists(dir))
            {
                throw new UserInputException($"{dir}: no such folder");
            }

            var origin = CliInstant.Parse(parse.GetValue(start)!, "--start");
            var trace = Autoscale.Traces.Synthesis.ServeGenTraceBuilder.Build(dir, parse.GetValue(seed), origin);
            var step = trace.Tick.ToInt64Nanoseconds();
            var startNanos = (trace.Start - NodaTime.Instant.FromUnixTimeTicks(0)).ToInt64Nanoseconds();
            var stamps = new long[trace.Arrivals.Length];
            for (var i = 0; i < stamps.Length; i++)
            {
                stamps[i] = startNanos + (step * i);
            }

            await ParquetTrace.WriteIntervalCountsAsync(parse.GetValue(output)!, stamps, trace.Arrivals, step, trace.InputTokens, trace.OutputTokens, cancellationToken: cancellationToken);
            await context.Stderr.WriteLineAsync($"wrote {parse.GetValue(output)}: {trace.Length} seconds, {trace.TotalRequests} requests");
            return AutoscaleCli.Success;
        });
        return command;
    }

    private static async Task<int> ImportPrometheusAsync(CliContext context, string server, string? query, string? from, string? to, string step, string output, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(server.EndsWith('/') ? server : server + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new UserInputException($"--prometheus: \"{server}\" is not an http(s) URL");
        }

        if (string.IsNullOrWhiteSpace(query) || from is null || to is null)
        {
            throw new UserInputException("--prometheus needs --query, --from and --to");
        }

        var start = CliInstant.Parse(from, "--from");
        var end = CliInstant.Parse(to, "--to");
        if (end <= start)
        {
            throw new UserInputException($"--to ({to}) must be after --from ({from})");
        }

        var interval = SynthCommand.ParseDuration(step, "--step");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        (long[] Stamps, long[] Counts) range;
        try
        {
            range = await Autoscale.Integrations.Prometheus.PrometheusRangeImport.QueryAsync(http, uri, query, start, end, interval, cancellationToken);
        }
        catch (Autoscale.Integrations.Prometheus.PrometheusQueryException e)
        {
            throw new UserInputException(e.Message);
        }

        await ParquetTrace.WriteIntervalCountsAsync(output, range.Stamps, range.Counts, interval.ToInt64Nanoseconds(), cancellationToken: cancellationToken);
        await context.Stderr.WriteLineAsync($"wrote {output}: {range.Counts.Length} intervals, {range.Counts.Sum()} requests");
        return AutoscaleCli.Success;
    }

    private static Command Import(CliContext context)
    {
        var input = new Argument<string?>("input") { Description = "A CSV (header row) or JSON Lines file: a request log, or interval counts with a requests field.", Arity = ArgumentArity.ZeroOrOne };
        var prometheus = new Option<string?>("--prometheus") { Description = "Import from a Prometheus server (URL) instead: a range query of requests per step." };
        var query = new Option<string?>("--query") { Description = "With --prometheus: PromQL giving the requests of each step, e.g. sum(increase(http_requests_total[1m]))." };
        var from = new Option<string?>("--from") { Description = "With --prometheus: ISO-8601 start of the range." };
        var to = new Option<string?>("--to") { Description = "With --prometheus: ISO-8601 end of the range." };
        var step = new Option<string>("--step") { Description = "With --prometheus: the step, e.g. 60s.", DefaultValueFactory = _ => "60s" };
        var output = CliOptions.RequiredPath("--out", "The Parquet trace to write.");
        var format = CliOptions.Format("auto", "csv", "jsonl", "mooncake");
        format.Description = "Input format: auto (from the extension or the first character), csv, jsonl, or mooncake (Mooncake's JSONL: timestamp in ms from --start, default 2026-01-01T00:00:00Z; input_length, output_length, hash_ids). Fields hash_ids, or prefix_group with prefix_tokens, are kept for prefix caching.";
        var timestampField = new Option<string?>("--timestamp-field") { Description = "The timestamp field (default: detected, e.g. timestamp, TIMESTAMP, time)." };
        var unit = new Option<string>("--timestamp-unit") { Description = "Unit of numeric timestamps: s, ms or us.", DefaultValueFactory = _ => "s" };
        unit.AcceptOnlyFromAmong("s", "ms", "us");
        var start = new Option<string?>("--start") { Description = "ISO-8601 instant: numeric timestamps become offsets from it instead of Unix epoch times." };
        var requestsField = new Option<string?>("--requests-field") { Description = "The requests field of interval counts (default: detected; none means a request log)." };
        var inputTokens = new Option<string?>("--input-tokens-field") { Description = "The input-token field (default: detected, e.g. input_tokens, ContextTokens)." };
        var outputTokens = new Option<string?>("--output-tokens-field") { Description = "The output-token field (default: detected, e.g. output_tokens, GeneratedTokens)." };
        var command = new Command("import", "Convert a CSV or JSON Lines request log or interval counts into a Parquet trace.")
        {
            input, output, format, timestampField, unit, start, requestsField, inputTokens, outputTokens, prometheus, query, from, to, step,
        };

        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(prometheus) is { } server)
            {
                return await ImportPrometheusAsync(context, server, parse.GetValue(query), parse.GetValue(from), parse.GetValue(to), parse.GetValue(step)!, parse.GetValue(output)!, cancellationToken);
            }

            if (parse.GetValue(input) is null)
            {
                throw new UserInputException("trace import needs an input file, or --prometheus URL --query Q --from --to");
            }

            NodaTime.Instant? origin = null;
            if (parse.GetValue(start) is { } text)
            {
                origin = CliInstant.Parse(text, "--start");
            }

            var options = new TraceImportOptions
            {
                Format = parse.GetValue(format) switch { "csv" => ImportFormat.Csv, "jsonl" => ImportFormat.Jsonl, "mooncake" => ImportFormat.Mooncake, _ => ImportFormat.Auto },
                TimestampField = parse.GetValue(timestampField),
                TimestampUnit = parse.GetValue(unit) switch { "ms" => TimestampUnit.Milliseconds, "us" => TimestampUnit.Microseconds, _ => TimestampUnit.Seconds },
                Start = origin,
                RequestsField = parse.GetValue(requestsField),
                InputTokensField = parse.GetValue(inputTokens),
                OutputTokensField = parse.GetValue(outputTokens),
            };
            var path = parse.GetValue(input)!;
            var summary = await TraceImporter.ImportAsync(path, parse.GetValue(output)!, options, path, cancellationToken);
            var shape = summary.Shape == TraceShape.IntervalCounts ? "intervals" : "requests (request log)";
            var tokens = summary.HasTokens ? ", with tokens" : "";
            await context.Stderr.WriteLineAsync(summary.Shape == TraceShape.IntervalCounts
                ? $"wrote {parse.GetValue(output)}: {summary.Rows} intervals, {summary.Requests} requests{tokens}"
                : $"wrote {parse.GetValue(output)}: {summary.Rows} {shape}{tokens}");
            return AutoscaleCli.Success;
        });
        return command;
    }
}
