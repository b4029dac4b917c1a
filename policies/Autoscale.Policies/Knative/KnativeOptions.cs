using NodaTime;

namespace Autoscale.Policies.Knative;

/// <summary>
/// Options of <see cref="KnativePolicy"/>: a Knative Service's autoscaling annotations and the <c>config-autoscaler</c>
/// settings they override, in camelCase (<c>autoscaling.knative.dev/window</c> is <c>stableWindow</c>,
/// <c>panic-threshold-percentage</c> is <c>panicThresholdPercentage</c>); durations in seconds. Defaults are those of
/// Knative Serving v1.16.
/// </summary>
public sealed class KnativeOptions : IValidatableOptions, IHasDecisionPeriod
{
    /// <summary><c>autoscaling.knative.dev/metric</c>: <c>concurrency</c> (requests in flight) or <c>rps</c> (requests per second).</summary>
    [Option]
    public string Metric { get; set; } = "concurrency";

    /// <summary><c>autoscaling.knative.dev/target</c>: the metric's target per pod before utilization; containerConcurrency, else the default target, when left out.</summary>
    [Option(Min = 0.01)]
    public double? Target { get; set; }

    /// <summary>
    /// <c>containerConcurrency</c>: the hard limit of requests a pod serves at once; 0 is unlimited (the target then
    /// defaults to 100). Serving replays route no more to a pod and hold the rest at the router, as the activator does.
    /// </summary>
    [Option(Unit = "requests", Min = 0)]
    public int ContainerConcurrency { get; set; }

    /// <summary>
    /// <c>autoscaling.knative.dev/metric-aggregation-algorithm</c>: how the stable and panic windows average their
    /// per-second values: <c>linear</c> (all seconds weigh the same) or <c>weighted-exponential</c> (also spelled
    /// <c>weightedExponential</c>; recent seconds weigh more).
    /// </summary>
    [Option]
    public string MetricAggregationAlgorithm { get; set; } = "linear";

    /// <summary><c>autoscaling.knative.dev/target-utilization-percentage</c>: the share of the target the autoscaler aims at.</summary>
    [Option(Unit = "%", Min = 1, Max = 100)]
    public double TargetUtilizationPercentage { get; set; } = 70;

    /// <summary><c>container-concurrency-target-default</c>: the concurrency target when neither target nor containerConcurrency is set.</summary>
    [Option(Unit = "requests", Min = 0.01)]
    public double ContainerConcurrencyTargetDefault { get; set; } = 100;

    /// <summary><c>requests-per-second-target-default</c>: the rps target when none is set.</summary>
    [Option(Unit = "req/s", Min = 0.01)]
    public double RequestsPerSecondTargetDefault { get; set; } = 200;

    /// <summary><c>autoscaling.knative.dev/window</c> (<c>stable-window</c>): the window the stable average runs over.</summary>
    [Option(Unit = "s", Min = 6, Max = 3_600)]
    public Duration StableWindow { get; set; } = Duration.FromSeconds(60);

    /// <summary><c>autoscaling.knative.dev/panic-window-percentage</c>: the panic window as a share of the stable window.</summary>
    [Option(Unit = "%", Min = 1, Max = 100)]
    public double PanicWindowPercentage { get; set; } = 10;

    /// <summary><c>autoscaling.knative.dev/panic-threshold-percentage</c>: panic when the panic window asks for this share of the ready pods.</summary>
    [Option(Unit = "%", Min = 110, Max = 1_000)]
    public double PanicThresholdPercentage { get; set; } = 200;

    /// <summary><c>max-scale-up-rate</c>: at most this many times the ready pods per decision.</summary>
    [Option(Min = 1, MinExclusive = true)]
    public double MaxScaleUpRate { get; set; } = 1000;

    /// <summary><c>max-scale-down-rate</c>: at least the ready pods divided by this per decision.</summary>
    [Option(Min = 1, MinExclusive = true)]
    public double MaxScaleDownRate { get; set; } = 2;

    /// <summary><c>enable-scale-to-zero</c>.</summary>
    [Option]
    public bool EnableScaleToZero { get; set; } = true;

