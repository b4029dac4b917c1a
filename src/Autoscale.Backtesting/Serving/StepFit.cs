using System.Globalization;
using MathNet.Numerics.LinearAlgebra;

namespace Autoscale.Backtesting.Serving;

/// <summary>
/// Fits a serving profile's step coefficients (<c>base</c>, <c>perPrefillToken</c>, <c>perDecodeToken</c>) by least
/// squares from measurements: per-step rows (the batch's prefill tokens, the sequences decoding, the step's time), or
/// per-request summaries at a known concurrency (TTFT and inter-token latency, as vLLM's and GuideLLM's benchmarks
/// report them).
/// </summary>
/// <remarks>
/// Per-request rows use the steady state of continuous batching: with C requests running, each of i input and o output
/// tokens, a decode step holds C sequences and, on average, C * i / o prefill tokens (each request's prompt once per o
/// steps), so the inter-token latency is <c>base + perPrefillToken * C * i / o + perDecodeToken * C</c>; the first token
/// comes from a step that prefills the prompt beside the C - 1 others decoding,
/// <c>base + perPrefillToken * i + perDecodeToken * (C - 1)</c>.
/// </remarks>
public static class StepFit
{
    /// <summary>Fits beyond this condition number of the scaled design matrix are refused as ill-conditioned.</summary>
    public const double MaxConditionNumber = 1e6;

    /// <summary>The fitted coefficients (seconds) and how well they fit.</summary>
    /// <param name="BaseSeconds">Seconds every step takes.</param>
    /// <param name="PerPrefillTokenSeconds">Seconds per prefill token.</param>
    /// <param name="PerDecodeTokenSeconds">Seconds per sequence decoding.</param>
    /// <param name="Rows">Equations fitted (a per-request row gives two when it has both TTFT and ITL).</param>
    /// <param name="RmsRelativeError">Root mean square of (fitted - measured) / measured.</param>
    /// <param name="MaxRelativeError">The largest |fitted - measured| / measured.</param>
    /// <param name="RSquared">The share of the measurements' variance the fit explains.</param>
    public sealed record Result(double BaseSeconds, double PerPrefillTokenSeconds, double PerDecodeTokenSeconds, int Rows, double RmsRelativeError, double MaxRelativeError, double RSquared);

    /// <summary>One equation: seconds = base + prefill * perPrefillToken + decode * perDecodeToken.</summary>
    public readonly record struct Equation(double Prefill, double Decode, double Seconds, string Where);

