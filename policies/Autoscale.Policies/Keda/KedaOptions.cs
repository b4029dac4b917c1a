using Autoscale.Policies.Common;
using Autoscale.Policies.Hpa;
using NodaTime;

namespace Autoscale.Policies.Keda;

/// <summary>
/// Options of <see cref="KedaPolicy"/>: a KEDA ScaledObject (keda.sh/v1alpha1) with its own field names, and the HPA
/// that KEDA creates for it. Defaults are those of KEDA v2.16 and Kubernetes v1.33.
/// </summary>
public sealed class KedaOptions : IValidatableOptions, IHasDecisionPeriod
{
    /// <summary>How often KEDA checks its triggers for activity, which alone scales between 0 (or idleReplicaCount) and minReplicaCount.</summary>
    [Option(Unit = "s", Min = 1, Max = 86_400)]
    public int PollingInterval { get; set; } = 30;

    /// <summary>How long after the last active check KEDA scales the target to 0 (or idleReplicaCount); only scaling to zero waits for it.</summary>
    [Option(Unit = "s", Min = 0, Max = 604_800)]
    public int CooldownPeriod { get; set; } = 300;

    /// <summary>After the replay starts, how long before KEDA may scale to zero when no trigger has been active yet.</summary>
    [Option(Unit = "s", Min = 0, Max = 604_800)]
    public int InitialCooldownPeriod { get; set; }

    /// <summary>The fewest replicas while a trigger is active; 0 lets KEDA scale to zero.</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int MinReplicaCount { get; set; }

    /// <summary>The most replicas (the HPA's maxReplicas).</summary>
    [Option(Unit = "replicas", Min = 1)]
    public int MaxReplicaCount { get; set; } = 100;

    /// <summary>The replicas while no trigger is active (below minReplicaCount; only 0 is supported by KEDA); none by default.</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int? IdleReplicaCount { get; set; }

    /// <summary>
    /// The triggers, each <c>{ "type": "prometheus", "signal": "inFlight", "metricType": "AverageValue", "metadata": {
    /// "threshold": "5", "activationThreshold": "0" } }</c>: the HPA gets one External metric per trigger with the threshold
    /// as its target; a trigger is active while its value is above activationThreshold.
    /// </summary>
    [Option(Required = true)]
    public List<KedaTrigger> Triggers { get; set; } = [];

    /// <summary><c>advanced.horizontalPodAutoscalerConfig.behavior</c> and friends: the behavior of the HPA KEDA creates.</summary>
    [Option]
    public KedaAdvanced? Advanced { get; set; }

    /// <summary>Replicas to hold when a trigger's metric cannot be read (<c>failureThreshold</c>, <c>replicas</c>); a replay's metrics never fail, so it never applies and is kept for import and export.</summary>
    [Option]
    public KedaFallback? Fallback { get; set; }

    /// <summary>The HPA's sync period (kube-controller-manager <c>--horizontal-pod-autoscaler-sync-period</c>).</summary>
    [Option(Unit = "s", Min = 1, Max = 86_400)]
    public int HpaSyncPeriodSeconds { get; set; } = 15;

    /// <summary>The replicas at the start of the replay (the Deployment's own count); minReplicaCount when left out.</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int? InitialReplicas { get; set; }

    /// <inheritdoc />
    public Duration DecisionPeriod => Duration.FromSeconds(Gcd(PollingInterval, HpaSyncPeriodSeconds));

    internal static int Gcd(int a, int b) => b == 0 ? Math.Max(1, a) : Gcd(b, a % b);

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(KedaTrigger))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(KedaAdvanced))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(KedaFallback))]
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MinReplicaCount > MaxReplicaCount)
        {
            errors.Add($"minReplicaCount ({MinReplicaCount}) must be <= maxReplicaCount ({MaxReplicaCount})");
        }

        if (IdleReplicaCount is { } idle && idle >= MinReplicaCount)
        {
            errors.Add($"idleReplicaCount ({idle}) must be below minReplicaCount ({MinReplicaCount})");
        }

        if (Triggers.Count == 0)
        {
            errors.Add("triggers must hold at least one trigger");
        }

        return errors;
    }
}

