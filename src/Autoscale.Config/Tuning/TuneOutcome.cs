using System.Text.Json.Nodes;

namespace Autoscale.Config.Tuning;

/// <summary>
/// One candidate's tune: the setting to deploy (picked on the trace's last training window), the walk-forward estimate of
/// how the picks do on days they were not picked on, and the baseline (the candidate as written) on the same days.
/// </summary>
public sealed record TuneOutcome
{
    /// <summary>Resamples of the held-out days for the saving's interval.</summary>
    public const int BootstrapResamples = 2000;

    /// <summary>The candidate's name.</summary>
    public required string Name { get; init; }

    /// <summary>The candidate's policy.</summary>
    public required string Policy { get; init; }

    /// <summary>The tuned options' paths.</summary>
    public required IReadOnlyList<string> Paths { get; init; }

    /// <summary>The candidate's options as written (for a manifest, as imported).</summary>
    public required JsonObject BaselineOptions { get; init; }

    /// <summary>The folds, in time order.</summary>
    public required IReadOnlyList<TuneUnit> Folds { get; init; }

    /// <summary>The search on the trace's last training window: its pick is the setting to deploy.</summary>
    public required TuneUnit Deploy { get; init; }

    /// <summary>The setting to deploy on the last training window.</summary>
    public required TuneFigure PickTrain { get; init; }

    /// <summary>Each fold's pick on that fold's test days, summed.</summary>
    public required TuneFigure PickTest { get; init; }

    /// <summary>The baseline on the same days.</summary>
    public required TuneFigure BaselineTest { get; init; }

    /// <summary>100 x (baseline - pick) / baseline over the held-out days' billed dollars.</summary>
    public required double SavingPercent { get; init; }

    /// <summary>The 5th and 95th percentiles of the saving over resampled held-out days.</summary>
    public required (double Low, double High) SavingInterval { get; init; }

    /// <summary>Replays of training days over every window (a setting judged on several rungs counts once per rung).</summary>
    public int Replays => Folds.Sum(f => f.Evaluations.Count) + Deploy.Evaluations.Count;

    /// <summary>Settings evaluated over every window, each counted once per window whatever rungs it reached.</summary>
    public int Evaluations => Folds.Concat([Deploy]).Sum(u => u.Evaluations.Select(e => string.Join(",", e.Values)).Distinct().Count());

    /// <summary>Gathers the windows of one candidate into its outcome.</summary>
    internal static TuneOutcome Assemble(string name, string policy, IReadOnlyList<string> paths, JsonObject baselineOptions, IReadOnlyList<TuneUnit> units, double targetPercent, long seed)
    {
        var folds = units.Where(u => !u.Window.Deploy).OrderBy(u => u.Window.Index).ToList();
        var deploy = units.Single(u => u.Window.Deploy);
        var pickDays = folds.SelectMany(f => f.PickTestDays).ToList();
        var baseDays = folds.SelectMany(f => f.BaselineTestDays).ToList();
        var pickTest = TuneFigure.OfDays(pickDays, targetPercent);
        var baseTest = TuneFigure.OfDays(baseDays, targetPercent);
        return new TuneOutcome
        {
            Name = name,
            Policy = policy,
            Paths = paths,
            BaselineOptions = baselineOptions,
            Folds = folds,
            Deploy = deploy,
            PickTrain = TuneFigure.OfWindow(deploy.PickTrain, deploy.PickTrainDays),
            PickTest = pickTest,
            BaselineTest = baseTest,
            SavingPercent = Saving(baseTest.Dollars, pickTest.Dollars),
            SavingInterval = Bootstrap(pickDays, baseDays, new SplitMix(SplitMix.Mix(seed, name.Length, StableHash(name)))),
        };
    }

    /// <summary>The percentage saved; 0 when the baseline cost nothing.</summary>
    internal static double Saving(double baseline, double pick) => baseline > 0 ? 100 * (baseline - pick) / baseline : 0;

    /// <summary>The saving's 90 % percentile interval over held-out days drawn with replacement (pick and baseline of a day together).</summary>
    internal static (double Low, double High) Bootstrap(IReadOnlyList<TuneDay> pick, IReadOnlyList<TuneDay> baseline, SplitMix random)
    {
        if (pick.Count == 0)
        {
            return (0, 0);
        }

        var savings = new double[BootstrapResamples];
        for (var b = 0; b < savings.Length; b++)
        {
            double p = 0, q = 0;
            for (var i = 0; i < pick.Count; i++)
            {
                var d = random.NextInt(pick.Count);
                p += pick[d].Dollars;
                q += baseline[d].Dollars;
            }

            savings[b] = Saving(q, p);
        }

        Array.Sort(savings);
        return (Quantile(savings, 0.05), Quantile(savings, 0.95));
    }

    private static double Quantile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(sorted.Length - 1, low + 1);
        return sorted[low] + (position - low) * (sorted[high] - sorted[low]);
    }

    private static long StableHash(string text)
    {
        var hash = 1469598103934665603UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return (long)hash;
    }
}
