using System.CommandLine;
using Autoscale.Backtesting.Config;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Traces;
using Autoscale.Cli.Output;

namespace Autoscale.Cli.Commands;

/// <summary><c>autoscale backtest --trace T --config C</c>: replay one trace against every candidate and rank them.</summary>
internal static class BacktestCommand
{
    public static Command Create(CliContext context)
    {
        var trace = CliOptions.RequiredPath("--trace", "The Parquet traffic trace to replay.");
        var config = CliOptions.RequiredPath("--config", "The JSON config: slo, replica, engine and candidates.");
        var format = CliOptions.Format("table", "json", "csv");
        var outDir = new Option<string?>("--out") { Description = "A folder to write results.json and results.csv into." };
        var command = new Command("backtest", "Replay a trace against each candidate policy and rank them by SLO risk and dollars.")
        {
            trace, config, format, outDir,
        };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var plan = new ConfigLoader(context.Catalog).LoadFile(parse.GetValue(config)!);
            await using var tickTrace = await TraceReader.OpenAsync(parse.GetValue(trace)!, plan.Settings.Tick, cancellationToken: cancellationToken);
            var opened = clock.Elapsed;
            var results = await Backtest.RunAsync(tickTrace, plan.Settings, plan.Candidates, cancellationToken: cancellationToken);
            if (Environment.GetEnvironmentVariable("AUTOSCALE_TIMING") == "1")
            {
                await context.Stderr.WriteLineAsync($"timing: config + open {opened.TotalSeconds:F3} s, stream + replay {(clock.Elapsed - opened).TotalSeconds:F3} s ({tickTrace.Length} ticks x {plan.Candidates.Count} candidates)");
            }
            var document = new ResultDocument(parse.GetValue(trace)!, tickTrace.Start, tickTrace.Start + tickTrace.Tick * tickTrace.Length, tickTrace.Length, tickTrace.Requests, plan.Settings, results);

            if (parse.GetValue(outDir) is { } dir)
            {
                await document.WriteFolderAsync(dir, cancellationToken);
            }

            switch (parse.GetValue(format))
            {
                case "json":
                    await context.Stdout.WriteAsync(document.ToJson());
                    break;
                case "csv":
                    await context.Stdout.WriteAsync(document.ToCsv());
                    break;
                default:
                    ResultTable.Write(document, context.Stdout, context.OutputRedirected);
                    break;
            }

            return AutoscaleCli.Success;
        });
        return command;
    }
}
