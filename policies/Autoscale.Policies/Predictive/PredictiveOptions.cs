using NodaTime;
using Autoscale.Policies.Reactive;

namespace Autoscale.Policies.Predictive;

/// <summary>
/// Options of <see cref="PredictivePolicy"/>: the seasonal forecast, and every reactive option for the
/// reactive part it never goes below.
/// </summary>
public sealed class PredictiveOptions : ReactiveOptions
{
    /// <summary>The forecast works on buckets of this length (each bucket's peak rate); it must divide a day.</summary>
    [Option(Unit = "s", Min = 1, Max = 86_400)]
    public Duration BucketSeconds { get; set; } = Duration.FromSeconds(300);

    /// <summary>Provision for this quantile of the forecast, assuming normally distributed relative errors.</summary>
    [Option(Unit = "fraction", Min = 0.5, Max = 1, MaxExclusive = true)]
    public double Quantile { get; set; } = 0.9;

    /// <summary>Smoothing of the level per bucket (Holt-Winters alpha).</summary>
    [Option(Unit = "fraction", Min = 0, MinExclusive = true, Max = 1)]
    public double LevelSmoothing { get; set; } = 0.2;

    /// <summary>Smoothing of the seasonal indices per season (Holt-Winters gamma).</summary>
    [Option(Unit = "fraction", Min = 0, Max = 1)]
    public double SeasonalSmoothing { get; set; } = 0.3;

    /// <summary>After a week of history, use a weekly season (each weekday its own profile) instead of a daily one.</summary>
    [Option]
    public bool WeeklySeasonality { get; set; } = true;

    /// <inheritdoc />
    public override IReadOnlyList<string> Validate()
    {
        var errors = base.Validate().ToList();
        if (BucketSeconds.TotalSeconds is >= 1 and <= 86_400 && 86_400 % BucketSeconds.TotalSeconds != 0)
        {
            errors.Add($"bucketSeconds ({BucketSeconds.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}) must divide a day (e.g. 60, 300, 900, 3600)");
        }

        return errors;
    }
}
