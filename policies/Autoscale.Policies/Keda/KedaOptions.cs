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

        var names = Triggers.Select(t => t.Name).OfType<string>().ToList();
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
        {
            errors.Add($"triggers: two triggers share the name \"{names.GroupBy(n => n, StringComparer.Ordinal).First(g => g.Count() > 1).Key}\" (KEDA refuses that)");
        }

        if (Advanced?.ScalingModifiers is { } modifiers)
        {
            if (Triggers.Any(t => string.IsNullOrEmpty(t.Name)))
            {
                errors.Add("advanced.scalingModifiers: every trigger needs a name for the formula to read it by");
            }
            else if (KedaFormula.TryParse(modifiers.Formula, names, out var problem) is not { } formula)
            {
                errors.Add($"advanced.scalingModifiers.formula: {problem}");
            }
            else
            {
                foreach (var sample in new[] { 0.0, 1.0 })
                {
                    double value;
                    try
                    {
                        value = formula.Evaluate(Enumerable.Repeat(sample, names.Count).ToArray());
                    }
                    catch (InvalidOperationException e)
                    {
                        errors.Add($"advanced.scalingModifiers.formula: {e.Message}");
                        break;
                    }

                    if (double.IsNaN(value) && sample == 1)
                    {
                        errors.Add("advanced.scalingModifiers.formula must give a number (it gives true or false)");
                    }
                }
            }
        }

        return errors;
    }
}

