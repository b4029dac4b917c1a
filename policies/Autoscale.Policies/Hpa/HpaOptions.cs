using Autoscale.Policies.Common;
using NodaTime;

namespace Autoscale.Policies.Hpa;

/// <summary>
/// Options of <see cref="HpaPolicy"/>: a Kubernetes HorizontalPodAutoscaler (autoscaling/v2), written with the
/// manifest's own field names (<c>minReplicas</c>, <c>maxReplicas</c>, <c>metrics</c>, <c>behavior</c>), plus the
/// kube-controller-manager flags that shape it (<c>syncPeriodSeconds</c>, <c>tolerance</c>,
/// <c>downscaleStabilizationSeconds</c>). Defaults are those of Kubernetes v1.33.
/// </summary>
public sealed class HpaOptions : IValidatableOptions, IHasDecisionPeriod
{
    /// <summary>The fewest replicas (<c>spec.minReplicas</c>); 0 needs an Object or External metric (the HPAScaleToZero feature).</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int MinReplicas { get; set; } = 1;

    /// <summary>The most replicas (<c>spec.maxReplicas</c>, which a manifest must give).</summary>
    [Option(Unit = "replicas", Min = 1, Required = true)]
    public int MaxReplicas { get; set; } = 10;

    /// <summary>
    /// The metrics (<c>spec.metrics</c>), each <c>{ "type": "Pods", "pods": { "metric": { "name": "inFlight" }, "target":
    /// { "type": "AverageValue", "averageValue": 20 } } }</c> or <c>"type": "External"</c> with <c>external</c>; the
    /// metric's name is a stand-in signal of the replay (inFlight, arrivalRps, queue). The largest proposal wins.
    /// </summary>
    [Option(Required = true)]
    public List<HpaMetricSpec> Metrics { get; set; } = [];

    /// <summary>
    /// <c>spec.behavior</c>: <c>scaleUp</c> and <c>scaleDown</c> rules. Absent, the controller's older fixed rules apply
    /// (scale up to at most max(2 x current, 4) per sync, scale down after <c>downscaleStabilizationSeconds</c>); present,
    /// every rule it leaves out takes the API's default.
    /// </summary>
    [Option]
    public HpaBehavior? Behavior { get; set; }

    /// <summary>
    /// The Deployment's <c>spec.replicas</c> when the replay starts (the fleet of tick 0, all ready, before the HPA's
    /// first sync); minReplicas (at least 1) when left out.
    /// </summary>
    [Option(Unit = "replicas", Min = 0)]
    public int? InitialReplicas { get; set; }

    /// <summary>How often the controller reconciles (kube-controller-manager <c>--horizontal-pod-autoscaler-sync-period</c>); the candidate's decision interval unless it sets one.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 86_400)]
    public Duration SyncPeriodSeconds { get; set; } = Duration.FromSeconds(15);

    /// <summary>The ratio of metric to target within which nothing changes (<c>--horizontal-pod-autoscaler-tolerance</c>).</summary>
    [Option(Unit = "fraction", Min = 0, Max = 1)]
    public double Tolerance { get; set; } = 0.1;

    /// <summary>The scale-down stabilization window when the behavior does not give one (<c>--horizontal-pod-autoscaler-downscale-stabilization</c>).</summary>
    [Option(Unit = "s", Min = 0, Max = 3_600)]
    public Duration DownscaleStabilizationSeconds { get; set; } = Duration.FromSeconds(300);

    /// <inheritdoc />
    public Duration DecisionPeriod => SyncPeriodSeconds;

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(HpaMetricSpec))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(HpaBehavior))]
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MinReplicas > MaxReplicas)
        {
            errors.Add($"minReplicas ({MinReplicas}) must be <= maxReplicas ({MaxReplicas})");
        }

        if (Metrics.Count == 0)
        {
            errors.Add("metrics must name at least one metric (the HPA's own default, CPU at 80 %, has no stand-in in a replay)");
        }

        if (MinReplicas == 0 && Metrics.Count > 0 && Metrics.All(m => !m.IsObject && !string.Equals(m.Type, "External", StringComparison.OrdinalIgnoreCase)))
        {
            errors.Add("minReplicas 0 needs at least one Object or External metric (scale to zero reads those only)");
        }

        return errors;
    }
}

/// <summary>One entry of <c>spec.metrics</c>.</summary>
public sealed class HpaMetricSpec : IValidatableOptions
{
    /// <summary>
    /// <c>Pods</c> (a per-replica metric, averaged over the ready replicas), <c>External</c> (one value for the whole fleet)
    /// or <c>Resource</c> (a share of what each pod requests, read from the stand-in signal the resource is mapped to).
    /// </summary>
    [Option]
    public string Type { get; set; } = "Pods";

    /// <summary>The Pods metric: <c>metric.name</c> and a <c>target</c> of type <c>AverageValue</c>.</summary>
    [Option]
    public HpaMetricSource? Pods { get; set; }

