using NodaTime;
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

    /// <summary>With a serving profile: requests waiting (gateway and replica queues, vLLM's <c>num_requests_waiting</c>) per replica, against <see cref="ReactiveOptions.TargetWaitingPerReplica"/>.</summary>
    WaitingPerReplica,

    /// <summary>With a serving profile: requests running in replicas' batches (vLLM's <c>num_requests_running</c>) per replica, against <see cref="ReactiveOptions.TargetRunningPerReplica"/>.</summary>
    RunningPerReplica,

    /// <summary>With a serving profile: the ready replicas' KV cache use (vLLM's <c>kv_cache_usage_perc</c>), against <see cref="ReactiveOptions.TargetKvCacheUtilization"/>.</summary>
    KvCacheUtilization,

    /// <summary>With a serving profile: the 95th percentile time to first token of the last interval, against <see cref="ReactiveOptions.TargetTtftP95Seconds"/>.</summary>
    TtftP95Seconds,
}

/// <summary>
/// Options of <see cref="ReactivePolicy"/>: the HPA's target, tolerance, stabilization windows and
/// rate limits, Knative's panic mode, KEDA's scale to zero. Defaults follow the HPA's where it has one.
/// </summary>
public class ReactiveOptions : IValidatableOptions
{
    /// <summary>The fewest replicas; 0 allows scale to zero after <see cref="ScaleToZeroGraceSeconds"/> without requests.</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int MinReplicas { get; set; } = 1;

    /// <summary>The most replicas the policy asks for (the engine's own maximum also applies).</summary>
    [Option(Unit = "replicas", Min = 1)]
    public int MaxReplicas { get; set; } = 100;

    /// <summary>What to measure: <c>utilization</c> (demand over ready capacity), <c>inFlightPerReplica</c> (requests waiting or in service per replica), or with a serving profile <c>waitingPerReplica</c>, <c>runningPerReplica</c>, <c>kvCacheUtilization</c>, <c>ttftP95Seconds</c>.</summary>
    [Option]
    public ReactiveMetric Metric { get; set; } = ReactiveMetric.Utilization;

    /// <summary>Target utilization of ready capacity (utilization metric): the policy sizes the fleet so demand fills this share of it.</summary>
    [Option(Unit = "fraction", Min = 0, MinExclusive = true, Max = 1)]
    public double TargetUtilization { get; set; } = 0.7;

    /// <summary>Target requests in flight per replica (inFlightPerReplica metric), as a KEDA query on vLLM's waiting plus running requests would give.</summary>
    [Option(Unit = "requests", Min = 0, MinExclusive = true)]
    public double TargetInFlightPerReplica { get; set; } = 20;

    /// <summary>Target requests waiting per replica (waitingPerReplica metric).</summary>
    [Option(Unit = "requests", Min = 0, MinExclusive = true)]
    public double TargetWaitingPerReplica { get; set; } = 4;

    /// <summary>Target requests running per replica (runningPerReplica metric).</summary>
    [Option(Unit = "requests", Min = 0, MinExclusive = true)]
    public double TargetRunningPerReplica { get; set; } = 32;

    /// <summary>Target KV cache use of the ready replicas (kvCacheUtilization metric).</summary>
    [Option(Unit = "fraction", Min = 0, MinExclusive = true, Max = 1)]
    public double TargetKvCacheUtilization { get; set; } = 0.8;

    /// <summary>Target 95th percentile time to first token (ttftP95Seconds metric): the fleet grows by the ratio of the measured to this.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true)]
    public Duration TargetTtftP95Seconds { get; set; } = Duration.FromSeconds(1);

    /// <summary>The backlog counts as demand to be drained within this long: queue / this is added to the arrival rate.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true)]
    public Duration QueueDrainSeconds { get; set; } = Duration.FromSeconds(5);

    /// <summary>Average the arrival rate over this window; 0 uses the last decision interval alone.</summary>
    [Option(Unit = "s", Min = 0)]
    public Duration MetricWindowSeconds { get; set; }

    /// <summary>No change while desired / current stays within 1 ± this (the HPA's tolerance).</summary>
    [Option(Unit = "fraction", Min = 0, Max = 1, MaxExclusive = true)]
    public double Tolerance { get; set; } = 0.1;

    /// <summary>Scale up only to the smallest recommendation of this window (the HPA's scaleUp stabilizationWindowSeconds).</summary>
    [Option(Unit = "s", Min = 0)]
    public Duration ScaleUpStabilizationSeconds { get; set; }

    /// <summary>Scale down only to the largest recommendation of this window (the HPA's scaleDown stabilizationWindowSeconds).</summary>
    [Option(Unit = "s", Min = 0)]
    public Duration ScaleDownStabilizationSeconds { get; set; } = Duration.FromSeconds(300);

    /// <summary>Scale-up limit: replicas that may be added per period; the larger of this and <see cref="ScaleUpLimitPercent"/> applies.</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int ScaleUpLimitReplicas { get; set; } = 4;

    /// <summary>Scale-up limit: percent of the fleet (at the start of the period) that may be added per period.</summary>
    [Option(Unit = "%", Min = 0)]
    public double ScaleUpLimitPercent { get; set; } = 100;

    /// <summary>The period the scale-up limits count over.</summary>
    [Option(Unit = "s", Min = 0)]
    public Duration ScaleUpPeriodSeconds { get; set; } = Duration.FromSeconds(15);

    /// <summary>Scale-down limit: replicas that may be removed per period; the larger of this and <see cref="ScaleDownLimitPercent"/> applies.</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int ScaleDownLimitReplicas { get; set; }

    /// <summary>Scale-down limit: percent of the fleet (at the start of the period) that may be removed per period.</summary>
    [Option(Unit = "%", Min = 0, Max = 100)]
    public double ScaleDownLimitPercent { get; set; } = 100;

    /// <summary>The period the scale-down limits count over.</summary>
    [Option(Unit = "s", Min = 0)]
    public Duration ScaleDownPeriodSeconds { get; set; } = Duration.FromSeconds(15);

    /// <summary>Panic when demand over the panic window reaches this percent of ready capacity: scale up at once, never down (Knative uses 200); 0 turns panic off.</summary>
    [Option(Unit = "%", Min = 0)]
    public double PanicThresholdPercent { get; set; }

    /// <summary>The short window panic measures demand over (Knative's is 6 s: 10% of its 60 s stable window).</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true)]
    public Duration PanicWindowSeconds { get; set; } = Duration.FromSeconds(6);

    /// <summary>Stay in panic this long after the last reading above the threshold.</summary>
    [Option(Unit = "s", Min = 0)]
    public Duration PanicHoldSeconds { get; set; } = Duration.FromSeconds(60);

    /// <summary>With <see cref="MinReplicas"/> 0: scale to zero only after this long without requests (KEDA's cooldownPeriod).</summary>
    [Option(Unit = "s", Min = 0)]
    public Duration ScaleToZeroGraceSeconds { get; set; } = Duration.FromSeconds(300);

    /// <inheritdoc />
    public virtual IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MinReplicas > MaxReplicas)
        {
            errors.Add($"minReplicas ({MinReplicas}) must be <= maxReplicas ({MaxReplicas})");
        }

        if (ScaleUpLimitReplicas == 0 && ScaleUpLimitPercent == 0)
        {
            errors.Add("scaleUpLimitReplicas and scaleUpLimitPercent are both 0: the policy could never scale up");
        }

        if (PanicThresholdPercent is > 0 and <= 100)
        {
            errors.Add($"panicThresholdPercent ({PanicThresholdPercent}) must be 0 (off) or above 100");
        }

        return errors;
    }
}
