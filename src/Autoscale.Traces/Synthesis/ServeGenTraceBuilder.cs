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
internal static class ServeGenTraceBuilder
{
    /// <summary>Length of a ServeGen window, seconds.</summary>
    public const int WindowSeconds = 600;

    /// <summary>Reads one client's CSV (no header: window_start_s, rate_rps, cv, arrival_dist, param1, param2).</summary>
    /// <exception cref="TraceFormatException">A row that does not parse.</exception>
    public static IReadOnlyList<ServeGenWindow> ReadClient(string path)
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

    /// <summary>Builds the summed per-second arrivals of every <c>chunk-N-trace.csv</c> in <paramref name="directory"/>.</summary>
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
        var total = new long[seconds];
        var gate = new object();
        Parallel.For(0, clients.Length, () => new long[seconds], (i, _, local) =>
        {
            var random = new Xoshiro256StarStar(unchecked(seed * 1_000_003 + clients[i].Index), threadSafe: false);
            foreach (var window in clients[i].Windows)
            {
                DrawWindow(window, random, local);
            }

            return local;
        }, local =>
        {
            lock (gate)
            {
                for (var t = 0; t < total.Length; t++)
                {
                    total[t] += local[t];
                }
            }
        });

        return new TickTrace(start, Duration.FromSeconds(1), total);
    }

    /// <summary>Draws one window's arrivals into per-second <paramref name="counts"/>.</summary>
    public static void DrawWindow(ServeGenWindow window, Random random, long[] counts)
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