    /// <summary>The External metric: <c>metric.name</c> and a <c>target</c> of type <c>Value</c> or <c>AverageValue</c>.</summary>
    [Option]
    public HpaMetricSource? External { get; set; }

    /// <summary>The Object metric: <c>describedObject</c>, <c>metric.name</c> and a <c>target</c> of type <c>Value</c> or <c>AverageValue</c>; replayed as the External one.</summary>
    [Option]
    public HpaMetricSource? Object { get; set; }

    /// <summary>The Resource metric: the resource's <c>name</c> (cpu), the stand-in <c>signal</c> it is read from, and a <c>target</c> of type <c>Utilization</c>.</summary>
    [Option]
    public HpaResourceSource? Resource { get; set; }

    /// <summary>Whether the metric is of type Pods.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsPods => string.Equals(Type, "Pods", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether the metric is of type Resource.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsResource => string.Equals(Type, "Resource", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether the metric is of type Object.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsObject => string.Equals(Type, "Object", StringComparison.OrdinalIgnoreCase);

    /// <summary>The metric's source for its type: <see cref="Pods"/>, <see cref="Object"/> or <see cref="External"/> (null for a Resource metric's, which is <see cref="Resource"/>).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public HpaMetricSource? Source => IsPods ? Pods : IsObject ? Object : External;

    /// <summary>The field of the metric's source in the manifest: pods, object or external.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Field => IsPods ? "pods" : IsObject ? "object" : "external";

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(HpaMetricSource))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(HpaResourceSource))]
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (IsResource)
        {
            if (Resource is not { } resource)
            {
                errors.Add("resource must be given for a Resource metric");
            }
            else if (StandInSignals.Problem(resource.Signal) is { } unmapped)
            {
                errors.Add($"resource.signal: {resource.Name} has no stand-in in a replay until it is mapped to one: {unmapped}");
            }
            else if (!string.Equals(resource.Target.Type, "Utilization", StringComparison.OrdinalIgnoreCase) || resource.Target.AverageUtilization is not > 0)
            {
                errors.Add($"resource.target must be of type Utilization with a positive averageUtilization (was {resource.Target.Type} {resource.Target.AverageUtilization})");
            }

            return errors;
        }

        if (string.Equals(Type, "ContainerResource", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"type (\"{Type}\"): a container's resource has no stand-in in a replay; use a Resource, Pods or External metric on one of {string.Join(", ", StandInSignals.Names)}");
            return errors;
        }

        if (!IsPods && !IsObject && !string.Equals(Type, "External", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"type (\"{Type}\") must be Pods, Object, External or Resource");
            return errors;
        }

        var field = Field;
        if (Source is not { } source)
        {
            errors.Add($"{field} must be given for a {Type} metric");
            return errors;
        }

        if (StandInSignals.Problem(source.Metric.Name) is { } problem)
        {
            errors.Add($"{field}.metric.name: {problem}");
        }

        var target = source.Target;
        if (IsPods && !target.IsAverageValue)
        {
            errors.Add($"{field}.target.type (\"{target.Type}\") must be AverageValue for a Pods metric");
        }
        else if (!IsPods && !target.IsAverageValue && !target.IsValue)
        {
            errors.Add($"{field}.target.type (\"{target.Type}\") must be Value or AverageValue for an {Type} metric");
        }

        var (name, value) = target.IsAverageValue ? ("averageValue", target.AverageValue) : ("value", target.Value);
        if (value is not { } given)
        {
            errors.Add($"{field}.target.{name} must be given for a target of type {target.Type}");
        }
        else if (!(given > 0) || !double.IsFinite(given))
        {
            errors.Add($"{field}.target.{name} ({given}) must be a positive number");
        }

        return errors;
    }
}

/// <summary>A metric and its target (<c>pods</c> or <c>external</c> of a metric spec).</summary>
public sealed class HpaMetricSource : IValidatableOptions
{
    /// <summary>Which metric: its <c>name</c>, a stand-in signal of the replay.</summary>
    [Option]
    public HpaMetricIdentifier Metric { get; set; } = new();

    /// <summary>The target: <c>type</c> (<c>Value</c> or <c>AverageValue</c>) and the number.</summary>
    [Option]
    public HpaMetricTarget Target { get; set; } = new();

    /// <summary>For an Object metric, the object it describes (<c>apiVersion</c>, <c>kind</c>, <c>name</c>), kept for export.</summary>
    [Option]
    public HpaObjectReference? DescribedObject { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(HpaMetricIdentifier))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(HpaMetricTarget))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(HpaObjectReference))]
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>A Resource metric (<c>resource</c> of a metric spec): which resource, and the stand-in it is read from in a replay.</summary>
public sealed class HpaResourceSource : IValidatableOptions
{
    /// <summary>The resource as the manifest names it (<c>cpu</c>, <c>memory</c>).</summary>
    [Option]
    public string Name { get; set; } = "cpu";

    /// <summary>
    /// The stand-in signal the resource is read from (inFlight, arrivalRps, queue); each pod's request is then one
    /// replica's capacity in that signal (replica.capacityRps), so 100 % means a replica at its capacity.
    /// </summary>
    [Option]
    public string Signal { get; set; } = "";

