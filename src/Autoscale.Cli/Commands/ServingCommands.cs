using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Autoscale.Backtesting.Serving;

namespace Autoscale.Cli.Commands;

/// <summary><c>autoscale serving fit</c>: a serving profile's step coefficients fitted from measurements.</summary>
internal static class ServingCommands
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static Command Create(CliContext context)
    {
        var command = new Command("serving", "Serving profiles for LLM-aware replays (replica.serving).");
        command.Subcommands.Add(Fit(context));
        return command;
    }

    private static Command Fit(CliContext context)
    {
        var benchmark = CliOptions.RequiredPath("--benchmark", "A CSV of measurements: per step (prefill_tokens, decode_tokens, step_seconds or step_ms) or per request at a known concurrency (concurrency, input_tokens, output_tokens, ttft_ms or ttft_seconds, itl_ms or itl_seconds).");
        var command = new Command("fit", "Fit stepSeconds (base, perPrefillToken, perDecodeToken) by least squares; prints the profile as config JSON (for replica.serving) and the fit's error on standard error.") { benchmark };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(benchmark)!;
            StepFit.Result fit;
            try
            {
                fit = StepFit.Fit(StepFit.Read(path));
            }
            catch (FormatException e)
            {
                throw new UserInputException(e.Message);
            }
            catch (InvalidOperationException e)
            {
                throw new UserInputException($"{path}: {e.Message}");
            }

            var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartObject();
                json.WriteStartObject("stepSeconds");
                json.WriteNumber("base", Round(fit.BaseSeconds));
                json.WriteNumber("perPrefillToken", Round(fit.PerPrefillTokenSeconds));
                json.WriteNumber("perDecodeToken", Round(fit.PerDecodeTokenSeconds));
                json.WriteEndObject();
                json.WriteEndObject();
            }

            await context.Stdout.WriteLineAsync(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            await context.Stderr.WriteLineAsync(string.Create(Ci, $"fitted {fit.Rows} measurements: RMS error {fit.RmsRelativeError:P2}, worst {fit.MaxRelativeError:P2}, {(fit.RSquared is { } r2 ? $"R² {r2:0.####}" : "R² undefined (the measured times do not vary)")}. Paste it into replica.serving."));
            return AutoscaleCli.Success;
        });
        return command;
    }

    /// <summary>Seconds to 6 significant digits: enough for microsecond coefficients, no float noise in the config.</summary>
    private static double Round(double seconds) => seconds == 0 ? 0 : double.Parse(seconds.ToString("G6", Ci), Ci);
}
