namespace Autoscale.Policies.Reactive;

/// <summary>What the reactive policy measures.</summary>
public enum ReactiveMetric
{
    /// <summary>Demand (arrival rate plus backlog to drain) over ready capacity, against <see cref="ReactiveOptions.TargetUtilization"/>.</summary>
    Utilization,

    /// <summary>
    /// Requests in flight per replica, waiting plus being served (vLLM's <c>num_requests_waiting</c> +
    /// <c>num_requests_running</c>, the usual KEDA query), against <see cref="ReactiveOptions.TargetInFlightPerReplica"/>.
    /// </summary>
    InFlightPerReplica,
}

/// <summary>
/// Options of <see cref="ReactivePolicy"/>: the HPA's target, tolerance, stabilization windows and
/// rate limits, Knative's panic mode, KEDA's scale to zero. Defaults follow the HPA's where it has one.
/// </summary>
public class ReactiveOptions : IValidatableOptions
{
    /// <summary>The fewest replicas (0 allows scale to zero after <see cref="ScaleToZeroGraceSeconds"/>). Default 1.</summary>
    public int MinReplicas { get; set; } = 1;

    /// <summary>The most replicas. Default 100.</summary>
    public int MaxReplicas { get; set; } = 100;

    /// <summary>What to measure. Default utilization.</summary>
    public ReactiveMetric Metric { get; set; } = ReactiveMetric.Utilization;

    /// <summary>Target utilization of ready capacity, in (0, 1]. Default 0.7.</summary>
    public double TargetUtilization { get; set; } = 0.7;

    /// <summary>Target requests in flight per replica (in-flight metric). Default 20.</summary>
    public double TargetInFlightPerReplica { get; set; } = 20;

    /// <summary>The backlog counts as demand to be drained within this many seconds. Default 5.</summary>
    public double QueueDrainSeconds { get; set; } = 5;

    /// <summary>Average the arrival rate over this many seconds (0: the last interval only). Default 0.</summary>
    public double MetricWindowSeconds { get; set; }

    /// <summary>No change while desired/current is within 1 ± this. Default 0.1 (the HPA's).</summary>
    public double Tolerance { get; set; } = 0.1;

    /// <summary>Scale up only to the smallest recommendation of this many seconds. Default 0 (the HPA's).</summary>
    public double ScaleUpStabilizationSeconds { get; set; }

    /// <summary>Scale down only to the largest recommendation of this many seconds. Default 300 (the HPA's).</summary>
    public double ScaleDownStabilizationSeconds { get; set; } = 300;

    /// <summary>Scale-up limit: replicas added per period (the larger of this and the percentage applies). Default 4.</summary>
    public int ScaleUpLimitReplicas { get; set; } = 4;

    /// <summary>Scale-up limit: percent of the fleet added per period. Default 100.</summary>
    public double ScaleUpLimitPercent { get; set; } = 100;

    /// <summary>Scale-up limit period, seconds. Default 15.</summary>
    public double ScaleUpPeriodSeconds { get; set; } = 15;

    /// <summary>Scale-down limit: replicas removed per period (the larger of this and the percentage applies). Default 0.</summary>
    public int ScaleDownLimitReplicas { get; set; }

    /// <summary>Scale-down limit: percent of the fleet removed per period. Default 100.</summary>
    public double ScaleDownLimitPercent { get; set; } = 100;

    /// <summary>Scale-down limit period, seconds. Default 15.</summary>
    public double ScaleDownPeriodSeconds { get; set; } = 15;

    /// <summary>Panic when short-window demand reaches this percent of ready capacity (0: off; Knative uses 200). Default 0.</summary>
    public double PanicThresholdPercent { get; set; }

    /// <summary>The short window panic measures demand over, seconds. Default 6 (Knative's).</summary>
    public double PanicWindowSeconds { get; set; } = 6;

    /// <summary>Stay in panic (scale up at once, never down) this long after the last panic reading. Default 60.</summary>
    public double PanicHoldSeconds { get; set; } = 60;

    /// <summary>With <see cref="MinReplicas"/> 0, scale to zero only after this long without requests. Default 300.</summary>
    public double ScaleToZeroGraceSeconds { get; set; } = 300;

    /// <inheritdoc />
    public virtual IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MinReplicas < 0)
        {
            errors.Add($"MinReplicas ({MinReplicas}) must be >= 0");
        }

        if (MaxReplicas < 1)
        {
            errors.Add($"MaxReplicas ({MaxReplicas}) must be >= 1");
        }

        if (MinReplicas > MaxReplicas)
        {
            errors.Add($"MinReplicas ({MinReplicas}) must be <= MaxReplicas ({MaxReplicas})");
        }

        Positive(errors, nameof(TargetUtilization), TargetUtilization, max: 1);
        Positive(errors, nameof(TargetInFlightPerReplica), TargetInFlightPerReplica);
        Positive(errors, nameof(QueueDrainSeconds), QueueDrainSeconds);
        NonNegative(errors, nameof(MetricWindowSeconds), MetricWindowSeconds);
        if (!(Tolerance is >= 0 and < 1))
        {
            errors.Add($"Tolerance ({Tolerance}) must be in [0, 1)");
        }

        NonNegative(errors, nameof(ScaleUpStabilizationSeconds), ScaleUpStabilizationSeconds);
        NonNegative(errors, nameof(ScaleDownStabilizationSeconds), ScaleDownStabilizationSeconds);
        if (ScaleUpLimitReplicas < 0 || ScaleDownLimitReplicas < 0)
        {
            errors.Add($"ScaleUpLimitReplicas ({ScaleUpLimitReplicas}) and ScaleDownLimitReplicas ({ScaleDownLimitReplicas}) must be >= 0");
        }

        NonNegative(errors, nameof(ScaleUpLimitPercent), ScaleUpLimitPercent);
        if (!(ScaleDownLimitPercent is >= 0 and <= 100))
        {
            errors.Add($"ScaleDownLimitPercent ({ScaleDownLimitPercent}) must be between 0 and 100");
        }

        if (ScaleUpLimitReplicas == 0 && ScaleUpLimitPercent == 0)
        {
            errors.Add("ScaleUpLimitReplicas and ScaleUpLimitPercent are both 0: the policy could never scale up");
        }

        NonNegative(errors, nameof(ScaleUpPeriodSeconds), ScaleUpPeriodSeconds);
        NonNegative(errors, nameof(ScaleDownPeriodSeconds), ScaleDownPeriodSeconds);
        if (PanicThresholdPercent != 0 && !(PanicThresholdPercent > 100 && double.IsFinite(PanicThresholdPercent)))
        {
            errors.Add($"PanicThresholdPercent ({PanicThresholdPercent}) must be 0 (off) or above 100");
        }

        Positive(errors, nameof(PanicWindowSeconds), PanicWindowSeconds);
        NonNegative(errors, nameof(PanicHoldSeconds), PanicHoldSeconds);
        NonNegative(errors, nameof(ScaleToZeroGraceSeconds), ScaleToZeroGraceSeconds);
        return errors;
    }

    private static void Positive(List<string> errors, string name, double value, double max = double.MaxValue)
    {
        if (!(value > 0 && value <= max) || !double.IsFinite(value))
        {
            errors.Add(max == double.MaxValue ? $"{name} ({value}) must be > 0" : $"{name} ({value}) must be in (0, {max}]");
        }
    }

    private static void NonNegative(List<string> errors, string name, double value)
    {
        if (!(value >= 0) || !double.IsFinite(value))
        {
            errors.Add($"{name} ({value}) must be >= 0");
        }
    }
}