    /// <summary>The target: <c>type</c> <c>Utilization</c> and <c>averageUtilization</c> in percent.</summary>
    [Option]
    public HpaMetricTarget Target { get; set; } = new() { Type = "Utilization" };

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(HpaMetricTarget))]
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>The object an Object metric describes (<c>describedObject</c>).</summary>
public sealed class HpaObjectReference : IValidatableOptions
{
    /// <summary>The object's API version, e.g. <c>networking.k8s.io/v1</c>.</summary>
    [Option]
    public string ApiVersion { get; set; } = "";

    /// <summary>The object's kind, e.g. <c>Ingress</c>.</summary>
    [Option]
    public string Kind { get; set; } = "";

    /// <summary>The object's name.</summary>
    [Option]
    public string Name { get; set; } = "";

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>A metric's name (<c>metric.name</c>).</summary>
public sealed class HpaMetricIdentifier : IValidatableOptions
{
    /// <summary>The stand-in signal: inFlight, arrivalRps or queue.</summary>
    [Option]
    public string Name { get; set; } = StandInSignals.InFlight;

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>A metric's target (<c>target</c>).</summary>
public sealed class HpaMetricTarget : IValidatableOptions
{
    /// <summary><c>AverageValue</c> (per replica) or <c>Value</c> (the whole metric; External only).</summary>
    [Option]
    public string Type { get; set; } = "AverageValue";

    /// <summary>The target per replica, for <c>AverageValue</c>.</summary>
    [Option]
    public double? AverageValue { get; set; }

    /// <summary>The target of the whole metric, for <c>Value</c>.</summary>
    [Option]
    public double? Value { get; set; }

    /// <summary>The target share of each pod's request, in percent, for <c>Utilization</c> (Resource metrics).</summary>
    [Option(Unit = "%", Min = 1)]
    public int? AverageUtilization { get; set; }

    /// <summary>Whether the target is of type AverageValue.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsAverageValue => string.Equals(Type, "AverageValue", StringComparison.OrdinalIgnoreCase);

    internal bool IsValue => string.Equals(Type, "Value", StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary><c>spec.behavior</c>.</summary>
public sealed class HpaBehavior : IValidatableOptions
{
    /// <summary>Rules for scaling up; left out, the default: no stabilization, at most +4 pods or +100 % per 15 s, the larger.</summary>
    [Option]
    public HpaScalingRules? ScaleUp { get; set; }

    /// <summary>Rules for scaling down; left out, the default: the controller's 300 s stabilization, at most -100 % per 15 s.</summary>
    [Option]
    public HpaScalingRules? ScaleDown { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(HpaScalingRules))]
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>The rules of one direction (<c>scaleUp</c> or <c>scaleDown</c>); what is left out takes the API's default.</summary>
public sealed class HpaScalingRules : IValidatableOptions
{
    /// <summary>Past recommendations considered: scaling up takes the smallest of them, scaling down the largest.</summary>
    [Option(Unit = "s", Min = 0, Max = 3_600)]
    public int? StabilizationWindowSeconds { get; set; }

    /// <summary><c>Max</c> (the policy allowing the largest change), <c>Min</c> (the smallest) or <c>Disabled</c> (no scaling this way).</summary>
    [Option]
    public string? SelectPolicy { get; set; }

    /// <summary>The rate limits, each <c>{ "type": "Pods" | "Percent", "value": N, "periodSeconds": S }</c>.</summary>
    [Option]
    public List<HpaScalingPolicy>? Policies { get; set; }

    /// <summary>This direction's own tolerance (Kubernetes 1.33's HPAConfigurableTolerance); the controller's when left out.</summary>
    [Option(Unit = "fraction", Min = 0, Max = 1)]
    public double? Tolerance { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(HpaScalingPolicy))]
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (SelectPolicy is { } select && !(select is "Max" or "Min" or "Disabled"))
        {
            errors.Add($"selectPolicy (\"{select}\") must be Max, Min or Disabled");
        }

        if (Policies is { Count: 0 } && SelectPolicy != "Disabled")
        {
            errors.Add("policies must hold at least one policy (or set selectPolicy Disabled)");
        }

        return errors;
    }
}

/// <summary>One rate limit of a direction's rules.</summary>
public sealed class HpaScalingPolicy : IValidatableOptions
{
    /// <summary><c>Pods</c> (a number of replicas) or <c>Percent</c> (of the replicas at the period's start).</summary>
    [Option]
    public string Type { get; set; } = "Pods";

    /// <summary>How many pods, or what percent, per period.</summary>
    [Option(Min = 1)]
    public int Value { get; set; } = 1;

    /// <summary>The period the change is counted over.</summary>
    [Option(Unit = "s", Min = 1, Max = 1_800)]
    public int PeriodSeconds { get; set; } = 15;

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() =>
        Type is "Pods" or "Percent" ? [] : [$"type (\"{Type}\") must be Pods or Percent"];
}
