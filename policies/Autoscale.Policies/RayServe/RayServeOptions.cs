using NodaTime;

namespace Autoscale.Policies.RayServe;

/// <summary>
/// Options of <see cref="RayServePolicy"/>: a Ray Serve deployment's <c>autoscaling_config</c> (and its
/// <c>max_ongoing_requests</c>), each field in camelCase of its snake_case name. Defaults are those of Ray 2.49.
/// </summary>
public sealed class RayServeOptions : IValidatableOptions, IHasDecisionPeriod
{
    /// <summary><c>min_replicas</c>: the fewest replicas; 0 allows scaling to zero.</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int MinReplicas { get; set; } = 1;

    /// <summary><c>max_replicas</c>: the most replicas (Ray's default is 1).</summary>
    [Option(Unit = "replicas", Min = 1)]
    public int MaxReplicas { get; set; } = 1;

    /// <summary><c>initial_replicas</c>: the replicas when the deployment starts; minReplicas when left out.</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int? InitialReplicas { get; set; }

    /// <summary><c>target_ongoing_requests</c>: the ongoing requests (running plus queued at the replica) each replica should have.</summary>
    [Option(Unit = "requests", Min = 0, MinExclusive = true)]
    public double TargetOngoingRequests { get; set; } = 2;

    /// <summary><c>metrics_interval_s</c>: how often replicas report their ongoing requests to the controller.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 3_600)]
    public Duration MetricsIntervalS { get; set; } = Duration.FromSeconds(10);

    /// <summary><c>look_back_period_s</c>: the window each report averages the ongoing requests over.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 86_400)]
    public Duration LookBackPeriodS { get; set; } = Duration.FromSeconds(30);

    /// <summary><c>aggregation_function</c>: how the ongoing requests over the look-back period become one figure: <c>mean</c> (the default), <c>max</c> or <c>min</c>.</summary>
    [Option]
    public string AggregationFunction { get; set; } = "mean";

    /// <summary><c>smoothing_factor</c>: the gain on the distance to the target, both ways, unless a direction's own factor is set.</summary>
    [Option(Min = 0, MinExclusive = true, Max = 100)]
    public double SmoothingFactor { get; set; } = 1;

    /// <summary><c>upscale_smoothing_factor</c> (older name of upscalingFactor).</summary>
    [Option(Min = 0, MinExclusive = true, Max = 100)]
    public double? UpscaleSmoothingFactor { get; set; }

    /// <summary><c>downscale_smoothing_factor</c> (older name of downscalingFactor).</summary>
    [Option(Min = 0, MinExclusive = true, Max = 100)]
    public double? DownscaleSmoothingFactor { get; set; }

    /// <summary><c>upscaling_factor</c>: the gain when scaling up; takes precedence over the smoothing factors.</summary>
    [Option(Min = 0, MinExclusive = true, Max = 100)]
    public double? UpscalingFactor { get; set; }

    /// <summary><c>downscaling_factor</c>: the gain when scaling down; takes precedence over the smoothing factors.</summary>
    [Option(Min = 0, MinExclusive = true, Max = 100)]
    public double? DownscalingFactor { get; set; }

    /// <summary><c>upscale_delay_s</c>: how long scale-up decisions must hold before the controller scales up.</summary>
    [Option(Unit = "s", Min = 0, Max = 86_400)]
    public Duration UpscaleDelayS { get; set; } = Duration.FromSeconds(30);

    /// <summary><c>downscale_delay_s</c>: how long scale-down decisions must hold before the controller scales down.</summary>
    [Option(Unit = "s", Min = 0, Max = 86_400)]
    public Duration DownscaleDelayS { get; set; } = Duration.FromSeconds(600);

    /// <summary><c>downscale_to_zero_delay_s</c>: the delay of the last step, 1 to 0; downscaleDelayS when left out.</summary>
    [Option(Unit = "s", Min = 0, Max = 86_400)]
    public Duration? DownscaleToZeroDelayS { get; set; }

    /// <summary>
    /// <c>max_ongoing_requests</c>: the most requests a replica takes at once (Ray's default 5; Ray Serve LLM's 1e9). A
    /// limit of the data plane: serving replays route no more to a replica and hold the rest at the router; the count
    /// model, whose replicas serve a rate, does not replay it.
    /// </summary>
    [Option(Unit = "requests", Min = 1)]
    public int MaxOngoingRequests { get; set; } = 5;

    /// <summary>The controller's loop period (<c>RAY_SERVE_CONTROL_LOOP_INTERVAL_S</c>, 0.1 s).</summary>
    [Option(Unit = "s", Min = 0.001, Max = 60)]
    public Duration ControlLoopIntervalS { get; set; } = Duration.FromSeconds(0.1);

    /// <inheritdoc />
    public Duration DecisionPeriod => Duration.FromSeconds(1);

    internal double UpFactor => UpscalingFactor ?? UpscaleSmoothingFactor ?? SmoothingFactor;

    internal double DownFactor => DownscalingFactor ?? DownscaleSmoothingFactor ?? SmoothingFactor;

    /// <inheritdoc />
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MinReplicas > MaxReplicas)
        {
            errors.Add($"minReplicas ({MinReplicas}) must be <= maxReplicas ({MaxReplicas})");
        }

        if (InitialReplicas is { } initial && (initial < MinReplicas || initial > MaxReplicas))
        {
            errors.Add($"initialReplicas ({initial}) must be within minReplicas and maxReplicas ({MinReplicas} to {MaxReplicas})");
        }

        if (AggregationFunction is not ("mean" or "max" or "min"))
        {
            errors.Add($"aggregationFunction (\"{AggregationFunction}\") must be mean, max or min");
        }

        if (LookBackPeriodS < MetricsIntervalS)
        {
            errors.Add(FormattableString.Invariant($"lookBackPeriodS ({LookBackPeriodS.TotalSeconds}) must be at least metricsIntervalS ({MetricsIntervalS.TotalSeconds})"));
        }

        return errors;
    }
}
