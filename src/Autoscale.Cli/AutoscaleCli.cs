using System.CommandLine;
using Autoscale.Backtesting.Config;
using Autoscale.Backtesting.Traces;
using Autoscale.Cli.Commands;
using Autoscale.Policies.Catalog;

namespace Autoscale.Cli;

/// <summary>The <c>autoscale</c> command: parses, runs, and turns user errors into one line and exit code 2.</summary>
public static class AutoscaleCli
{
    /// <summary>Exit code of a successful run.</summary>
    public const int Success = 0;

    /// <summary>Exit code of bad input (argument, file, config).</summary>
    public const int BadInput = 2;

    /// <summary>Exit code of an unexpected failure (a bug).</summary>
    public const int InternalError = 1;

    /// <summary>Runs the command line <paramref name="args"/>, writing to the given streams.</summary>
    /// <param name="args">The arguments after the program name.</param>
    /// <param name="stdout">Standard output: the result documents and tables.</param>
    /// <param name="stderr">Standard error: errors, progress and notes.</param>
    /// <param name="outputRedirected">Whether stdout is not a terminal (plain tables, no colours).</param>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, bool outputRedirected = true)
    {
        var context = new CliContext(stdout, stderr, outputRedirected, PolicyCatalog.CreateBuiltIn());
        var root = new RootCommand("Autoscale: backtest scaling policies for model-serving fleets against real traffic, ranked by SLO risk and dollars.");
        root.Subcommands.Add(TextbookCommand.Create(context));
        root.Subcommands.Add(BacktestCommand.Create(context));
        root.Subcommands.Add(TraceCommands.Create(context));
        root.Subcommands.Add(LiveCommand.Create(context));
        root.Subcommands.Add(PolicyCommands.Create(context));
        root.Subcommands.Add(MergeCommand.Create(context));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            await stderr.WriteLineAsync($"error: {OneLine(parsed.Errors[0].Message)}");
            return BadInput;
        }

        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration
            {
                Output = stdout,
                Error = stderr,
                EnableDefaultExceptionHandler = false,
            });
        }
        catch (UserPolicies.UserInputLinesException e)
        {
            foreach (var line in e.Lines)
            {
                await stderr.WriteLineAsync($"error: {OneLine(line)}");
            }

            return BadInput;
        }
        catch (Exception e) when (IsUserError(e))
        {
            await stderr.WriteLineAsync($"error: {OneLine(e.Message)}");
            return BadInput;
        }
        catch (Exception e)
        {
            await stderr.WriteLineAsync($"error: internal error ({e.GetType().Name}): {OneLine(e.Message)}");
            if (Environment.GetEnvironmentVariable("AUTOSCALE_DEBUG") == "1")
            {
                await stderr.WriteLineAsync(e.ToString());
            }

            return InternalError;
        }
    }

    private static bool IsUserError(Exception e) => e is UserInputException or ConfigException or TraceFormatException
        or OptionsBindingException or InvalidOptionsException or DirectoryNotFoundException or UnauthorizedAccessException;

    private static string OneLine(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, @"\s+", " ").Trim();
}

/// <summary>What every command needs: the streams and the policy catalog.</summary>
internal sealed record CliContext(TextWriter Stdout, TextWriter Stderr, bool OutputRedirected, PolicyCatalog Catalog);