    /// <summary>Reads a benchmark file (CSV with a header) into equations: per-step or per-request rows, told apart by their columns.</summary>
    /// <exception cref="FormatException">A missing column, a value that is not a number, or a negative one; the message names file, row and column.</exception>
    public static IReadOnlyList<Equation> Read(string path, string? displayName = null)
    {
        var name = displayName ?? path;
        using var reader = new StreamReader(path);
        var header = reader.ReadLine() ?? throw new FormatException($"{name}: empty file");
        var columns = header.Split(',').Select(c => c.Trim().Trim('"').ToLowerInvariant()).ToArray();
        int Find(params string[] names) => Array.FindIndex(columns, c => names.Contains(c));
        var step = Find("step_seconds", "step_time_seconds");
        var stepMs = Find("step_ms", "step_time_ms");
        var prefill = Find("prefill_tokens");
        var decode = Find("decode_tokens", "decode_sequences", "running");
        var concurrency = Find("concurrency", "max_concurrency");
        var input = Find("input_tokens", "input_len", "prompt_tokens");
        var output = Find("output_tokens", "output_len");
        var ttft = Find("ttft_seconds", "mean_ttft_seconds");
        var ttftMs = Find("ttft_ms", "mean_ttft_ms");
        var itl = Find("itl_seconds", "tpot_seconds", "mean_itl_seconds", "mean_tpot_seconds");
        var itlMs = Find("itl_ms", "tpot_ms", "mean_itl_ms", "mean_tpot_ms");
        var perStep = (step >= 0 || stepMs >= 0) && prefill >= 0 && decode >= 0;
        var perRequest = concurrency >= 0 && input >= 0 && output >= 0 && (ttft >= 0 || ttftMs >= 0 || itl >= 0 || itlMs >= 0);
        if (!perStep && !perRequest)
        {
            throw new FormatException($"{name}: needs per-step columns (prefill_tokens, decode_tokens, step_seconds or step_ms) or per-request ones (concurrency, input_tokens, output_tokens, and ttft_seconds/ttft_ms or itl_seconds/itl_ms); found {string.Join(", ", columns)}");
        }

        var equations = new List<Equation>();
        var row = 1;
        while (reader.ReadLine() is { } line)
        {
            row++;
            if (line.Trim().Length == 0)
            {
                continue;
            }

            var fields = line.Split(',');
            double Value(int column, string what, bool positive = false)
            {
                if (column >= fields.Length || !double.TryParse(fields[column].Trim().Trim('"'), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
                {
                    throw new FormatException($"{name}: row {row}, column {columns[column]}: \"{(column < fields.Length ? fields[column].Trim() : "")}\" is not a number ({what})");
                }

                if (v < 0 || (positive && v == 0))
                {
                    throw new FormatException($"{name}: row {row}, column {columns[column]}: {v.ToString(CultureInfo.InvariantCulture)} must be {(positive ? "> 0" : ">= 0")} ({what})");
                }

                return v;
            }

            if (perStep)
            {
                var seconds = step >= 0 ? Value(step, "the step's time", positive: true) : Value(stepMs, "the step's time", positive: true) / 1000;
                equations.Add(new Equation(Value(prefill, "prefill tokens"), Value(decode, "sequences decoding"), seconds, $"row {row}"));
                continue;
            }

            var c = Value(concurrency, "requests running at once", positive: true);
            var i = Value(input, "input tokens per request");
            var o = Value(output, "output tokens per request", positive: true);
            if (ttft >= 0 || ttftMs >= 0)
            {
                var first = ttft >= 0 ? Value(ttft, "time to first token", positive: true) : Value(ttftMs, "time to first token", positive: true) / 1000;
                equations.Add(new Equation(i, c - 1, first, $"row {row} (TTFT)"));
            }

            if (itl >= 0 || itlMs >= 0)
            {
                var gap = itl >= 0 ? Value(itl, "inter-token latency", positive: true) : Value(itlMs, "inter-token latency", positive: true) / 1000;
                equations.Add(new Equation(c * i / o, c, gap, $"row {row} (ITL)"));
            }
        }

        return equations;
    }

    /// <summary>Fits the three coefficients to <paramref name="equations"/> by least squares.</summary>
    /// <exception cref="InvalidOperationException">Too few rows, an ill-conditioned fit (the rows do not vary enough to tell the coefficients apart), or a negative coefficient.</exception>
    public static Result Fit(IReadOnlyList<Equation> equations)
    {
        ArgumentNullException.ThrowIfNull(equations);
        if (equations.Count < 3)
        {
            throw new InvalidOperationException($"{equations.Count} measurements cannot determine three coefficients: give at least 3 (many more, varied, for a trustworthy fit)");
        }

        // Scale each column to unit size so the condition number measures the rows' spread, not the units.
        var scale = new double[3];
        foreach (var e in equations)
        {
            scale[0] = 1;
            scale[1] = Math.Max(scale[1], Math.Abs(e.Prefill));
            scale[2] = Math.Max(scale[2], Math.Abs(e.Decode));
        }

        string[] names = ["base", "perPrefillToken", "perDecodeToken"];
        for (var k = 1; k < 3; k++)
        {
            if (scale[k] == 0)
            {
                throw new InvalidOperationException($"ill-conditioned: every row has zero {(k == 1 ? "prefill tokens" : "decoding sequences")}, so {names[k]} is not determined; measure steps that vary it");
            }
        }

        var a = Matrix<double>.Build.Dense(equations.Count, 3, (r, c) => c switch
        {
            0 => 1,
            1 => equations[r].Prefill / scale[1],
            _ => equations[r].Decode / scale[2],
        });
        var b = Vector<double>.Build.Dense(equations.Count, r => equations[r].Seconds);
        var svd = a.Svd(computeVectors: true);
        var condition = svd.ConditionNumber;
        if (!double.IsFinite(condition) || condition > MaxConditionNumber)
        {
            throw new InvalidOperationException($"ill-conditioned (condition number {condition:G3} > {MaxConditionNumber:G0}): the rows' prefill tokens and decoding sequences do not vary independently enough to tell base, perPrefillToken and perDecodeToken apart");
        }

        var x = svd.Solve(b);
        var coefficients = new[] { x[0], x[1] / scale[1], x[2] / scale[2] };
        for (var k = 0; k < 3; k++)
        {
            // A tiny negative from noise on a coefficient near zero is zero; a clearly negative one is a bad fit.
            var tolerance = 1e-6 * b.AbsoluteMaximum() / (k == 0 ? 1 : scale[k]);
            if (coefficients[k] < -tolerance || (k == 0 && coefficients[0] <= 0))
            {
                throw new InvalidOperationException($"the fit gives {names[k]} = {coefficients[k]:G4} s, which a step cannot take: the measurements do not follow the linear step model (check the units and columns)");
            }

            coefficients[k] = Math.Max(0, coefficients[k]);
        }

        double sumSq = 0, max = 0, ssRes = 0, ssTot = 0;
        var mean = equations.Average(e => e.Seconds);
        foreach (var e in equations)
        {
            var fitted = coefficients[0] + (coefficients[1] * e.Prefill) + (coefficients[2] * e.Decode);
            var relative = (fitted - e.Seconds) / e.Seconds;
            sumSq += relative * relative;
            max = Math.Max(max, Math.Abs(relative));
            ssRes += (fitted - e.Seconds) * (fitted - e.Seconds);
            ssTot += (e.Seconds - mean) * (e.Seconds - mean);
        }

        return new Result(coefficients[0], coefficients[1], coefficients[2], equations.Count, Math.Sqrt(sumSq / equations.Count), max, ssTot > 0 ? 1 - (ssRes / ssTot) : 1);
    }
}
