using Autoscale.Policies.Reactive;

namespace Autoscale.Policies.Predictive;

/// <summary>
/// Options of <see cref="PredictivePolicy"/>: the seasonal forecast, and every reactive option for the
/// reactive part it never goes below.
/// </summary>
public sealed class PredictiveOptions : ReactiveOptions
{
    /// <summary>The forecast works on buckets of this many seconds (each bucket's peak rate). Default 300.</summary>
    public double BucketSeconds { get; set; } = 300;

    /// <summary>Provision for this quantile of the forecast (assuming normal relative errors). Default 0.9.</summary>
    public double Quantile { get; set; } = 0.9;

    /// <summary>Smoothing of the level per bucket (Holt-Winters alpha). Default 0.2.</summary>
    public double LevelSmoothing { get; set; } = 0.2;

    /// <summary>Smoothing of the seasonal indices per season (Holt-Winters gamma). Default 0.3.</summary>
    public double SeasonalSmoothing { get; set; } = 0.3;

    /// <summary>After a week of history, use a weekly season (each weekday its own profile). Default true.</summary>
    public bool WeeklySeasonality { get; set; } = true;

    /// <inheritdoc />
    public override IReadOnlyList<string> Validate()
    {
        var errors = base.Validate().ToList();
        if (!(BucketSeconds >= 1 && BucketSeconds <= 86_400 && 86_400 % BucketSeconds == 0))
        {
            errors.Add($"BucketSeconds ({BucketSeconds}) must divide a day (e.g. 60, 300, 900, 3600)");
        }

        if (!(Quantile is >= 0.5 and < 1))
        {
            errors.Add($"Quantile ({Quantile}) must be in [0.5, 1)");
        }

        if (!(LevelSmoothing is > 0 and <= 1))
        {
            errors.Add($"LevelSmoothing ({LevelSmoothing}) must be in (0, 1]");
        }

        if (!(SeasonalSmoothing is >= 0 and <= 1))
        {
            errors.Add($"SeasonalSmoothing ({SeasonalSmoothing}) must be in [0, 1]");
        }

        return errors;
    }
}
