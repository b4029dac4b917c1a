using System.Globalization;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.Random;
using Autoscale.Traces;
using NodaTime;

namespace Autoscale.Traces.Synthesis;

/// <summary>One client's arrival process in one window of a ServeGen trace.</summary>
/// <param name="StartSeconds">Window start, seconds from the trace start.</param>
/// <param name="RateRps">The window's stated arrival rate.</param>
/// <param name="Distribution">"Gamma", "Weibull", or empty (no arrivals).</param>
/// <param name="Shape">The fitted inter-arrival distribution's shape.</param>
/// <param name="Scale">The fitted inter-arrival distribution's scale (seconds).</param>
internal sealed record ServeGenWindow(long StartSeconds, double RateRps, string Distribution, double Shape, double Scale);

/// <summary>
/// Regenerates per-second arrivals from the ServeGen window parameters (Xiang et al., arXiv:2505.09999):
/// each client's CSV gives, per window, a rate and a fitted Gamma or Weibull inter-arrival distribution.
/// Arrivals are drawn as a renewal process per client and window, keeping the fitted shape (the
/// burstiness) but rescaling the distribution so its mean inter-arrival time is 1 / the stated rate,
/// since the fits disagree with the stated rate in about a fifth of the windows. Clients are summed.
/// Each client draws from its own seeded stream, so the result does not depend on thread scheduling.
/// </summary>
public static class ServeGenTraceBuilder
{
    /// <summary>Length of a ServeGen window, seconds.</summary>
    public const int WindowSeconds = 600;

    /// <summary>Reads one client's CSV (no header: window_start_s, rate_rps, cv, arrival_dist, param1, param2).</summary>
    /// <exception cref="TraceFormatException">A row that does not parse.</exception>
    internal static IReadOnlyList<ServeGenWindow> ReadClient(string path)
    {
        var windows = new List<ServeGenWindow>();
        var row = 0;
        foreach (var line in File.ReadLines(path))
        {
            row++;
            if (line.Trim().Length == 0)
            {
                continue;
            }

            var f = line.Split(',');
            if (f.Length != 6)
            {
                throw new TraceFormatException(path, $"expected 6 fields (window_start_s,rate_rps,cv,arrival_dist,param1,param2), found {f.Length}", row: row);
            }

            var ci = CultureInfo.InvariantCulture;
            if (!long.TryParse(f[0], NumberStyles.Integer, ci, out var start) || !double.TryParse(f[1], NumberStyles.Float, ci, out var rate) ||
                !double.TryParse(f[4], NumberStyles.Float, ci, out var shape) || !double.TryParse(f[5], NumberStyles.Float, ci, out var scale) || rate < 0)
            {
                throw new TraceFormatException(path, "window_start_s, rate_rps, param1 and param2 must be numbers (rate >= 0)", row: row);
            }

            var dist = f[3].Trim();
            if (dist is not ("" or "Gamma" or "Weibull"))
            {
                throw new TraceFormatException(path, $"unknown arrival distribution \"{dist}\" (Gamma, Weibull or empty)", "arrival_dist", row);
            }

            windows.Add(new ServeGenWindow(start, rate, dist, shape, scale));
        }

        return windows;
    }

    /// <summary>Length of a ServeGen token window (the datasets' windows), seconds.</summary>
    public const int TokenWindowSeconds = 21_600;