    /// <summary><c>scale-to-zero-grace-period</c>: how long the revision stays inactive, the activator in its path, before its last pod goes.</summary>
    [Option(Unit = "s", Min = 6, Max = 3_600)]
    public Duration ScaleToZeroGracePeriod { get; set; } = Duration.FromSeconds(30);

    /// <summary>
    /// <c>autoscaling.knative.dev/scale-to-zero-pod-retention-period</c>: the least time the last pod stays once the
    /// revision is inactive; the pod goes after the longer of this and the grace period.
    /// </summary>
    [Option(Unit = "s", Min = 0, Max = 3_600)]
    public Duration ScaleToZeroPodRetentionPeriod { get; set; }

    /// <summary><c>autoscaling.knative.dev/scale-down-delay</c>: scale-down decisions wait this long (the largest decision of the window holds).</summary>
    [Option(Unit = "s", Min = 0, Max = 3_600)]
    public Duration ScaleDownDelay { get; set; }

    /// <summary><c>autoscaling.knative.dev/initial-scale</c>: the pods a new revision starts with.</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int InitialScale { get; set; } = 1;

    /// <summary><c>autoscaling.knative.dev/min-scale</c>.</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int MinScale { get; set; }

    /// <summary><c>autoscaling.knative.dev/max-scale</c>; 0 is unbounded.</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int MaxScale { get; set; }

    /// <summary><c>autoscaling.knative.dev/activation-scale</c>: the fewest pods when scaling from zero.</summary>
    [Option(Unit = "replicas", Min = 1)]
    public int ActivationScale { get; set; } = 1;

    /// <summary>
    /// <c>autoscaling.knative.dev/target-burst-capacity</c>: when the activator stays in the request path. It routes
    /// requests and changes no count, so the replay keeps it for import and export only.
    /// </summary>
    [Option(Min = -1)]
    public double TargetBurstCapacity { get; set; } = 211;

    /// <inheritdoc />
    public Duration DecisionPeriod => Duration.FromSeconds(1);

    /// <summary>The target per pod after utilization (ResolveMetricTarget), never below 0.01.</summary>
    internal double TargetValue
    {
        get
        {
            var rps = Metric == "rps";
            var total = rps ? RequestsPerSecondTargetDefault : ContainerConcurrency == 0 ? ContainerConcurrencyTargetDefault : ContainerConcurrency;
            if (Target is { } target)
            {
                total = !rps && ContainerConcurrency != 0 ? Math.Min(target, ContainerConcurrency) : target;
            }

            return Math.Max(0.01, total * TargetUtilizationPercentage / 100);
        }
    }

    /// <summary>Whether the windows average with Knative's exponential weights.</summary>
    internal bool Weighted => MetricAggregationAlgorithm is "weighted-exponential" or "weightedExponential";

    /// <summary>The panic window: the stable window's share, whole seconds, at least one.</summary>
    internal Duration PanicWindow => Duration.FromSeconds(Math.Max(1, Math.Round(StableWindow.TotalSeconds * PanicWindowPercentage / 100)));

    /// <inheritdoc />
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Metric is not ("concurrency" or "rps"))
        {
            errors.Add($"metric (\"{Metric}\") must be concurrency or rps (cpu and memory belong to the HPA class)");
        }

        if (MetricAggregationAlgorithm is not ("linear" or "weighted-exponential" or "weightedExponential"))
        {
            errors.Add($"metricAggregationAlgorithm (\"{MetricAggregationAlgorithm}\") must be linear, weighted-exponential or weightedExponential");
        }

        if (MaxScale != 0 && MinScale > MaxScale)
        {
            errors.Add($"minScale ({MinScale}) must be <= maxScale ({MaxScale})");
        }

        // Knative's validateMinMaxScale: the activation scale lies between the bounds.
        if (ActivationScale > 1 && MinScale > ActivationScale)
        {
            errors.Add($"activationScale ({ActivationScale}) must be >= minScale ({MinScale})");
        }

        if (ActivationScale > 1 && MaxScale != 0 && MaxScale < ActivationScale)
        {
            errors.Add($"activationScale ({ActivationScale}) must be <= maxScale ({MaxScale})");
        }

        return errors;
    }
}
