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
    /// <param name="RSquared">The share of the measurements' variance the fit explains; null when the measurements do not vary (there is no variance to explain).</param>
    public sealed record Result(double BaseSeconds, double PerPrefillTokenSeconds, double PerDecodeTokenSeconds, int Rows, double RmsRelativeError, double MaxRelativeError, double? RSquared);

    /// <summary>The largest value of each coefficient a serving profile takes (<c>replica.serving.stepSeconds</c>: base, perPrefillToken, perDecodeToken).</summary>
    private static readonly double[] MaxCoefficient = [60, 1, 1];

    /// <summary>One equation: seconds = base + prefill * perPrefillToken + decode * perDecodeToken.</summary>
    public readonly record struct Equation(double Prefill, double Decode, double Seconds, string Where);

    /// <summary>The most a benchmark file may hold (counted while reading, so a device or a stream is refused at this size).</summary>
    public const long MaxFileBytes = 256L << 20;

    /// <summary>The longest line a benchmark file may hold.</summary>
    public const int MaxLineChars = 65_536;

    /// <summary>The most prefill tokens, or sequences decoding, one measurement may claim (a step of 100 million tokens is no GPU's).</summary>
    public const double MaxTokensPerRow = 100_000_000;

    /// <summary>The longest step or latency a measurement may claim, in seconds (a day).</summary>
    public const double MaxSecondsPerRow = 86_400;

    /// <summary>Reads a benchmark file (CSV with a header) into equations: per-step or per-request rows, told apart by their columns.</summary>
    /// <exception cref="FormatException">A missing, repeated or contradictory column, a value that is not a number, or one out of range; the message names file, row and column.</exception>
    public static IReadOnlyList<Equation> Read(string path, string? displayName = null)
    {
        var name = displayName ?? path;
        var equations = new List<Equation>();
        try
        {
            using var reader = Autoscale.Shared.BoundedFile.Lines(path, MaxFileBytes, MaxLineChars);
            ReadRows(reader, name, equations);
        }
        catch (IOException e)
        {
            throw new FormatException($"{name}: {e.Message}", e);
        }

        return equations;
    }

    private static void ReadRows(Autoscale.Shared.BoundedFile.LineReader reader, string name, List<Equation> equations)
    {
        var header = reader.ReadLine() ?? throw new FormatException($"{name}: empty file");
        var layout = Layout.Of(header, name);
        while (reader.ReadLine() is { } line)
        {
            if (line.Trim().Length > 0)
            {
                layout.Add(line.Split(','), reader.Line, name, equations);
            }
        }
    }

    /// <summary>Where a measurements CSV keeps each figure (-1: not there), and whether a time column is in milliseconds.</summary>
    private sealed record Layout(string[] Columns, int Step, bool StepMs, int Prefill, int Decode, int Concurrency, int Input, int Output, int Ttft, bool TtftMs, int Itl, bool ItlMs)
    {
        private bool PerStep => Step >= 0 && Prefill >= 0 && Decode >= 0;

        /// <summary>The columns of <paramref name="header"/>: per-step ones or per-request ones, each named once.</summary>
        /// <exception cref="FormatException">A column repeated or said twice, or neither set of columns complete.</exception>
        public static Layout Of(string header, string name)
        {
            var columns = header.Split(',').Select(c => c.Trim().Trim('"').ToLowerInvariant()).ToArray();
            foreach (var repeated in columns.Where(c => c.Length > 0).GroupBy(c => c).Where(g => g.Count() > 1))
            {
                throw new FormatException($"{name}: column {Shown(repeated.Key)} is given {repeated.Count()} times in the header");
            }

            int Find(params string[] names)
            {
                var found = names.Where(columns.Contains).ToList();
                return found.Count switch
                {
                    0 => -1,
                    1 => Array.IndexOf(columns, found[0]),
                    _ => throw new FormatException($"{name}: columns {string.Join(" and ", found)} say the same thing; keep one"),
                };
            }

            int FindOne(string[] seconds, string[] ms, out bool inMs)
            {
                var s = Find(seconds);
                var m = Find(ms);
                if (s >= 0 && m >= 0)
                {
                    throw new FormatException($"{name}: columns {columns[s]} and {columns[m]} say the same thing; keep one");
                }

                inMs = m >= 0;
                return inMs ? m : s;
            }

            // Found in this order, so that of two mistakes the same one is named first.
            var step = FindOne(["step_seconds", "step_time_seconds"], ["step_ms", "step_time_ms"], out var stepMs);
            var (prefill, decode) = (Find("prefill_tokens"), Find("decode_tokens", "decode_sequences", "running"));
            var (concurrency, input, output) = (Find("concurrency", "max_concurrency"), Find("input_tokens", "input_len", "prompt_tokens"), Find("output_tokens", "output_len"));
            var ttft = FindOne(["ttft_seconds", "mean_ttft_seconds"], ["ttft_ms", "mean_ttft_ms"], out var ttftMs);
            var itl = FindOne(["itl_seconds", "tpot_seconds", "mean_itl_seconds", "mean_tpot_seconds"], ["itl_ms", "tpot_ms", "mean_itl_ms", "mean_tpot_ms"], out var itlMs);
            var layout = new Layout(columns, step, stepMs, prefill, decode, concurrency, input, output, ttft, ttftMs, itl, itlMs);
            var perRequest = layout.Concurrency >= 0 && layout.Input >= 0 && layout.Output >= 0 && (ttft >= 0 || itl >= 0);
            if (!layout.PerStep && !perRequest)
            {
                throw new FormatException($"{name}: needs per-step columns (prefill_tokens, decode_tokens, step_seconds or step_ms) or per-request ones (concurrency, input_tokens, output_tokens, and ttft_seconds/ttft_ms or itl_seconds/itl_ms); found {Shown(string.Join(", ", columns))}");
            }

            return layout;
        }

        /// <summary>The equations of one row: a step's, or a request's TTFT and inter-token latency at its concurrency.</summary>
        public void Add(string[] fields, long row, string name, List<Equation> equations)
        {
            double Value(int column, string what, double max, bool positive = false, bool ms = false) => Cell(fields, Columns, column, row, name, what, max, positive, ms);
            if (PerStep)
            {
                var seconds = Value(Step, "the step's time", MaxSecondsPerRow, positive: true, ms: StepMs);
                equations.Add(new Equation(Value(Prefill, "prefill tokens", MaxTokensPerRow), Value(Decode, "sequences decoding", MaxTokensPerRow), seconds, $"row {row}"));
                return;
            }

            var c = Value(Concurrency, "requests running at once", MaxTokensPerRow, positive: true);
            var i = Value(Input, "input tokens per request", MaxTokensPerRow);
            var o = Value(Output, "output tokens per request", MaxTokensPerRow, positive: true);
            if (Ttft >= 0)
            {
                equations.Add(new Equation(i, c - 1, Value(Ttft, "time to first token", MaxSecondsPerRow, positive: true, ms: TtftMs), $"row {row} (TTFT)"));
            }

            if (Itl >= 0)
            {
                equations.Add(new Equation(c * i / o, c, Value(Itl, "inter-token latency", MaxSecondsPerRow, positive: true, ms: ItlMs), $"row {row} (ITL)"));
            }
        }
    }

    /// <summary>One cell as a number in range (milliseconds made seconds); an error names the file, row and column.</summary>
    private static double Cell(string[] fields, string[] columns, int column, long row, string name, string what, double max, bool positive, bool ms)
    {
        var text = column < fields.Length ? fields[column].Trim().Trim('"') : "";
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
        {
            throw new FormatException($"{name}: row {row}, column {columns[column]}: \"{Shown(text)}\" is not a number ({what})");
        }

        if (ms)
        {
            v /= 1000;
        }

        if (v < 0 || (positive && v == 0) || v > max)
        {
            var unit = max == MaxSecondsPerRow ? " s" : "";
            throw new FormatException($"{name}: row {row}, column {columns[column]}: {Shown(text)} is out of range ({what} must be in {(positive ? "(0" : "[0")}, {max.ToString("G", CultureInfo.InvariantCulture)}]{unit})");
        }

        return v;
    }

    /// <summary>A cell or header as an error line shows it: at most 40 characters, control characters escaped.</summary>
    private static string Shown(string text)
    {
        var cut = text.Length > 40 ? text[..40] + $"... ({text.Length:N0} characters)" : text;
        return string.Concat(cut.Select(ch => char.IsControl(ch) ? $"\\u{(int)ch:x4}" : ch.ToString()));
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

        var x = LeastSquares(equations, scale);
        var coefficients = Checked(equations, x, scale, names);
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

        return new Result(coefficients[0], coefficients[1], coefficients[2], equations.Count, Math.Sqrt(sumSq / equations.Count), max, ssTot > 0 ? 1 - (ssRes / ssTot) : null);
    }

    /// <summary>
    /// The scaled coefficients that fit <paramref name="equations"/> best, by a streaming QR (Givens rotations, one row at
    /// a time): memory stays three-by-three whatever the rows, with the accuracy of a QR (normal equations would square
    /// the condition number).
    /// </summary>
    /// <exception cref="InvalidOperationException">The rows do not vary enough to tell the coefficients apart.</exception>
    private static double[] LeastSquares(IReadOnlyList<Equation> equations, double[] scale)
    {
        var r = new double[3, 3];
        var qtb = new double[3];
        Span<double> row = stackalloc double[3];
        foreach (var e in equations)
        {
            row[0] = 1;
            row[1] = e.Prefill / scale[1];
            row[2] = e.Decode / scale[2];
            var rhs = e.Seconds;
            for (var k = 0; k < 3; k++)
            {
                if (row[k] == 0)
                {
                    continue;
                }

                var radius = Math.Sqrt((r[k, k] * r[k, k]) + (row[k] * row[k]));
                var (cos, sin) = (r[k, k] / radius, row[k] / radius);
                for (var j = k; j < 3; j++)
                {
                    (r[k, j], row[j]) = ((cos * r[k, j]) + (sin * row[j]), (-sin * r[k, j]) + (cos * row[j]));
                }

                (qtb[k], rhs) = ((cos * qtb[k]) + (sin * rhs), (-sin * qtb[k]) + (cos * rhs));
            }
        }

        var condition = Matrix<double>.Build.Dense(3, 3, (i, j) => r[i, j]).ConditionNumber();
        if (!double.IsFinite(condition) || condition > MaxConditionNumber)
        {
            throw new InvalidOperationException($"ill-conditioned (condition number {condition:G3} > {MaxConditionNumber:G0}): the rows' prefill tokens and decoding sequences do not vary independently enough to tell base, perPrefillToken and perDecodeToken apart");
        }

        var x = new double[3];
        for (var k = 2; k >= 0; k--)
        {
            var sum = qtb[k];
            for (var j = k + 1; j < 3; j++)
            {
                sum -= r[k, j] * x[j];
            }

            x[k] = sum / r[k, k];
        }

        return x;
    }

    /// <summary>The coefficients in seconds, each checked: not clearly negative (a tiny negative is noise, read as zero), a positive base, none above what a server's step takes.</summary>
    /// <exception cref="InvalidOperationException">A coefficient a step cannot take.</exception>
    private static double[] Checked(IReadOnlyList<Equation> equations, double[] x, double[] scale, string[] names)
    {
        var largest = equations.Max(e => e.Seconds);
        var coefficients = new[] { x[0], x[1] / scale[1], x[2] / scale[2] };
        for (var k = 0; k < 3; k++)
        {
            // A tiny negative from noise on a coefficient near zero is zero; a clearly negative one is a bad fit.
            var tolerance = 1e-6 * largest / (k == 0 ? 1 : scale[k]);
            if (coefficients[k] < -tolerance || (k == 0 && coefficients[0] <= 0))
            {
                throw new InvalidOperationException($"the fit gives {names[k]} = {coefficients[k]:G4} s, which a step cannot take: the measurements do not follow the linear step model (check the units and columns)");
            }

            coefficients[k] = Math.Max(0, coefficients[k]);
            if (coefficients[k] > MaxCoefficient[k])
            {
                throw new InvalidOperationException($"the fit gives {names[k]} = {coefficients[k]:G4} s, above the {MaxCoefficient[k]:G} s a serving profile takes: the measurements are not step times of a server (check the units and columns)");
            }
        }


        return coefficients;
    }
}