    /// <summary>
    /// Builds the summed per-second arrivals of every <c>chunk-N-trace.csv</c> in <paramref name="directory"/>, and, where
    /// the folder has <c>chunk-N-dataset.json</c> token distributions, the input and output tokens of every request,
    /// summed per second.
    /// </summary>
    /// <remarks>
    /// Each request draws its input and output tokens from its client's distributions of the 6-hour window it falls in,
    /// from a stream of its own (the arrivals are those drawn without tokens). A client without a dataset draws from the
    /// pool of the other clients' distributions in the same window, each weighted by that client's requests in it.
    /// </remarks>
    public static TickTrace Build(string directory, int seed, Instant start)
    {
        var files = Directory.GetFiles(directory, "chunk-*-trace.csv")
            .Select(p => (Path: p, Index: int.Parse(Path.GetFileName(p).Split('-')[1], CultureInfo.InvariantCulture)))
            .OrderBy(f => f.Index)
            .ToArray();
        if (files.Length == 0)
        {
            throw new TraceFormatException(directory, "no chunk-N-trace.csv files");
        }

        var clients = files.Select(f => (f.Index, Windows: ReadClient(f.Path))).ToArray();
        var seconds = clients.Max(c => c.Windows.Count == 0 ? 0 : c.Windows.Max(w => w.StartSeconds)) + WindowSeconds;

        // Per client, its arrivals per second (drawn exactly as without tokens).
        var perClient = new long[clients.Length][];
        Parallel.For(0, clients.Length, i =>
        {
            var random = new Xoshiro256StarStar(unchecked(seed * 1_000_003 + clients[i].Index), threadSafe: false);
            var counts = new long[seconds];
            foreach (var window in clients[i].Windows)
            {
                DrawWindow(window, random, counts);
            }

            perClient[i] = counts;
        });

        var total = new long[seconds];
        foreach (var counts in perClient)
        {
            for (var t = 0; t < total.Length; t++)
            {
                total[t] += counts[t];
            }
        }

        var datasets = clients.Select(c => Path.Combine(directory, $"chunk-{c.Index}-dataset.json")).ToArray();
        if (!datasets.Any(File.Exists))
        {
            return new TickTrace(start, Duration.FromSeconds(1), total);
        }

        var tokenWindows = (int)((seconds + TokenWindowSeconds - 1) / TokenWindowSeconds);
        var own = datasets.Select(d => File.Exists(d) ? ReadDataset(d, tokenWindows) : null).ToArray();
        var pooled = Pool(own, perClient, tokenWindows);
        var (input, output) = DrawTokens(clients.Select(c => c.Index).ToArray(), perClient, own, pooled, seed, seconds);
        return new TickTrace(start, Duration.FromSeconds(1), total) { InputTokens = input, OutputTokens = output };
    }

    /// <summary>
    /// The input and output tokens of each second's arrivals: each client's requests drawn from its own dataset's
    /// distribution for the window (or the pooled one where it has none), on a stream of its own, summed over clients.
    /// </summary>
    private static (long[] Input, long[] Output) DrawTokens(int[] clientIndex, long[][] perClient, TokenPair?[]?[] own, TokenPair?[] pooled, int seed, long seconds)
    {
        var input = new long[seconds];
        var output = new long[seconds];
        var gate = new object();
        Parallel.For(0, clientIndex.Length, () => (In: new long[seconds], Out: new long[seconds]), (i, _, local) =>
        {
            var random = new Xoshiro256StarStar(unchecked((seed * 1_000_003) + clientIndex[i] + 500_000_000), threadSafe: false);
            var counts = perClient[i];
            for (var t = 0; t < counts.Length; t++)
            {
                var w = t / TokenWindowSeconds;
                var dist = own[i]?[w] ?? pooled[w];
                if (dist is null)
                {
                    continue;
                }

                for (var k = 0; k < counts[t]; k++)
                {
                    local.In[t] += dist.Input.Draw(random);
                    local.Out[t] += dist.Output.Draw(random);
                }
            }

            return local;
        }, local =>
        {
            lock (gate)
            {
                for (var t = 0; t < seconds; t++)
                {
                    input[t] += local.In[t];
                    output[t] += local.Out[t];
                }
            }
        });

        return (input, output);
    }

    /// <summary>A window's input and output token distributions.</summary>
    private sealed record TokenPair(Categorical Input, Categorical Output);

    /// <summary>A discrete distribution of token counts, drawn by inverting its cumulative weights.</summary>
    private sealed class Categorical
    {
        private readonly long[] _values;
        private readonly double[] _cumulative;

        public Categorical(IEnumerable<KeyValuePair<long, double>> weights)
        {
            var pairs = weights.Where(p => p.Value > 0).OrderBy(p => p.Key).ToArray();
            _values = pairs.Select(p => p.Key).ToArray();
            _cumulative = new double[pairs.Length];
            double sum = 0;
            for (var i = 0; i < pairs.Length; i++)
            {
                sum += pairs[i].Value;
                _cumulative[i] = sum;
            }
        }

        public IEnumerable<KeyValuePair<long, double>> Weights =>
            _values.Select((v, i) => new KeyValuePair<long, double>(v, (_cumulative[i] - (i == 0 ? 0 : _cumulative[i - 1])) / _cumulative[^1]));