/// <summary>One trigger of a ScaledObject, read from one of the replay's stand-in signals (or, for <c>cron</c>, from the clock).</summary>
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

    /// <summary>
    /// The scaler's metadata as strings. The target is <c>threshold</c> for most scalers, or the key the scaler names it
    /// by (<c>targetValue</c>, <c>value</c>, <c>queueLength</c>, <c>lagThreshold</c>, ...); <c>activationThreshold</c>
    /// (or <c>activationTargetValue</c>, ...) defaults to 0. A <c>cron</c> trigger has <c>timezone</c>, <c>start</c>,
    /// <c>end</c> and <c>desiredReplicas</c>; a <c>cpu</c> or <c>memory</c> trigger has <c>value</c>, a utilization percentage.
    /// </summary>
    [Option]
    public Dictionary<string, string> Metadata { get; set; } = [];

    /// <summary>The metadata keys KEDA's scalers hold their target under, in the order looked for.</summary>
    internal static readonly string[] TargetKeys =
    [
        "threshold", "targetValue", "value", "queueLength", "lagThreshold", "listLength", "targetPendingRequests",
        "targetQueryValue", "messageCount", "targetMetricValue", "targetPipelinesQueueLength",
    ];

    internal static readonly string[] ActivationKeys =
    [
        "activationThreshold", "activationTargetValue", "activationValue", "activationQueueLength", "activationLagThreshold",
        "activationListLength", "activationTargetPendingRequests", "activationTargetQueryValue", "activationMessageCount",
        "activationTargetMetricValue",
    ];

    /// <summary>Whether the trigger is a cron trigger (a floor for a time window).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsCron => string.Equals(Type, "cron", StringComparison.OrdinalIgnoreCase);

    /// <summary>A cpu or memory trigger: a Resource metric of the HPA, on utilization.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsResource => Type.ToLowerInvariant() is "cpu" or "memory";

    /// <summary>
    /// The target of each scaler whose target is not <c>threshold</c>: the metadata keys it reads (first given wins) and
    /// the value KEDA uses when none is given (null: required). From KEDA v2.17's scaler sources (pkg/scalers).
    /// </summary>
    internal static readonly Dictionary<string, (string[] Keys, double? Default)> ScalerTargets = new(StringComparer.OrdinalIgnoreCase)
    {
        ["activemq"] = (["targetQueueSize"], 10),
        ["apache-kafka"] = (["lagThreshold"], 10),
        ["kafka"] = (["lagThreshold"], 10),
        ["artemis-queue"] = (["queueLength"], 10),
        ["aws-sqs-queue"] = (["queueLength"], 5),
        ["aws-cloudwatch"] = (["targetMetricValue"], null),
        ["aws-dynamodb"] = (["targetValue"], null),
        ["azure-queue"] = (["queueLength"], 5),
        ["azure-servicebus"] = (["messageCount"], 5),
        ["azure-eventhub"] = (["unprocessedEventThreshold"], 64),
        ["azure-blob"] = (["blobCount"], 5),
        ["azure-pipelines"] = (["targetPipelinesQueueLength"], 1),
        ["azure-monitor"] = (["targetValue"], null),
        ["azure-app-insights"] = (["targetValue"], null),
        ["gcp-pubsub"] = (["value", "subscriptionSize"], 10),
        ["gcp-cloudtasks"] = (["value"], 100),
        ["github-runner"] = (["targetWorkflowQueueLength"], 1),
        ["ibmmq"] = (["queueDepth"], 20),
        ["influxdb"] = (["thresholdValue"], null),
        ["liiklus"] = (["lagThreshold"], 10),
        ["nats-jetstream"] = (["lagThreshold"], 10),
        ["stan"] = (["lagThreshold"], 10),
        ["nsq"] = (["depthThreshold"], 10),
        ["openstack-swift"] = (["objectCount"], 2),
        ["pulsar"] = (["msgBacklogThreshold"], 10),
        ["redis"] = (["listLength"], 5),
        ["redis-cluster"] = (["listLength"], 5),
        ["redis-sentinel"] = (["listLength"], 5),
        ["redis-streams"] = (["pendingEntriesCount", "streamLength", "lagCount"], 5),
        ["redis-cluster-streams"] = (["pendingEntriesCount", "streamLength", "lagCount"], 5),
        ["redis-sentinel-streams"] = (["pendingEntriesCount", "streamLength", "lagCount"], 5),
        ["mysql"] = (["queryValue"], null),
        ["mongodb"] = (["queryValue"], null),
        ["couchdb"] = (["queryValue"], null),
        ["arangodb"] = (["queryValue"], null),
        ["datadog"] = (["queryValue"], null),
        ["postgresql"] = (["targetQueryValue"], null),
        ["solace-event-queue"] = (["messageCountTarget", "messageSpoolUsageTarget", "messageReceiveRateTarget"], null),
        ["metrics-api"] = (["targetValue"], null),
        ["kubernetes-workload"] = (["value"], null),
        ["rabbitmq"] = (["value", "queueLength"], null),
        ["etcd"] = (["value"], null),
        ["beanstalkd"] = (["value"], null),
    };

    /// <summary>Scalers whose metric and target come from the user's own scaler service (KEDA's external scalers).</summary>
    internal bool IsExternal => Type.ToLowerInvariant() is "external" or "external-push";

    internal string? TargetKey => ScalerTargets.TryGetValue(Type, out var known) && known.Keys.FirstOrDefault(Metadata.ContainsKey) is { } given
        ? given
        : TargetKeys.FirstOrDefault(Metadata.ContainsKey);

    internal double Threshold => IsCron ? 1
        : TargetKey is { } key ? (KubernetesQuantity.TryParse(Metadata[key], out var v) ? v : double.NaN)
        : ScalerTargets.TryGetValue(Type, out var known) && known.Default is { } fallback ? fallback
        : double.NaN;

    internal double ActivationThreshold =>
        (TargetKey is { } key ? "activation" + char.ToUpperInvariant(key[0]) + key[1..] : null) is { } own && Metadata.TryGetValue(own, out var ownText) && KubernetesQuantity.TryParse(ownText, out var ownValue) ? ownValue
        : ActivationKeys.FirstOrDefault(Metadata.ContainsKey) is { } generic && KubernetesQuantity.TryParse(Metadata[generic], out var v) ? v : 0;

    /// <inheritdoc />
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (IsCron)
        {
            ValidateCron(errors);
            return errors;
        }

        if (StandInSignals.Problem(Signal) is { } problem)
        {
            errors.Add($"signal: {problem}");
        }

        if (IsResource ? MetricType != "Utilization" : MetricType is not ("AverageValue" or "Value"))
        {
            errors.Add(IsResource
                ? $"metricType (\"{MetricType}\") of a {Type} trigger must be Utilization (a percentage of the request; an absolute AverageValue has no stand-in in a replay)"
                : $"metricType (\"{MetricType}\") must be AverageValue or Value (Utilization is for cpu and memory triggers)");
        }

        if (!(Threshold > 0))
        {
            var shown = TargetKey is { } key ? $"metadata.{key} (\"{Metadata[key]}\")"
                : ScalerTargets.TryGetValue(Type, out var known) ? $"metadata.{known.Keys[0]} (missing; the {Type} scaler has no default)"
                : $"metadata.threshold (missing; also looked for {string.Join(", ", TargetKeys.Skip(1))})";
            errors.Add($"{shown} must be a positive quantity such as 5 or 500m");
        }

        if (ActivationKeys.FirstOrDefault(Metadata.ContainsKey) is { } activationKey && !KubernetesQuantity.TryParse(Metadata[activationKey], out _))
        {
            errors.Add($"metadata.{activationKey} (\"{Metadata[activationKey]}\") must be a quantity such as 0 or 2");
        }

        return errors;
    }

    private void ValidateCron(List<string> errors)
    {
        var zone = Metadata.GetValueOrDefault("timezone");
        if (string.IsNullOrEmpty(zone) || DateTimeZoneProviders.Tzdb.GetZoneOrNull(zone) is null)
        {
            errors.Add($"metadata.timezone ({(zone is null ? "missing" : $"\"{zone}\"")}) must be an IANA time zone such as Europe/Berlin");
        }

        foreach (var key in new[] { "start", "end" })
        {
            if (KedaCron.TryParse(Metadata.GetValueOrDefault(key), out var why) is null)
            {
                errors.Add($"metadata.{key}: {why}");
            }
        }

        // KEDA's cronMetadata.Validate: a start and end of exactly the same text, and no (or 0) desiredReplicas, are refused.
        if (Metadata.GetValueOrDefault("start") is { } start && start == Metadata.GetValueOrDefault("end"))
        {
            errors.Add($"metadata.start and metadata.end (both \"{start}\") must differ: KEDA refuses a window that starts when it ends");
        }

        if (!int.TryParse(Metadata.GetValueOrDefault("desiredReplicas"), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var desired) || desired < 1)
        {
            errors.Add($"metadata.desiredReplicas ({(Metadata.GetValueOrDefault("desiredReplicas") is { } d ? $"\"{d}\"" : "missing")}) must be a whole number of replicas, 1 or more");
        }

        if (MetricType is not ("AverageValue" or "Value"))
        {
            errors.Add($"metricType (\"{MetricType}\") of a cron trigger must be AverageValue (KEDA's default)");
        }
    }
}

