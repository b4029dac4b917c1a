using Autoscale.Backtesting.Engine;
using Autoscale.Traces;
using NodaTime;

namespace Autoscale.Config.Tuning;

/// <summary>
/// Tunes the candidates of a plan that have a <c>tune</c> space, as <c>autoscale tune</c> does: each setting judged by a
/// backtest of its training days, the picks judged walking forward on the days after them, the setting to deploy picked
/// on the trace's last training days.
/// </summary>
public static class TuneRun
{
    /// <summary>Tunes the plan's candidates with a tune space (or those named) on the trace at <paramref name="tracePath"/>.</summary>
    /// <param name="plan">The loaded config.</param>
    /// <param name="tracePath">The Parquet trace, read once into memory.</param>
    /// <param name="trainDays">Training days per window (whole calendar days in the plan's time zone).</param>
    /// <param name="testDays">Held-out days after each training window, and the step between folds.</param>
    /// <param name="budget">Settings evaluated per training window (a smaller space is searched whole).</param>
    /// <param name="seed">The search's and the bootstrap's seed (default: <c>engine.seed</c>).</param>
    /// <param name="candidates">The candidates to tune, by name (default: every one with a tune space).</param>
    /// <param name="maxParallelism">Replays run at once (-1: every core); the result is the same for any number.</param>
    /// <param name="sloMargin">The share of each training day's error budget a pick keeps to spare (0: picks on the SLO's edge).</param>
    /// <param name="cancellationToken">Cancels the tune.</param>
    /// <returns>One outcome per candidate tuned, in config order.</returns>
    /// <exception cref="ArgumentException">A candidate named has no tune space, or the trace is shorter than one fold.</exception>
    public static async Task<IReadOnlyList<TuneOutcome>> RunAsync(BacktestPlan plan, string tracePath, int trainDays = 7, int testDays = 1, int budget = 200, long? seed = null,
        IReadOnlyList<string>? candidates = null, int maxParallelism = -1, double sloMargin = Tuner.DefaultMargin, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(tracePath);
        ArgumentOutOfRangeException.ThrowIfLessThan(budget, 1);
        if (!(sloMargin is >= 0 and <= 0.95))
        {
            throw new ArgumentOutOfRangeException(nameof(sloMargin), sloMargin, "must be from 0 to 0.95");
        }

        var targets = (candidates is null ? plan.Candidates.Where(c => plan.Tunes.ContainsKey(c.Name)).Select(c => c.Name) : candidates)
            .Select(n => plan.Tunes.TryGetValue(n, out var t) ? t : throw new ArgumentException($"\"{n}\" has no tune space", nameof(candidates))).ToList();
        var data = await TuneData.ReadAsync(tracePath, plan.Settings, targets, cancellationToken).ConfigureAwait(false);
        var zone = DateTimeZoneProviders.Tzdb.GetZoneOrNull(plan.TimeZone) ?? DateTimeZone.Utc;
        var windows = TuneSchedule.Build(data.Start, data.Tick, data.Ticks, zone, trainDays, testDays);
        var runSeed = seed ?? plan.Settings.Seed;
        var threads = maxParallelism > 0 ? maxParallelism : Environment.ProcessorCount;
        var outcomes = new List<TuneOutcome>();
        for (var c = 0; c < targets.Count; c++)
        {
            var tuner = new Tuner(plan.Settings, data, targets[c], budget, runSeed, threads, margin: sloMargin);
            var units = windows.Select(w => tuner.Run(c, w, cancellationToken)).ToList();
            var t = targets[c];
            outcomes.Add(TuneOutcome.Assemble(t.Baseline.Name, t.Baseline.PolicyName, t.Dimensions.Select(d => d.Path).ToList(), t.Options, units, plan.Settings.Slo.TargetPercent, runSeed));
        }

        return outcomes;
    }

    /// <summary>The outcomes as the JSON <c>autoscale tune --format json</c> prints (with every evaluated setting when <paramref name="points"/>).</summary>
    public static string ToJson(IReadOnlyList<TuneOutcome> outcomes, bool points = false) => TuneJson.Result(outcomes, points);
}