/// <summary>One trigger of a ScaledObject, read from one of the replay's stand-in signals.</summary>
public sealed class KedaTrigger : IValidatableOptions
{
    /// <summary>The scaler's type as in the manifest (<c>prometheus</c>, ...); the replay reads <see cref="Signal"/> whatever it is.</summary>
    [Option]
    public string Type { get; set; } = "prometheus";

    /// <summary>The trigger's name, if the manifest gives one.</summary>
    [Option]
    public string? Name { get; set; }

    /// <summary>The stand-in signal the trigger's metric is read from (inFlight, arrivalRps, queue); <c>policy import</c> fills it from <c>--metric-map</c>.</summary>
    [Option]
    public string Signal { get; set; } = StandInSignals.InFlight;

    /// <summary><c>AverageValue</c> (the threshold per replica, the default) or <c>Value</c> (the threshold for the whole metric).</summary>
    [Option]
    public string MetricType { get; set; } = "AverageValue";

    /// <summary>The scaler's metadata as strings; <c>threshold</c> (the HPA's target) is required, <c>activationThreshold</c> defaults to 0.</summary>
    [Option]
    public Dictionary<string, string> Metadata { get; set; } = [];

    internal double Threshold => KubernetesQuantity.TryParse(Metadata.GetValueOrDefault("threshold") ?? Metadata.GetValueOrDefault("targetValue"), out var v) ? v : double.NaN;

    internal double ActivationThreshold => Metadata.TryGetValue("activationThreshold", out var text) && KubernetesQuantity.TryParse(text, out var v) ? v : 0;

    /// <inheritdoc />
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (StandInSignals.Problem(Signal) is { } problem)
        {
            errors.Add($"signal: {problem}");
        }

        if (MetricType is not ("AverageValue" or "Value"))
        {
            errors.Add($"metricType (\"{MetricType}\") must be AverageValue or Value (Utilization needs CPU or memory, which a replay has not)");
        }

        if (!(Threshold > 0))
        {
            errors.Add($"metadata.threshold ({(Metadata.GetValueOrDefault("threshold") is { } t ? $"\"{t}\"" : "missing")}) must be a positive quantity such as 5 or 500m");
        }

        if (Metadata.TryGetValue("activationThreshold", out var activation) && !KubernetesQuantity.TryParse(activation, out _))
        {
            errors.Add($"metadata.activationThreshold (\"{activation}\") must be a quantity such as 0 or 2");
        }

        return errors;
    }
}

/// <summary><c>advanced</c> of a ScaledObject.</summary>
public sealed class KedaAdvanced : IValidatableOptions
{
    /// <summary><c>horizontalPodAutoscalerConfig</c>: the behavior of the HPA KEDA creates.</summary>
    [Option]
    public KedaHpaConfig? HorizontalPodAutoscalerConfig { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(KedaHpaConfig))]
    public IReadOnlyList<string> Validate() => [];
}

/// <summary><c>advanced.horizontalPodAutoscalerConfig</c>.</summary>
public sealed class KedaHpaConfig : IValidatableOptions
{
    /// <summary>The HPA's <c>behavior</c> (scaleUp, scaleDown), as in an HPA manifest.</summary>
    [Option]
    public HpaBehavior? Behavior { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(HpaBehavior))]
    public IReadOnlyList<string> Validate() => [];
}

/// <summary><c>fallback</c> of a ScaledObject.</summary>
public sealed class KedaFallback : IValidatableOptions
{
    /// <summary>Failed reads before the fallback applies.</summary>
    [Option(Min = 0)]
    public int FailureThreshold { get; set; } = 3;

    /// <summary>The replicas to hold.</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int Replicas { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}
