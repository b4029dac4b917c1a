using Autoscale.Policies.Common;
using Autoscale.Policies.Hpa;
using NodaTime;

namespace Autoscale.Policies.Keda;

/// <summary>
/// KEDA (v2.16) over the HorizontalPodAutoscaler it creates, replayed: every <c>pollingInterval</c> KEDA checks its
/// triggers and alone scales between 0 (or <c>idleReplicaCount</c>) and <c>minReplicaCount</c>, waiting
/// <c>cooldownPeriod</c> after the last activity before scaling to zero; every HPA sync period the HPA (the <c>hpa</c>
/// policy's controller, exactly) scales between max(minReplicaCount, 1) and maxReplicaCount on one External metric per
/// trigger, the trigger's threshold as its target (AverageValue or Value as <c>metricType</c> says; a cpu or memory
/// trigger is a Resource metric on utilization; a cron trigger reports desiredReplicas inside its window and 1 outside,
/// against a target of 1, as KEDA's cron scaler does). With <c>advanced.scalingModifiers</c> the HPA has one metric
/// instead, the formula over the triggers' values against the modifiers' target, and KEDA is active while it is above
/// the activation target. At an instant both run, KEDA acts first and the HPA sees its count.
/// </summary>
public sealed class KedaPolicy : IScalingPolicy
{
    private readonly KedaOptions _o;
    private readonly HpaPolicy _hpa;
    private readonly (string Signal, double Activation, KedaCronTrigger? Cron)[] _triggers;
    private readonly KedaFormula? _formula;
    private readonly double[] _values = [];
    private readonly double _activationTarget;
    private KedaScaleExecutor? _executor;
    private Instant _created;

    /// <summary>Creates the policy; throws <see cref="InvalidOptionsException"/> for invalid options.</summary>
    public KedaPolicy(KedaOptions options)
    {
        _o = OptionRules.Adopt(options);
        _triggers = _o.Triggers.Select(t => (StandInSignals.Canonical(t.Signal) ?? StandInSignals.Queue, t.ActivationThreshold, t.IsCron ? new KedaCronTrigger(t) : null)).ToArray();
        if (_o.Advanced?.ScalingModifiers is { } modifiers)
        {
            // One composite metric: the formula over every trigger's value, against the modifiers' target.
            _formula = KedaFormula.TryParse(modifiers.Formula, _o.Triggers.Select(t => t.Name ?? "").ToList(), out _)!;
            _values = new double[_triggers.Length];
            _activationTarget = modifiers.ActivationTargetValue;
            _hpa = new HpaPolicy(HpaFor(_o), [Composite]);
        }
        else
        {
            _hpa = new HpaPolicy(HpaFor(_o), _triggers.Select(t => t.Cron is { } cron ? (HpaMetricReader)((in ScalingSignal s) => cron.Value(s.Now)) : null).ToArray());
        }
    }

    /// <summary>The scaling modifiers' composite metric: the formula over the triggers' values; a value that is no finite number reads as 0.</summary>
    private double Composite(in ScalingSignal signal)
    {
        for (var i = 0; i < _triggers.Length; i++)
        {
            var (name, _, cron) = _triggers[i];
            _values[i] = cron is null ? StandInSignals.Total(name, signal) : cron.Value(signal.Now);
        }

        double value;
        try
        {
            value = _formula!.Evaluate(_values);
        }
        catch (InvalidOperationException)
        {
            value = double.NaN;
        }

        return double.IsFinite(value) ? value : 0;
    }

    /// <summary>The HPA KEDA creates for <paramref name="options"/>: min max(minReplicaCount, 1), max maxReplicaCount, an External metric per trigger.</summary>
    public static HpaOptions HpaFor(KedaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Advanced?.ScalingModifiers is { } modifiers)
        {
            return new HpaOptions
            {
                MinReplicas = options.MinReplicaCount > 0 ? options.MinReplicaCount : 1,
                MaxReplicas = options.MaxReplicaCount,
                SyncPeriodSeconds = Duration.FromSeconds(options.HpaSyncPeriodSeconds),
                Behavior = options.Advanced.HorizontalPodAutoscalerConfig?.Behavior,
                Metrics =
                [
                    new HpaMetricSpec
                    {
                        Type = "External",
                        External = new HpaMetricSource
                        {
                            Metric = new HpaMetricIdentifier { Name = StandInSignals.Queue },
                            Target = modifiers.MetricType == "Value"
                                ? new HpaMetricTarget { Type = "Value", Value = modifiers.TargetValue }
                                : new HpaMetricTarget { Type = "AverageValue", AverageValue = modifiers.TargetValue },
                        },
                    },
                ],
            };
        }

        return new HpaOptions
        {
            MinReplicas = options.MinReplicaCount > 0 ? options.MinReplicaCount : 1,
            MaxReplicas = options.MaxReplicaCount,
            SyncPeriodSeconds = Duration.FromSeconds(options.HpaSyncPeriodSeconds),
            Behavior = options.Advanced?.HorizontalPodAutoscalerConfig?.Behavior,
            Metrics = options.Triggers.Select(t => t.IsResource ? new HpaMetricSpec
            {
                Type = "Resource",
                Resource = new HpaResourceSource
                {
                    Name = t.Type.ToLowerInvariant(),
                    Signal = t.Signal,
                    Target = new HpaMetricTarget { Type = "Utilization", AverageUtilization = (int)Math.Round(t.Threshold) },
                },
            } : new HpaMetricSpec
            {
                Type = "External",
                External = new HpaMetricSource
                {
                    Metric = new HpaMetricIdentifier { Name = t.IsCron ? StandInSignals.Queue : t.Signal },
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
            if (_formula is not null)
            {
                active = Composite(signal) > _activationTarget;
            }
            else
            {
                foreach (var (name, activation, cron) in _triggers)
                {
                    active |= cron is null ? StandInSignals.Total(name, signal) > activation : cron.IsActive(now);
                }
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