/// <summary><c>advanced</c> of a ScaledObject.</summary>
public sealed class KedaAdvanced : IValidatableOptions
{
    /// <summary><c>horizontalPodAutoscalerConfig</c>: the behavior of the HPA KEDA creates.</summary>
    [Option]
    public KedaHpaConfig? HorizontalPodAutoscalerConfig { get; set; }

    /// <summary><c>scalingModifiers</c>: one composite metric, a formula over the triggers' values by name, in place of a metric per trigger.</summary>
    [Option]
    public KedaScalingModifiers? ScalingModifiers { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(KedaHpaConfig))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(KedaScalingModifiers))]
    public IReadOnlyList<string> Validate() => [];
}

/// <summary><c>advanced.scalingModifiers</c> of a ScaledObject (KEDA 2.12 and later).</summary>
public sealed class KedaScalingModifiers : IValidatableOptions
{
    /// <summary>The expression (expr-lang) over the triggers' names, such as <c>"(queue + inflight) / 2"</c>; every trigger must have a name.</summary>
    [Option]
    public string Formula { get; set; } = "";

    /// <summary>The composite metric's target, a quantity.</summary>
    [Option]
    public string Target { get; set; } = "";

    /// <summary>KEDA is active (scales from 0) while the composite metric is above this; 0 by default.</summary>
    [Option]
    public string? ActivationTarget { get; set; }

    /// <summary><c>AverageValue</c> (the default) or <c>Value</c>.</summary>
    [Option]
    public string MetricType { get; set; } = "AverageValue";

    internal double TargetValue => KubernetesQuantity.TryParse(Target, out var v) ? v : double.NaN;

    internal double ActivationTargetValue => ActivationTarget is { } text && KubernetesQuantity.TryParse(text, out var v) ? v : 0;

    /// <inheritdoc />
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!(TargetValue > 0))
        {
            errors.Add($"target (\"{Target}\") must be a positive quantity such as 5 or 500m");
        }

        if (ActivationTarget is { } activation && !KubernetesQuantity.TryParse(activation, out _))
        {
            errors.Add($"activationTarget (\"{activation}\") must be a quantity such as 0 or 2");
        }

        if (MetricType is not ("AverageValue" or "Value"))
        {
            errors.Add($"metricType (\"{MetricType}\") must be AverageValue or Value");
        }

        return errors;
    }
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

    /// <summary><c>static</c> (the default: hold <see cref="Replicas"/>), <c>currentReplicas</c>, <c>currentReplicasIfHigher</c> or <c>currentReplicasIfLower</c>.</summary>
    [Option]
    public string Behavior { get; set; } = "static";

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() =>
        Behavior is "static" or "currentReplicas" or "currentReplicasIfHigher" or "currentReplicasIfLower"
            ? []
            : [$"behavior (\"{Behavior}\") must be static, currentReplicas, currentReplicasIfHigher or currentReplicasIfLower"];
}
