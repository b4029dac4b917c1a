using System.CommandLine;
using System.CommandLine.Help;
using Autoscale.Config;
using Autoscale.Traces;
using Autoscale.Cli.Commands;
using Autoscale.Policies.Catalog;

namespace Autoscale.Cli;

/// <summary>The <c>autoscale</c> command: parses, runs, and turns user errors into one line and exit code 2.</summary>
public static class AutoscaleCli
{
    /// <summary>The command's name, as users type it and as usage lines print it.</summary>
    public const string CommandName = "autoscale";

    /// <summary>Exit code of a successful run.</summary>
    public const int Success = 0;

    /// <summary>Exit code of bad input (argument, file, config).</summary>
    public const int BadInput = 2;

    /// <summary>Exit code of an unexpected failure (a bug).</summary>
    public const int InternalError = 1;

    /// <summary>Exit code of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;

    /// <summary>Runs the command line <paramref name="args"/>, writing to the given streams.</summary>
    /// <param name="args">The arguments after the program name.</param>
    /// <param name="stdout">Standard output: the result documents and tables.</param>
    /// <param name="stderr">Standard error: errors, progress and notes.</param>
    /// <param name="outputRedirected">Whether stdout is not a terminal (plain tables, no colours).</param>
    /// <param name="cancellationToken">Stops the run (Ctrl-C, SIGTERM): every output in progress is removed, nothing half-written stays.</param>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, bool outputRedirected = true, CancellationToken cancellationToken = default)
    {
        var context = new CliContext(stdout, stderr, outputRedirected, PolicyCatalog.CreateBuiltIn());
        // A plain command named "autoscale" rather than RootCommand, whose name is the executable's file name
        // (Autoscale.Cli, or Autoscale.Cli.dll under dotnet): usage lines and errors say what users type.
        var root = new Command(CommandName, "Backtest scaling policies for model-serving fleets against real traffic, ranked by SLO risk and dollars.")
        {
            new HelpOption(),
            new VersionOption(),
        };
        root.Subcommands.Add(TextbookCommand.Create(context));
        root.Subcommands.Add(BacktestCommand.Create(context));
        root.Subcommands.Add(TraceCommands.Create(context));
        root.Subcommands.Add(LiveCommand.Create(context));
        root.Subcommands.Add(PolicyCommands.Create(context));
        root.Subcommands.Add(TuneCommand.Create(context));
        root.Subcommands.Add(MergeCommand.Create(context));
        root.Subcommands.Add(ServingCommands.Create(context));

        if (args.Length == 0)
        {
            await stderr.WriteLineAsync($"error: no command given (commands: {string.Join(", ", root.Subcommands.Select(c => c.Name))}; see {CommandName} --help)");
            return BadInput;
        }

        // No response files: an argument starting with @ is the argument itself (--options @FILE reads the file itself).
        var parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Errors.Count > 0)
        {
            // A token the parser did not recognise says more than the missing command it causes.
            var command = parsed.CommandResult.Command;
            var message = parsed.UnmatchedTokens.Count > 0
                ? $"unrecognized command or argument '{parsed.UnmatchedTokens[0]}' (see {CommandName} --help)"
                : command.Subcommands.Count > 0 && command.Action is null
                    ? $"{CommandPath(parsed)} needs a command: {string.Join(", ", command.Subcommands.Select(c => c.Name))}"
                    : Plain(parsed.Errors[0].Message);
            await stderr.WriteLineAsync($"error: {OneLine(message)}");
            return BadInput;
        }

        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration
            {
                Output = stdout,
                Error = stderr,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
            }, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stderr.WriteLineAsync("error: interrupted; outputs in progress were removed");
            return Interrupted;
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

    /// <summary>The parser's "Cannot parse argument 'x' for option '--seed' as expected type 'System.Int32'" in the words of the rest of the tool.</summary>
    private static string Plain(string message)
    {
        var match = System.Text.RegularExpressions.Regex.Match(message, @"^Cannot parse argument '(.*)' for option '([^']+)' as expected type '([^']+)'\.?$");
        if (!match.Success)
        {
            return message;
        }

        var expected = match.Groups[3].Value switch
        {
            "System.Int32" => "a whole number from -2147483648 to 2147483647",
            "System.Int64" => "a whole number from -9223372036854775808 to 9223372036854775807",
            "System.Double" => "a number",
            var type => "a value of type " + type,
        };
        return $"{match.Groups[2].Value}: \"{match.Groups[1].Value}\" is not {expected}";
    }

    private static string CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var result = parsed.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Insert(0, result.Command.Name);
        }

        return string.Join(' ', names);
    }

    private static bool IsUserError(Exception e) => e is UserInputException or ConfigException or TraceFormatException
        or OptionsBindingException or InvalidOptionsException or IOException or UnauthorizedAccessException;

    /// <summary>
    /// A message as one line for a person: white space folded; the hidden scratch an output is written to named as the
    /// output itself (".x.parquet.autoscale-tmp.GUID" is "x.parquet"); the runtime's "Problem : 'path'" as "path: problem";
    /// and at most 1,000 characters, whatever a cell or a path held.
    /// </summary>
    internal static string OneLine(string message)
    {
        var line = System.Text.RegularExpressions.Regex.Replace(message, @"\s+", " ").Trim();
        line = System.Text.RegularExpressions.Regex.Replace(line, @"\.([^/\s'""]+)\.autoscale-tmp\.[0-9a-f]{32}(\.lock)?", "$1");
        var runtime = System.Text.RegularExpressions.Regex.Match(line, @"^(?<problem>[A-Z][^:']*?) : '(?<path>[^']+)'\.?$");
        if (runtime.Success)
        {
            var problem = runtime.Groups["problem"].Value;
            line = $"{runtime.Groups["path"].Value}: {char.ToLowerInvariant(problem[0])}{problem[1..]}";
        }

        const int Most = 1000;
        return line.Length <= Most ? line : $"{line[..Most]}... ({line.Length:N0} characters in all)";
    }
}

/// <summary>What every command needs: the streams and the policy catalog.</summary>
internal sealed record CliContext(TextWriter Stdout, TextWriter Stderr, bool OutputRedirected, PolicyCatalog Catalog);
