using Autoscale.Policies.Common;
using Autoscale.Policies.Hpa;
using NodaTime;

namespace Autoscale.Policies.Keda;

/// <summary>
/// KEDA (v2.16) over the HorizontalPodAutoscaler it creates, replayed: every <c>pollingInterval</c> KEDA checks its
/// triggers and alone scales between 0 (or <c>idleReplicaCount</c>) and <c>minReplicaCount</c>, waiting
/// <c>cooldownPeriod</c> after the last activity before scaling to zero; every HPA sync period the HPA (the <c>hpa</c>
/// policy's controller, exactly) scales between max(minReplicaCount, 1) and maxReplicaCount on one External metric per
/// trigger, the trigger's threshold as its target (AverageValue or Value as <c>metricType</c> says). At an instant both
/// run, KEDA acts first and the HPA sees its count.
/// </summary>
public sealed class KedaPolicy : IScalingPolicy
{
    private readonly KedaOptions _o;
    private readonly HpaPolicy _hpa;
    private readonly (string Signal, double Activation)[] _triggers;
    private KedaScaleExecutor? _executor;
    private Instant _created;

    /// <summary>Creates the policy; throws <see cref="InvalidOptionsException"/> for invalid options.</summary>
    public KedaPolicy(KedaOptions options)
    {
        _o = OptionRules.Adopt(options);
        _triggers = _o.Triggers.Select(t => (StandInSignals.Canonical(t.Signal)!, t.ActivationThreshold)).ToArray();
        _hpa = new HpaPolicy(HpaFor(_o));
    }

    /// <summary>The HPA KEDA creates for <paramref name="options"/>: min max(minReplicaCount, 1), max maxReplicaCount, an External metric per trigger.</summary>
    public static HpaOptions HpaFor(KedaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new HpaOptions
        {
            MinReplicas = options.MinReplicaCount > 0 ? options.MinReplicaCount : 1,
            MaxReplicas = options.MaxReplicaCount,
            SyncPeriodSeconds = Duration.FromSeconds(options.HpaSyncPeriodSeconds),
            Behavior = options.Advanced?.HorizontalPodAutoscalerConfig?.Behavior,
            Metrics = options.Triggers.Select(t => new HpaMetricSpec
            {
                Type = "External",
                External = new HpaMetricSource
                {
                    Metric = new HpaMetricIdentifier { Name = t.Signal },
                    Target = t.MetricType == "Value"
                        ? new HpaMetricTarget { Type = "Value", Value = t.Threshold }
                        : new HpaMetricTarget { Type = "AverageValue", AverageValue = t.Threshold },
                },
            }).ToList(),
        };
    }

    /// <inheritdoc />
    public ScalingDecision Decide(in ScalingSignal signal)
    {
        var decision = Step(signal);
        return decision.CappedAt(signal.MaxReplicas);
    }

    private ScalingDecision Step(in ScalingSignal signal)
    {
        var now = signal.Now;
        if (_executor is null)
        {
            // Tick 0: the Deployment has its own count; KEDA and the HPA act from their first period on.
            _created = now;
            _executor = new KedaScaleExecutor(_o, now);
            return new ScalingDecision(signal.CurrentReplicas == 0 ? _o.InitialReplicas ?? _o.MinReplicaCount : signal.CurrentReplicas, "the Deployment's replicas before KEDA's first poll");
        }

        var elapsed = (long)Math.Round((now - _created).TotalSeconds);
        var current = signal.CurrentReplicas;
        var target = current;
        var reason = "between KEDA's polls and the HPA's syncs";
        if (elapsed % _o.PollingInterval == 0)
        {
            var active = false;
            foreach (var (name, activation) in _triggers)
            {
                active |= StandInSignals.Total(name, signal) > activation;
            }

            var (replicas, why) = _executor.RequestScale(current, active, now);
            reason = why;
            if (replicas is { } set)
            {
                target = set;
            }
        }

        if (elapsed % _o.HpaSyncPeriodSeconds == 0 && target >= current)
        {
            // The HPA reads the scale KEDA may just have raised; the new replicas are pods without metrics yet.
            var seen = signal with { LoadingReplicas = signal.LoadingReplicas + (target - current) };
            var decision = _hpa.Reconcile(seen);
            if (decision.DesiredReplicas != target || target == current)
            {
                return decision;
            }
        }

        return new ScalingDecision(target, reason);
    }
}
