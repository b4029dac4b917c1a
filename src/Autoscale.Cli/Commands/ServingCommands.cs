using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Autoscale.Backtesting.Serving;

namespace Autoscale.Cli.Commands;

/// <summary><c>autoscale serving fit</c> and <c>serving profile</c>: a serving profile's step coefficients fitted from measurements, or derived from a model and a GPU.</summary>
internal static class ServingCommands
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static Command Create(CliContext context)
    {
        var command = new Command("serving", "Serving profiles for LLM-aware replays (replica.serving).");
        command.Subcommands.Add(Fit(context));
        command.Subcommands.Add(Profile(context));
        return command;
    }

    private static Command Profile(CliContext context)
    {
        var model = new Option<string>("--model") { Description = "The model: a Hugging Face id (meta-llama/Llama-2-70b-hf), its last segment (Llama-2-70b-hf), or the path of a config.json.", Required = true };
        var gpu = new Option<string>("--gpu") { Description = "The GPU: H100-SXM, H100-PCIe, H200, A100-80GB, A100-40GB, L40S, L4, A10G or B200.", Required = true };
        var tp = new Option<int>("--tp") { Description = "GPUs the model is sharded over (tensor parallelism).", DefaultValueFactory = _ => 1 };
        var dtype = new Option<string>("--dtype") { Description = "The weights' type: bf16, fp16 or fp8.", DefaultValueFactory = _ => "bf16" };
        var memory = new Option<double>("--gpu-memory-utilization") { Description = "The share of GPU memory the server may use (vLLM's default 0.9).", DefaultValueFactory = _ => 0.9 };
        var command = new Command("profile", "Print the serving profile a model and a GPU give ({\"serving\": {...}}, every derived field filled, for replica.serving); how each number was derived goes to standard error.")
        {
            model, gpu, tp, dtype, memory,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var hardware = new HardwareOptions
            {
                Model = parse.GetValue(model),
                Gpu = parse.GetValue(gpu),
                TensorParallel = parse.GetValue(tp),
                Dtype = parse.GetValue(dtype)!,
                GpuMemoryUtilization = parse.GetValue(memory),
            };
            if (OptionRules.Validate(hardware, typeof(HardwareOptions)) is [var first, ..])
            {
                var field = first.Path.TrimStart('.') is { Length: > 0 } path ? path : first.Problem.Split(' ')[0];
                var flag = field switch
                {
                    "tensorParallel" => "--tp",
                    "gpuMemoryUtilization" => "--gpu-memory-utilization",
                    var other => "--" + other,
                };
                throw new UserInputException($"{flag}: {first.Problem}");
            }

            Autoscale.Config.Hardware.DerivedProfile derived;
            try
            {
                derived = Autoscale.Config.Hardware.HardwareProfiles.Derive(hardware, Path.Combine(Environment.CurrentDirectory, "command line"), "");
            }
            catch (Autoscale.Config.ConfigException e)
            {
                var flag = e.Path switch { ".model" => "--model", ".gpu" => "--gpu", _ => e.Problem.Contains("GPUs", StringComparison.Ordinal) || e.Problem.Contains("fit in", StringComparison.Ordinal) ? "--tp" : "--model" };
                throw new UserInputException($"{flag}: {e.Problem}");
            }

            var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartObject();
                json.WriteStartObject("serving");
                json.WriteStartObject("hardware");
                json.WriteString("model", hardware.Model);
                json.WriteString("gpu", hardware.Gpu);
                json.WriteNumber("tensorParallel", hardware.TensorParallel);
                json.WriteString("dtype", hardware.Dtype);
                json.WriteNumber("gpuMemoryUtilization", hardware.GpuMemoryUtilization);
                json.WriteEndObject();
                json.WriteStartObject("stepSeconds");
                json.WriteNumber("base", Round(derived.BaseSeconds));
                json.WriteNumber("perPrefillToken", Round(derived.PerPrefillTokenSeconds));
                json.WriteNumber("perPrefillAttentionToken", Round(derived.PerPrefillAttentionTokenSeconds));
                json.WriteNumber("perDecodeToken", Round(derived.PerDecodeTokenSeconds));
                json.WriteNumber("perDecodeContextToken", Round(derived.PerDecodeContextTokenSeconds));
                json.WriteEndObject();
                json.WriteNumber("kvCacheTokens", derived.KvCacheTokens);
                json.WriteNumber("maxModelLen", derived.MaxModelLen);
                json.WriteNumber("requestOverheadSeconds", Round(derived.RequestOverheadSeconds));
                json.WriteNumber("perOutputTokenOverheadSeconds", Round(derived.PerOutputTokenOverheadSeconds));
                json.WriteEndObject();
                json.WriteEndObject();
            }

            await context.Stdout.WriteLineAsync(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            foreach (var line in derived.Derivation)
            {
                await context.Stderr.WriteLineAsync(line);
            }

            return AutoscaleCli.Success;
        });
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
