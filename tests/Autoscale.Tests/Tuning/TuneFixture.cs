using Autoscale.Backtesting.Engine;
using Autoscale.Config;
using Autoscale.Config.Tuning;
using Autoscale.Policies.Catalog;
using Autoscale.Traces;
using NodaTime;

namespace Autoscale.Tests.Tuning;

/// <summary>Traces and configs for the tuner's tests: days of minute ticks, daily peaks, a noise seed.</summary>
internal static class TuneFixture
{
    /// <summary>Monday 2026-01-05, midnight UTC.</summary>
    public static readonly Instant Monday = Instant.FromUtc(2026, 1, 5, 0, 0);

    /// <summary>
    /// <paramref name="days"/> days of one-minute ticks from <paramref name="start"/>: a base rate with a daily peak in the
    /// afternoon, and noise from <paramref name="seed"/>.
    /// </summary>
    public static TickTrace Daily(int days, int seed, double baseRate = 300, double peakRate = 1500, Instant? start = null)
    {
        var random = new Random(seed);
        var arrivals = new long[days * 1440];
        for (var t = 0; t < arrivals.Length; t++)
        {
            var minute = t % 1440;
            var day = t / 1440;
            var peak = Math.Exp(-Math.Pow((minute - 900) / 90.0, 2)) * peakRate * (1 + (0.3 * ((day * 7919 + seed) % 5) / 5.0));
            arrivals[t] = (long)Math.Max(0, baseRate + peak + (random.NextDouble() - 0.5) * 60);
        }

        return new TickTrace(start ?? Monday, Duration.FromMinutes(1), arrivals);
    }

    /// <summary>A count-model config on one-minute ticks (capacity 60 a minute per replica) with one candidate.</summary>
    public static string Config(string candidate, double dollarsPerViolation = 0, double targetPercent = 99) => $$"""
        {
          "slo": { "maxWaitSeconds": 120, "targetPercent": {{targetPercent.ToString(System.Globalization.CultureInfo.InvariantCulture)}}, "dollarsPerViolation": {{dollarsPerViolation.ToString(System.Globalization.CultureInfo.InvariantCulture)}} },
          "replica": { "capacityRps": 1, "gpus": 1, "dollarsPerGpuHour": 2.0 },
          "engine": { "tickSeconds": 60, "maxReplicas": 500 },
          "candidates": [ {{candidate}} ]
        }
        """;

    public static async Task<(BacktestPlan Plan, TuneTarget Target)> LoadAsync(string config)
    {
        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadAsync(config, "tune.json");
        return (plan, plan.Tunes.Values.Single());
    }

    /// <summary>Every window of the trace tuned, in order.</summary>
    public static List<TuneUnit> Tune(BacktestPlan plan, TuneTarget target, TickTrace trace, int budget, long seed = 1, int threads = 2, int train = 3, int test = 1, double margin = 0)
    {
        var data = new TuneData.Counts(trace);
        var windows = TuneSchedule.Build(trace.Start, trace.Tick, trace.Length, DateTimeZone.Utc, train, test);
        var tuner = new Tuner(plan.Settings, data, target, budget, seed, threads, margin: margin);
        return windows.Select(w => tuner.Run(0, w, CancellationToken.None)).ToList();
    }

    /// <summary>The trace's ticks [from, to) as a trace of their own.</summary>
    public static TickTrace Slice(TickTrace trace, long from, long to) =>
        new(trace.Start + (trace.Tick * from), trace.Tick, trace.Arrivals[(int)from..(int)to]);
}
