using System.Text.Json;
using Autoscale.Backtesting.Serving;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Optimization;
using Autoscale.Config.Hardware;

namespace Autoscale.Config.Benchmarks;

/// <summary>The runs of one server and the config that describes it.</summary>
/// <param name="ConfigFile">The config (its <c>replica.serving</c>).</param>
/// <param name="Runs">The server's benchmark runs (overloaded ones included: they are named and left out).</param>
public sealed record ServerRuns(string ConfigFile, IReadOnlyList<BenchmarkRun> Runs);

/// <summary>What a fit found: the calibration (or step coefficients), and the error before and after on the runs fitted and held out.</summary>
public sealed record FitResult(
    HardwareCalibrationOptions? Calibration,
    StepSecondsOptions? StepSeconds,
    IReadOnlyList<(string Run, double TtftBefore, double E2eBefore, double TtftAfter, double E2eAfter)> Fitted,
    IReadOnlyList<(string Run, double Ttft, double E2e)> HeldOut,
    IReadOnlyList<string> LeftOut,
    int Evaluations);

/// <summary>
/// Fits a serving profile to benchmark runs of real servers: each run is replayed as <c>serving validate</c> replays it,
/// and the error of mean TTFT and mean end-to-end latency (each run's absolute percentage errors, their RMS over all runs)
/// is minimised with MathNet.Numerics' Nelder-Mead simplex: derivative-free (a replay's figures move in steps as requests
/// change batches, so gradients mislead), robust with the half-dozen unknowns here, and already a dependency. With
/// <c>hardware</c> in the configs it fits the hardware model's shared factors and overheads, so a fit on some models
/// predicts another; without, the step coefficients of the one server.
/// </summary>
public static class ServingFit
{
    /// <summary>The calibration fields fitted, as multiples of the starting set's (searched on a log scale, so they stay positive).</summary>
    private static readonly string[] Fields = ["prefillCompute", "decodeMemory", "weightLoad", "perStepSeconds", "requestOverheadSeconds", "perOutputTokenOverheadSeconds"];

    public static FitResult Fit(IReadOnlyList<ServerRuns> servers, IReadOnlyList<ServerRuns> holdout, CancellationToken cancellationToken)
    {
        var configs = servers.Select(s => Load(s.ConfigFile)).ToList();
        var hardware = configs.All(c => c.Serving.Hardware is not null);
        if (!hardware && configs.Any(c => c.Serving.Hardware is not null))
        {
            throw new ConfigException(servers[0].ConfigFile, "replica.serving.hardware", "either every config names its hardware (the shared factors are fitted) or none does (one server's step coefficients are)");
        }

        if (!hardware && configs.Count > 1)
        {
            throw new ConfigException(servers[1].ConfigFile, "replica.serving", "runs of several servers need hardware in each config: their step coefficients differ, the hardware model's factors are shared");
        }

        var runs = servers.Zip(configs).SelectMany(p => p.First.Runs.Where(r => r.Overloaded is null).Select(r => (Config: p.Second, Run: r))).ToList();
        var leftOut = servers.SelectMany(s => s.Runs.Where(r => r.Overloaded is not null).Select(r => $"{r.Name}: {r.Overloaded}")).ToList();
        if (runs.Count == 0)
        {
            throw new ConfigException(servers[0].ConfigFile, "", "no run to fit: every benchmark run was overloaded (" + string.Join("; ", leftOut) + ")");
        }

        var start = hardware ? HardwareCalibration.From(configs[0].Serving.Hardware!.Calibration) : null;
        var startStep = configs[0].Serving.StepSeconds;
        var evaluations = 0;
        (double Ttft, double E2e)[] Errors(Vector<double> x, IReadOnlyList<(LoadedConfig Config, BenchmarkRun Run)> which)
        {
            var errors = new (double, double)[which.Count];
            Parallel.For(0, which.Count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
            {
                var profile = Profile(which[i].Config, x, start, startStep);
                var v = ServingValidation.Replay(which[i].Run, profile, cancellationToken);
                errors[i] = (Ape(v.Predicted.TtftMean, v.Run.Measured.TtftMean), Ape(v.Predicted.E2eMean, v.Run.Measured.E2eMean));
            });
            return errors;
        }

        var best = (Value: double.MaxValue, Point: (Vector<double>?)null);
        double Objective(Vector<double> x)
        {
            Interlocked.Increment(ref evaluations);
            var errors = Errors(x, runs);
            var squares = errors.SelectMany(e => new[] { e.Ttft, e.E2e }).Where(double.IsFinite).Select(e => e * e).ToList();
            var value = squares.Count == 0 ? double.MaxValue : Math.Sqrt(squares.Average());
            if (value < best.Value)
            {
                best = (value, x.Clone());
            }

            return value;
        }

        var dimensions = hardware ? Fields.Length : 4;
        var origin = Vector<double>.Build.Dense(dimensions);
        var before = Errors(origin, runs);
        Vector<double> x;
        try
        {
            // Converged when the simplex's values agree within 0.01 percentage points; at most 250 iterations (a few hundred replays of every run).
            x = new NelderMeadSimplex(1e-4, 250).FindMinimum(ObjectiveFunction.Value(Objective), origin, Vector<double>.Build.Dense(dimensions, 0.3)).MinimizingPoint;
        }
        catch (MaximumIterationsException)
        {
            // Not converged within the budget: the best point seen is the answer (its error is stated like any other).
            x = best.Point ?? origin;
        }

        var after = Errors(x, runs);
        var held = holdout.SelectMany(s => s.Runs.Where(r => r.Overloaded is null).Select(r => (Config: Load(s.ConfigFile), Run: r))).ToList();
        var heldErrors = Errors(x, held);
        var fitted = runs.Select((r, i) => (r.Run.Name, before[i].Ttft, before[i].E2e, after[i].Ttft, after[i].E2e)).ToList();
        var heldOut = held.Select((r, i) => (r.Run.Name, heldErrors[i].Ttft, heldErrors[i].E2e)).ToList();
        return hardware
            ? new FitResult(CalibrationAt(x, start!), null, fitted, heldOut, leftOut, evaluations)
            : new FitResult(null, StepAt(x, startStep!), fitted, heldOut, leftOut, evaluations);
    }

