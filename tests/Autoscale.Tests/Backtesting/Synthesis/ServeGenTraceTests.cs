using Autoscale.Traces.Synthesis;
using Autoscale.Traces;
using NodaTime;

namespace Autoscale.Tests.Backtesting.Synthesis;

public sealed class ServeGenTraceTests
{
    private static readonly string Raw = Path.Combine(TestPaths.Root, "..", "shared", "traces-raw", "servegen-m-large");

    private static async Task<TickTrace> BundledAsync() =>
        await ParquetTrace.ReadAsync(Path.Combine(TestPaths.Traces, "servegen-m-large-14d.parquet"), Duration.FromSeconds(1));

    private static double[] RawWindowRates()
    {
        var sums = new double[2016];
        foreach (var file in Directory.GetFiles(Raw, "chunk-*-trace.csv"))
        {
            foreach (var w in ServeGenTraceBuilder.ReadClient(file))
            {
                sums[w.StartSeconds / 600] += w.RateRps;
            }
        }

        return sums;
    }

    [Fact]
    public async Task The_bundled_trace_keeps_the_raw_ten_minute_rates()
    {
        var trace = await BundledAsync();
        var raw = RawWindowRates();
        var ours = Enumerable.Range(0, 2016).Select(w => trace.Arrivals.AsSpan(w * 600, 600).ToArray().Sum() / 600.0).ToArray();

        Assert.Equal(14 * 86_400, trace.Length);
        Assert.Equal(raw.Average(), ours.Average(), 0.01 * raw.Average());              // about 196 req/s
        Assert.InRange(raw.Average(), 190, 200);
        Assert.Equal(raw.Max(), ours.Max(), 0.05 * raw.Max());                           // about 583 req/s
        Assert.InRange(raw.Max(), 570, 600);
        // Window by window the regenerated rate follows the stated one.
        var worst = raw.Zip(ours, (r, o) => Math.Abs(o - r) / r).Max();
        Assert.True(worst < 0.25, $"a window is off by {worst:P0}");
        // Per-second peaks are far higher than the ten-minute peak: the fitted burstiness is kept.
        Assert.True(trace.Arrivals.Max() > 1.5 * raw.Max());
    }

    [Fact]
    public async Task The_bundled_trace_shows_the_daily_cycle()
    {
        var trace = await BundledAsync();
        var hourly = new double[24];
        for (long t = 0; t < trace.Length; t++)
        {
            hourly[t % 86_400 / 3600] += trace.Arrivals[t];
        }

        var rawHourly = new double[24];
        var raw = RawWindowRates();
        for (var w = 0; w < raw.Length; w++)
        {
            rawHourly[w * 600 % 86_400 / 3600] += raw[w] * 600;
        }

        var trough = Array.IndexOf(hourly, hourly.Min());
        var peak = Array.IndexOf(hourly, hourly.Max());
        Assert.InRange(trough, 5, 10);
        Assert.InRange(peak, 16, 22);
        Assert.True(hourly.Max() > 1.3 * hourly.Min(), $"peak/trough {hourly.Max() / hourly.Min():F2}");
        for (var h = 0; h < 24; h++)
        {
            Assert.Equal(rawHourly[h], hourly[h], 0.03 * rawHourly[h]);
        }
    }

    [Fact]
    public void Generation_is_reproducible_per_seed_whatever_the_threads()
    {
        using var dir = new TempFolder();
        foreach (var n in new[] { 0, 1, 10, 100 })
        {
            File.Copy(Path.Combine(Raw, $"chunk-{n}-trace.csv"), dir.File($"chunk-{n}-trace.csv"));
        }

        var start = Instant.FromUtc(2026, 1, 5, 0, 0);
        var a = ServeGenTraceBuilder.Build(dir.Path, 1, start);
        var b = ServeGenTraceBuilder.Build(dir.Path, 1, start);
        var c = ServeGenTraceBuilder.Build(dir.Path, 2, start);

        Assert.Equal(a.Arrivals, b.Arrivals);
        Assert.NotEqual(a.Arrivals, c.Arrivals);
    }

    [Fact]
    public void A_window_is_rescaled_to_its_stated_rate()
    {
        // A Weibull fit whose own mean gap (about 1.6 s) disagrees with the stated 1.33 req/s.
        var window = new ServeGenWindow(0, 1.3316666666666668, "Weibull", 0.3753486140101707, 0.3967677807107179);
        var counts = new long[600];
        var random = new MathNet.Numerics.Random.Xoshiro256StarStar(5, threadSafe: false);
        long total = 0;
        const int runs = 400;
        for (var i = 0; i < runs; i++)
        {
            Array.Clear(counts);
            ServeGenTraceBuilder.DrawWindow(window, random, counts);
            total += counts.Sum();
        }

        Assert.Equal(1.3317 * 600, total / (double)runs, 0.06 * 1.3317 * 600);
    }
}