        public bool IsEmpty => _values.Length == 0;

        public long Draw(Random random)
        {
            var u = random.NextDouble() * _cumulative[^1];
            var i = Array.BinarySearch(_cumulative, u);
            i = i < 0 ? ~i : i;
            return _values[Math.Min(i, _values.Length - 1)];
        }
    }

    /// <summary>Reads a client's <c>chunk-N-dataset.json</c>: per 6-hour window, Python-style dicts of tokens to probability.</summary>
    private static TokenPair?[] ReadDataset(string path, int windows)
    {
        var result = new TokenPair?[windows];
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        foreach (var window in doc.RootElement.EnumerateObject())
        {
            if (!long.TryParse(window.Name, NumberStyles.Integer, CultureInfo.InvariantCulture, out var startSeconds) || startSeconds % TokenWindowSeconds != 0)
            {
                throw new TraceFormatException(path, $"window \"{window.Name}\" is not a multiple of {TokenWindowSeconds} seconds");
            }

            var index = startSeconds / TokenWindowSeconds;
            if (index < 0 || index >= windows)
            {
                continue;
            }

            var input = new Categorical(ParsePythonDict(path, window.Value.GetProperty("input_tokens").GetString()!));
            var output = new Categorical(ParsePythonDict(path, window.Value.GetProperty("output_tokens").GetString()!));
            result[index] = input.IsEmpty || output.IsEmpty ? null : new TokenPair(input, output);
        }

        return result;
    }

    private static IEnumerable<KeyValuePair<long, double>> ParsePythonDict(string path, string text)
    {
        foreach (var item in text.Trim().TrimStart('{').TrimEnd('}').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = item.Split(':', StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || !long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var tokens)
                || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var p) || tokens < 0 || p < 0)
            {
                throw new TraceFormatException(path, $"\"{item}\" is not a tokens: probability pair");
            }

            yield return new KeyValuePair<long, double>(tokens, p);
        }
    }

    /// <summary>Per window, the other clients' distributions mixed, each weighted by its requests in the window.</summary>
    private static TokenPair?[] Pool(TokenPair?[]?[] own, long[][] perClient, int windows)
    {
        var pooled = new TokenPair?[windows];
        for (var w = 0; w < windows; w++)
        {
            var input = new Dictionary<long, double>();
            var output = new Dictionary<long, double>();
            for (var c = 0; c < own.Length; c++)
            {
                if (own[c]?[w] is not { } pair)
                {
                    continue;
                }

                var from = w * TokenWindowSeconds;
                var to = Math.Min(perClient[c].Length, from + TokenWindowSeconds);
                double requests = 0;
                for (var t = from; t < to; t++)
                {
                    requests += perClient[c][t];
                }

                foreach (var (tokens, p) in pair.Input.Weights)
                {
                    input[tokens] = input.GetValueOrDefault(tokens) + (requests * p);
                }

                foreach (var (tokens, p) in pair.Output.Weights)
                {
                    output[tokens] = output.GetValueOrDefault(tokens) + (requests * p);
                }
            }

            var pi = new Categorical(input);
            var po = new Categorical(output);
            pooled[w] = pi.IsEmpty || po.IsEmpty ? null : new TokenPair(pi, po);
        }

        return pooled;
    }

    /// <summary>Draws one window's arrivals into per-second <paramref name="counts"/>.</summary>
    internal static void DrawWindow(ServeGenWindow window, Random random, long[] counts)
    {
        if (window.RateRps <= 0 || window.Distribution.Length == 0 || !(window.Shape > 0))
        {
            return;
        }

        // Keep the fitted shape, rescale so the mean gap is 1 / rate.
        var meanGap = 1 / window.RateRps;
        Func<double> gap = window.Distribution == "Gamma"
            ? () => Gamma.Sample(random, window.Shape, window.Shape / meanGap)
            : () => Weibull.Sample(random, window.Shape, meanGap / MathNet.Numerics.SpecialFunctions.Gamma(1 + 1 / window.Shape));

        var end = window.StartSeconds + WindowSeconds;
        var t = window.StartSeconds + random.NextDouble() * gap();
        while (t < end)
        {
            var second = (long)t;
            if (second < counts.Length)
            {
                counts[second]++;
            }

            t += gap();
        }
    }
}