    private static double Ape(double? predicted, double? measured) =>
        predicted is { } p && measured is { } m && m > 0 ? Math.Abs(p - m) / m * 100 : double.NaN;

    private sealed record LoadedConfig(string File, ServingOptions Serving, JsonElement Given);

    private static LoadedConfig Load(string file)
    {
        var (serving, given) = ServingValidation.LoadServing(file);
        return new LoadedConfig(file, serving, given);
    }

    private static HardwareCalibrationOptions CalibrationAt(Vector<double> x, HardwareCalibration start) => new()
    {
        Name = start.Name.Split(' ')[0],
        PrefillCompute = Round(start.PrefillCompute * Math.Exp(x[0])),
        DecodeMemory = Round(start.DecodeMemory * Math.Exp(x[1])),
        WeightLoad = Round(start.WeightLoad * Math.Exp(x[2])),
        PerStepSeconds = Round(start.PerStepSeconds * Math.Exp(x[3])),
        RequestOverheadSeconds = Round(start.RequestOverheadSeconds * Math.Exp(x[4])),
        PerOutputTokenOverheadSeconds = Round(start.PerOutputTokenOverheadSeconds * Math.Exp(x[5])),
    };

    private static StepSecondsOptions StepAt(Vector<double> x, StepSecondsOptions start) => new()
    {
        Base = Round(start.Base!.Value * Math.Exp(x[0])),
        PerPrefillToken = Round(start.PerPrefillToken * Math.Exp(x[1])),
        PerDecodeToken = Round(start.PerDecodeToken * Math.Exp(x[2])),
        PerPrefillAttentionToken = start.PerPrefillAttentionToken,
        PerDecodeContextToken = Round(start.PerDecodeContextToken * Math.Exp(x[3])),
    };

    private static double Round(double value) => value == 0 ? 0 : double.Parse(value.ToString("G6", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);

    private static ServingProfile Profile(LoadedConfig config, Vector<double> x, HardwareCalibration? start, StepSecondsOptions? startStep)
    {
        // A fresh copy of the config's serving options each time (Apply writes the derived fields into it).
        var serving = CopyOf(config);
        if (start is not null)
        {
            var fitted = CalibrationAt(x, start);
            var own = serving.Hardware!.Calibration;
            serving.Hardware.Calibration = fitted;
            if (own?.Name is { } name)
            {
                fitted.Name = name;
            }

            Hardware.HardwareProfiles.Apply(serving, config.Given, config.File, "replica.serving");
        }
        else
        {
            var step = StepAt(x, startStep!);
            serving.StepSeconds = step;
        }

        return ServingProfile.From(serving);
    }

    private static ServingOptions CopyOf(LoadedConfig config)
    {
        var serving = (ServingOptions)ConfigLoader.Bind(typeof(ServingOptions), config.Given, "replica.serving", config.File);
        return serving;
    }
}
