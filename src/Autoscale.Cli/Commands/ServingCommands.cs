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
        command.Subcommands.Add(Validate(context));
        return command;
    }

    private static Command Validate(CliContext context)
    {
        var config = CliOptions.RequiredPath("--config", "The config whose replica.serving (stepSeconds or hardware, maxSequences, maxBatchedTokens) is the server the runs measured.");
        var benchmark = new Option<string[]>("--benchmark")
        {
            Description = "Benchmark results of that server: vLLM benchmark_serving --save-result JSON files, or inference-perf report folders (config.yaml and stage_N_lifecycle_metrics.json); repeat or give several.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var format = CliOptions.Format("table", "json");
        var command = new Command("validate", "Replay each benchmark run with the config's serving profile and compare the predicted TTFT, end-to-end latency (mean, p50, p90, p99) and ITL with the measured ones: signed errors, (predicted - measured) / measured x 100.")
        {
            config, benchmark, format,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var configFile = parse.GetValue(config)!;
            var profile = Autoscale.Config.Benchmarks.ServingValidation.LoadProfile(configFile);
            var runs = new List<Autoscale.Config.Benchmarks.BenchmarkRun>();
            foreach (var path in parse.GetValue(benchmark) ?? [])
            {
                try
                {
                    runs.AddRange(Autoscale.Config.Benchmarks.BenchmarkRuns.Read(path));
                }
                catch (FormatException e)
                {
                    throw new UserInputException(e.Message.StartsWith(path, StringComparison.Ordinal) ? e.Message : $"{path}: {e.Message}");
                }
            }

            var validated = runs.Where(r => r.Overloaded is null).Select(r => Autoscale.Config.Benchmarks.ServingValidation.Replay(r, profile, cancellationToken)).ToList();
            var leftOut = runs.Where(r => r.Overloaded is not null).ToList();
            await context.Stdout.WriteAsync(parse.GetValue(format) == "json" ? ValidationJson(validated, leftOut) : ValidationTable(validated, leftOut));
            return AutoscaleCli.Success;
        });
        return command;
    }

    private static string ValidationJson(List<Autoscale.Config.Benchmarks.ValidatedRun> validated, List<Autoscale.Config.Benchmarks.BenchmarkRun> leftOut)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            void Figures(string name, IEnumerable<(string Name, double? Value)> figures)
            {
                json.WriteStartObject(name);
                foreach (var (key, value) in figures)
                {
                    if (value is { } v && double.IsFinite(v))
                    {
                        json.WriteNumber(key, Math.Round(v, 6));
                    }
                    else
                    {
                        json.WriteNull(key);
                    }
                }

                json.WriteEndObject();
            }

            json.WriteStartObject();
            json.WriteStartArray("runs");
            foreach (var v in validated)
            {
                var compared = v.Compared().ToList();
                json.WriteStartObject();
                json.WriteString("name", v.Run.Name);
                json.WriteNumber("requests", v.Run.Input.Length);
                Figures("measured", compared.Select(c => (c.Name, c.Measured)));
                Figures("predicted", compared.Select(c => (c.Name, c.Predicted)));
                Figures("errorPercent", compared.Select(c => (c.Name, c.ErrorPercent)));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("leftOut");
            foreach (var run in leftOut)
            {
                json.WriteStartObject();
                json.WriteString("name", run.Name);
                json.WriteString("reason", run.Overloaded);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static string ValidationTable(List<Autoscale.Config.Benchmarks.ValidatedRun> validated, List<Autoscale.Config.Benchmarks.BenchmarkRun> leftOut)
    {
        var text = new System.Text.StringBuilder();
        string S(double? seconds) => seconds is { } v && double.IsFinite(v) ? v.ToString(v < 1 ? "0.0000" : "0.000", Ci) : "-";
        string P(double? percent) => percent is { } v ? v.ToString("+0.0;-0.0", Ci) + " %" : "-";
        text.Append("run | requests | TTFT mean measured | predicted | error | E2E mean measured | predicted | error | ITL mean measured | predicted | error\n");
        foreach (var v in validated)
        {
            var c = v.Compared().ToDictionary(x => x.Name);
            var (ttft, e2e, itl) = (c["ttftMeanSeconds"], c["e2eMeanSeconds"], c["itlMeanSeconds"]);
            text.Append(Ci, $"{v.Run.Name} | {v.Run.Input.Length} | {S(ttft.Measured)} | {S(ttft.Predicted)} | {P(ttft.ErrorPercent)} | {S(e2e.Measured)} | {S(e2e.Predicted)} | {P(e2e.ErrorPercent)} | {S(itl.Measured)} | {S(itl.Predicted)} | {P(itl.ErrorPercent)}\n");
        }

        double? Median(IEnumerable<double?> values)
        {
            var sorted = values.OfType<double>().Select(Math.Abs).Order().ToArray();
            return sorted.Length == 0 ? null : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        }

        if (validated.Count > 0)
        {
            var all = validated.Select(v => v.Compared().ToDictionary(x => x.Name)).ToList();
            text.Append(Ci, $"median absolute error over {validated.Count} run{(validated.Count == 1 ? "" : "s")}: TTFT mean {P(Median(all.Select(a => a["ttftMeanSeconds"].ErrorPercent))).TrimStart('+')}, E2E mean {P(Median(all.Select(a => a["e2eMeanSeconds"].ErrorPercent))).TrimStart('+')}, ITL mean {P(Median(all.Select(a => a["itlMeanSeconds"].ErrorPercent))).TrimStart('+')}\n");
        }

        foreach (var run in leftOut)
        {
            text.Append(Ci, $"left out {run.Name}: {run.Overloaded}\n");
        }

        return text.ToString();
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

            await context.Stdout.WriteLineAsync(ProfileJson(hardware, derived));
            foreach (var line in derived.Derivation)
            {
                await context.Stderr.WriteLineAsync(line);
            }

            return AutoscaleCli.Success;
        });
        return command;
    }

    /// <summary>The derived profile as replica.serving's JSON: the hardware it came from, the step coefficients, the KV cache and overheads.</summary>
    private static string ProfileJson(HardwareOptions hardware, Autoscale.Config.Hardware.DerivedProfile derived)
    {
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

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static Command Fit(CliContext context)
    {
        var benchmark = new Option<string[]>("--benchmark")
        {
            Description = "Without --config: a CSV of measurements, per step (prefill_tokens, decode_tokens, step_seconds or step_ms) or per request at a known concurrency (concurrency, input_tokens, output_tokens, ttft_ms or ttft_seconds, itl_ms or itl_seconds). "
                + "With --config: benchmark results of that server (vLLM benchmark_serving JSON, inference-perf report folders); repeat or give several.",
            AllowMultipleArgumentsPerToken = true,
        };
        var config = new Option<string?>("--config") { Description = "The config whose replica.serving is the server the --benchmark runs measured (hardware in it: the hardware model's factors are fitted; else its step coefficients)." };
        var runsFile = new Option<string?>("--runs") { Description = "RUNS.json, {\"runs\": [{\"config\": \"C1.json\", \"benchmark\": \"DIR_OR_FILE\"}, ...]}: runs of several servers with their configs (paths relative to the file)." };
        var holdout = new Option<string[]>("--holdout") { Description = "Runs not fitted, to state the error on: benchmark files of the --config server, or a RUNS.json.", AllowMultipleArgumentsPerToken = true };
        var command = new Command("fit", "Fit a serving profile: from step measurements (a CSV, least squares, prints stepSeconds), or from benchmark runs of real servers (--config or --runs: each run replayed, Nelder-Mead on the error of mean TTFT and end-to-end latency; prints {\"hardware\": {\"calibration\": ...}} or stepSeconds). The errors go to standard error.")
        {
            benchmark, config, runsFile, holdout,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var benchmarks = parse.GetValue(benchmark) ?? [];
            var configFile = parse.GetValue(config);
            var runs = parse.GetValue(runsFile);
            if (configFile is null && runs is null)
            {
                if (benchmarks.Length != 1)
                {
                    throw new UserInputException(benchmarks.Length == 0 ? "--benchmark: give the CSV of measurements (or --config with benchmark runs, or --runs)" : "--benchmark: one CSV of measurements (several benchmark runs need --config or --runs)");
                }

                return await FitSteps(context, benchmarks[0]);
            }

            if (configFile is not null && runs is not null)
            {
                throw new UserInputException("--config and --runs: give one (--runs names each run's config)");
            }

            var servers = runs is not null ? RunsFile(runs) : [new Autoscale.Config.Benchmarks.ServerRuns(configFile!, ReadRuns(benchmarks, "--benchmark"))];
            if (servers.Sum(s => s.Runs.Count) == 0)
            {
                throw new UserInputException("--benchmark: give the benchmark runs to fit (files or folders)");
            }

            var held = parse.GetValue(holdout) ?? [];
            var heldServers = held.Length == 1 && held[0].EndsWith(".json", StringComparison.OrdinalIgnoreCase) && IsRunsFile(held[0]) ? RunsFile(held[0])
                : held.Length > 0 ? [new Autoscale.Config.Benchmarks.ServerRuns(configFile ?? throw new UserInputException("--holdout: with --runs, give a RUNS.json of the held-out runs"), ReadRuns(held, "--holdout"))] : [];
            var fit = Autoscale.Config.Benchmarks.ServingFit.Fit(servers, heldServers, cancellationToken);
            await context.Stdout.WriteLineAsync(FitJson(fit));
            await ReportFitAsync(context, fit);
            return AutoscaleCli.Success;
        });
        return command;
    }

    /// <summary>The fitted profile as the config's JSON: <c>{"hardware": {"calibration": ...}}</c> for a hardware model, else <c>{"stepSeconds": ...}</c>.</summary>
    private static string FitJson(Autoscale.Config.Benchmarks.FitResult fit)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            if (fit.Calibration is { } c)
            {
                json.WriteStartObject("hardware");
                json.WriteStartObject("calibration");
                json.WriteString("name", c.Name);
                json.WriteNumber("prefillCompute", c.PrefillCompute!.Value);
                json.WriteNumber("decodeMemory", c.DecodeMemory!.Value);
                json.WriteNumber("weightLoad", c.WeightLoad!.Value);
                json.WriteNumber("perStepSeconds", c.PerStepSeconds!.Value);
                json.WriteNumber("requestOverheadSeconds", c.RequestOverheadSeconds!.Value);
                json.WriteNumber("perOutputTokenOverheadSeconds", c.PerOutputTokenOverheadSeconds!.Value);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            else
            {
                var step = fit.StepSeconds!;
                json.WriteStartObject("stepSeconds");
                json.WriteNumber("base", step.Base!.Value);
                json.WriteNumber("perPrefillToken", step.PerPrefillToken);
                json.WriteNumber("perPrefillAttentionToken", step.PerPrefillAttentionToken);
                json.WriteNumber("perDecodeToken", step.PerDecodeToken);
                json.WriteNumber("perDecodeContextToken", step.PerDecodeContextToken);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The fit's errors on standard error: each fitted run before and after, the held-out runs, the runs left out.</summary>
    private static async Task ReportFitAsync(CliContext context, Autoscale.Config.Benchmarks.FitResult fit)
    {
        string Rms(IEnumerable<double> errors)
        {
            var finite = errors.Where(double.IsFinite).ToList();
            return finite.Count == 0 ? "-" : Math.Sqrt(finite.Select(e => e * e).Average()).ToString("0.0", Ci) + " %";
        }

        foreach (var (run, tb, eb, ta, ea) in fit.Fitted)
        {
            await context.Stderr.WriteLineAsync(string.Create(Ci, $"fitted {run}: mean TTFT error {tb:0.0} % -> {ta:0.0} %, mean E2E {eb:0.0} % -> {ea:0.0} %"));
        }

        await context.Stderr.WriteLineAsync($"fitted {fit.Fitted.Count} run{(fit.Fitted.Count == 1 ? "" : "s")} in {fit.Evaluations} replays of them: RMS error {Rms(fit.Fitted.SelectMany(f => new[] { f.TtftBefore, f.E2eBefore }))} before, {Rms(fit.Fitted.SelectMany(f => new[] { f.TtftAfter, f.E2eAfter }))} after");
        foreach (var (run, ttft, e2e) in fit.HeldOut)
        {
            await context.Stderr.WriteLineAsync(string.Create(Ci, $"held out {run}: mean TTFT error {ttft:0.0} %, mean E2E {e2e:0.0} %"));
        }

        if (fit.HeldOut.Count > 0)
        {
            await context.Stderr.WriteLineAsync($"held out {fit.HeldOut.Count} run{(fit.HeldOut.Count == 1 ? "" : "s")}: RMS error {Rms(fit.HeldOut.SelectMany(f => new[] { f.Ttft, f.E2e }))}");
        }

        foreach (var reason in fit.LeftOut)
        {
            await context.Stderr.WriteLineAsync($"left out {reason}");
        }
    }

    private static bool IsRunsFile(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("runs", out var runs) && runs.ValueKind == JsonValueKind.Array
                && runs.EnumerateArray().All(r => r.ValueKind == JsonValueKind.Object && r.TryGetProperty("config", out _));
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static List<Autoscale.Config.Benchmarks.BenchmarkRun> ReadRuns(IEnumerable<string> paths, string option)
    {
        var runs = new List<Autoscale.Config.Benchmarks.BenchmarkRun>();
        foreach (var path in paths)
        {
            try
            {
                runs.AddRange(Autoscale.Config.Benchmarks.BenchmarkRuns.Read(path));
            }
            catch (FormatException e)
            {
                throw new UserInputException($"{option}: {(e.Message.StartsWith(path, StringComparison.Ordinal) ? e.Message : $"{path}: {e.Message}")}");
            }
            catch (IOException e)
            {
                throw new UserInputException($"{option}: {path}: {e.Message}");
            }
        }

        return runs;
    }

    private static List<Autoscale.Config.Benchmarks.ServerRuns> RunsFile(string file)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(file));
        }
        catch (IOException e)
        {
            throw new UserInputException($"{file}: {e.Message}");
        }
        catch (JsonException e)
        {
            throw new UserInputException($"{file}: not valid JSON ({e.Message.Split('.')[0]}); expected {{\"runs\": [{{\"config\": \"C.json\", \"benchmark\": \"DIR_OR_FILE\"}}]}}");
        }

        using (document)
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(file)) ?? "";
            if (!document.RootElement.TryGetProperty("runs", out var runs) || runs.ValueKind != JsonValueKind.Array || runs.GetArrayLength() == 0)
            {
                throw new UserInputException($"{file}: runs must be a list of {{\"config\": \"C.json\", \"benchmark\": \"DIR_OR_FILE\"}}");
            }

            var servers = new List<Autoscale.Config.Benchmarks.ServerRuns>();
            var i = 0;
            foreach (var entry in runs.EnumerateArray())
            {
                string Field(string name) => entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
                    ? Path.Combine(folder, v.GetString()!)
                    : throw new UserInputException($"{file}: runs[{i}].{name} must be given (a path)");
                servers.Add(new Autoscale.Config.Benchmarks.ServerRuns(Field("config"), ReadRuns([Field("benchmark")], $"{file}: runs[{i}].benchmark")));
                i++;
            }

            return servers;
        }
    }

    private static async Task<int> FitSteps(CliContext context, string path)
    {
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
    }

    /// <summary>Seconds to 6 significant digits: enough for microsecond coefficients, no float noise in the config.</summary>
    private static double Round(double seconds) => seconds == 0 ? 0 : double.Parse(seconds.ToString("G6", Ci), Ci);
}
