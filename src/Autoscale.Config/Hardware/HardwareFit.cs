using System.Globalization;

namespace Autoscale.Config.Hardware;

/// <summary>One measured step: its features under a model and GPU's basis, and the seconds it took.</summary>
/// <param name="Group">What the step ran on (model, GPU, tensor parallelism), for per-group errors.</param>
/// <param name="Kind"><c>prefill</c> or <c>decode</c>.</param>
/// <param name="PromptTokens">The prompt size.</param>
/// <param name="Batch">Prompts prefilled, or sequences decoding.</param>
/// <param name="Features">The step's features (<see cref="HardwareModel.Features"/>).</param>
/// <param name="Seconds">The measured time.</param>
internal sealed record MeasuredStep(string Group, string Kind, int PromptTokens, int Batch, double[] Features, double Seconds)
{
    /// <summary>The step time a calibration predicts.</summary>
    public double Predict(double[] factors)
    {
        var sum = 0.0;
        for (var i = 0; i < factors.Length; i++)
        {
            sum += factors[i] * Features[i];
        }

        return sum;
    }
}

/// <summary>
/// Fits a calibration's factors to measured steps: each step time is linear in the factors (the roofline basis times
/// each), so the fit is a least-squares problem on relative errors, solved with the factors kept non-negative
/// (projected coordinate descent on the normal equations: eight unknowns, exact to the tolerance, deterministic).
/// </summary>
internal static class HardwareFit
{
    /// <summary>The factors (in <see cref="HardwareModel.Factors"/> order) that minimise the squared relative errors of <paramref name="steps"/>, each at least 0.</summary>
    public static double[] Fit(IReadOnlyList<MeasuredStep> steps, IReadOnlyDictionary<int, double>? fixedFactors = null)
    {
        var n = steps[0].Features.Length;
        if (fixedFactors is { Count: > 0 })
        {
            // A factor held fixed: its part of each step is taken from the measured time, and its column left out.
            var free = Enumerable.Range(0, n).Where(i => !fixedFactors.ContainsKey(i)).ToArray();
            var reduced = steps.Select(s => s with
            {
                Features = free.Select(i => s.Features[i]).ToArray(),
                Seconds = s.Seconds - fixedFactors.Sum(f => f.Value * s.Features[f.Key]),
            }).ToList();
            var weights = steps.Select(s => s.Seconds).ToArray();
            var part = FitScaled(reduced, weights);
            var all = new double[n];
            for (var k = 0; k < free.Length; k++)
            {
                all[free[k]] = part[k];
            }

            foreach (var (i, v) in fixedFactors)
            {
                all[i] = v;
            }

            return all;
        }

        return FitScaled(steps, steps.Select(s => s.Seconds).ToArray());
    }

    /// <summary>The non-negative least-squares factors of <paramref name="steps"/>, each row's error relative to <paramref name="measured"/>.</summary>
    private static double[] FitScaled(IReadOnlyList<MeasuredStep> steps, double[] measured)
    {
        var n = steps[0].Features.Length;

        // Scale each column to unit size so the coordinate steps are well conditioned.
        var scale = new double[n];
        for (var r = 0; r < steps.Count; r++)
        {
            for (var j = 0; j < n; j++)
            {
                scale[j] += Math.Pow(steps[r].Features[j] / measured[r], 2);
            }
        }

        for (var j = 0; j < n; j++)
        {
            scale[j] = scale[j] > 0 ? Math.Sqrt(scale[j]) : 1;
        }

        var gram = new double[n, n];
        var target = new double[n];
        for (var r = 0; r < steps.Count; r++)
        {
            var s = steps[r];
            for (var i = 0; i < n; i++)
            {
                var ai = s.Features[i] / measured[r] / scale[i];
                target[i] += ai * s.Seconds / measured[r];
                for (var j = 0; j < n; j++)
                {
                    gram[i, j] += ai * s.Features[j] / measured[r] / scale[j];
                }
            }
        }

        var x = new double[n];
        for (var sweep = 0; sweep < 200_000; sweep++)
        {
            var moved = 0.0;
            for (var i = 0; i < n; i++)
            {
                if (gram[i, i] <= 0)
                {
                    continue;
                }

                var gradient = -target[i];
                for (var j = 0; j < n; j++)
                {
                    gradient += gram[i, j] * x[j];
                }

                var next = Math.Max(0, x[i] - (gradient / gram[i, i]));
                moved = Math.Max(moved, Math.Abs(next - x[i]));
                x[i] = next;
            }

            if (moved < 1e-13)
            {
                break;
            }
        }

        return x.Select((v, j) => v / scale[j]).ToArray();
    }

    /// <summary>
    /// The steps of Splitwise's measurements (the CSV of <c>data/calibration</c>): for each row, the prefill of its batch
    /// of prompts and one decode step at its batch (the context: the prompt and half the generated tokens).
    /// </summary>
    public static List<MeasuredStep> Splitwise(string text)
    {
        var steps = new List<MeasuredStep>();
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var header = lines[0].Split(',');
        int Col(string name) => Array.IndexOf(header, name) is var i and >= 0 ? i : throw new FormatException($"the Splitwise CSV has no column {name}");
        var (model, hardware, prompt, batch, tokens, promptTime, tokenTime, tp) =
            (Col("model"), Col("hardware"), Col("prompt_size"), Col("batch_size"), Col("token_size"), Col("prompt_time"), Col("token_time"), Col("tensor_parallel"));
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',');
            var spec = ModelCatalog.Find(f[model]) ?? throw new FormatException($"unknown model {f[model]}");
            var gpu = GpuCatalog.Find(f[hardware]) ?? throw new FormatException($"unknown GPU {f[hardware]}");
            var degree = int.Parse(f[tp], CultureInfo.InvariantCulture);
            var basis = HardwareModel.Basis(spec, gpu, degree, "fp16");
            var (p, b, t) = (int.Parse(f[prompt], CultureInfo.InvariantCulture), int.Parse(f[batch], CultureInfo.InvariantCulture), int.Parse(f[tokens], CultureInfo.InvariantCulture));
            var group = $"{f[model]} {f[hardware]} TP{degree}";
            steps.Add(new MeasuredStep(group, "prefill", p, b, HardwareModel.Features(basis, (double)b * p, (double)b * p * p, 0, 0), double.Parse(f[promptTime], CultureInfo.InvariantCulture) / 1e3));
            steps.Add(new MeasuredStep(group, "decode", p, b, HardwareModel.Features(basis, 0, 0, b, b * (p + (t / 2.0))), double.Parse(f[tokenTime], CultureInfo.InvariantCulture) / 1e3));
        }

        return steps;
    }

    /// <summary>The median of |predicted - measured| / measured over <paramref name="steps"/>, in percent.</summary>
    public static double MedianErrorPercent(IEnumerable<MeasuredStep> steps, double[] factors)
    {
        var errors = steps.Select(s => Math.Abs(s.Predict(factors) - s.Seconds) / s.Seconds * 100).Order().ToArray();
        return errors.Length == 0 ? double.NaN : errors.Length % 2 == 1 ? errors[errors.Length / 2] : (errors[(errors.Length / 2) - 1] + errors[errors.Length / 2]) / 2;
    }
}
