using Autoscale.Policies.Common;
using NodaTime;

namespace Autoscale.Policies.Hpa;

/// <summary>
/// The Kubernetes HorizontalPodAutoscaler (autoscaling/v2, controller of Kubernetes v1.33), replayed: every sync period
/// it reads its metrics from the replay's stand-in signals, computes each metric's proposal as the replica calculator
/// does (tolerance, ready and still-loading pods), takes the largest, and normalizes it by the behavior's
/// stabilization windows and rate limits (or the older fixed rules when the HPA has no behavior), within min and max.
/// </summary>
/// <remarks>
/// Loading replicas are pods that run but report no metric yet (a model server exports its metrics once its weights
/// are loaded): on a scale-up they count as reporting zero, on a scale-down as at the target, as the controller treats
/// missing pods. Keeps the controller's recommendation log and scale events; one instance per run.
/// </remarks>
public sealed class HpaPolicy : IScalingPolicy
{
    private readonly HpaOptions _o;
    private readonly HpaController _controller;
    private readonly HpaRules _up;
    private readonly HpaRules _down;
    private readonly HpaTolerances _tolerances;
    private bool _started;
    private readonly (HpaMetricKind Kind, string Signal, long Target)[] _metrics;
    private readonly HpaMetricReader?[] _readers;

    private enum HpaMetricKind
    {
        Pods,
        ExternalValue,
        ExternalAverageValue,
        ResourceUtilization,
    }

    /// <summary>Creates the policy; throws <see cref="InvalidOptionsException"/> for invalid options.</summary>
    public HpaPolicy(HpaOptions options)
        : this(options, [])
    {
    }

    /// <summary>The policy with some metrics read another way (KEDA's cron scaler, its scaling modifiers): entry i, when given, reads metric i.</summary>
    internal HpaPolicy(HpaOptions options, HpaMetricReader?[] readers)
    {
        _readers = readers;
        _o = OptionRules.Adopt(options);
        _controller = new HpaController(_o.DownscaleStabilizationSeconds);
        var window = (int)Math.Round(_o.DownscaleStabilizationSeconds.TotalSeconds);
        _up = HpaRules.Up(_o.Behavior?.ScaleUp, _o.Tolerance);
        _down = HpaRules.Down(_o.Behavior?.ScaleDown, window, _o.Tolerance);
        _tolerances = new HpaTolerances(_down.Tolerance, _up.Tolerance);
        _metrics = _o.Metrics.Select(m =>
        {
            if (m.IsResource)
            {
                return (HpaMetricKind.ResourceUtilization, StandInSignals.Canonical(m.Resource!.Signal)!, (long)m.Resource.Target.AverageUtilization!.Value);
            }

            var source = m.Source!;
            var target = source.Target.IsAverageValue ? source.Target.AverageValue!.Value : source.Target.Value!.Value;
            var kind = m.IsPods ? HpaMetricKind.Pods : source.Target.IsAverageValue ? HpaMetricKind.ExternalAverageValue : HpaMetricKind.ExternalValue;
            return (kind, StandInSignals.Canonical(source.Metric.Name)!, HpaReplicaCalculator.Milli(target));
        }).ToArray();
    }

    /// <inheritdoc />
    public ScalingDecision Decide(in ScalingSignal signal)
    {
        var current = signal.CurrentReplicas;
        if (!_started)
        {
            // Tick 0: the Deployment exists with its own replica count; the HPA syncs from the next period on.
            _started = true;
            if (current == 0)
            {
                return new ScalingDecision(_o.InitialReplicas ?? Math.Max(1, _o.MinReplicas), "the Deployment's replicas before the HPA's first sync");
            }
        }

        var decision = Reconcile(signal);

        // The Deployment cannot grow past what the engine or host runs (a quota, in cluster terms).
        return decision.CappedAt(signal.MaxReplicas);
    }

    /// <summary>One sync of the controller (reconcileAutoscaler) on what <paramref name="signal"/> shows.</summary>
    internal ScalingDecision Reconcile(in ScalingSignal signal)
    {
        var now = signal.Now;
        var current = signal.CurrentReplicas;
        _controller.RecordInitialRecommendation(current, now);

        int desired;
        string reason;
        if (current == 0 && _o.MinReplicas != 0)
        {
            return new ScalingDecision(0, "ScalingDisabled: the target has 0 replicas and minReplicas is not 0");
        }
        else if (current > _o.MaxReplicas)
        {
            (desired, reason) = (_o.MaxReplicas, "current replicas above maxReplicas");
        }
        else if (current < _o.MinReplicas)
        {
            (desired, reason) = (_o.MinReplicas, "current replicas below minReplicas");
        }
        else
        {
            if (ComputeReplicasForMetrics(signal) is not { } proposal)
            {
                return new ScalingDecision(current, "FailedGetMetrics: no ready replica reported a metric; the count stays");
            }

            (desired, reason) = _o.Behavior is null
                ? _controller.NormalizeDesiredReplicas(current, Math.Max(0, proposal), _o.MinReplicas, _o.MaxReplicas, now)
                : _controller.NormalizeDesiredReplicasWithBehaviors(current, Math.Max(0, proposal), _o.MinReplicas, _o.MaxReplicas, _up, _down, now);
        }

        if (desired != current)
        {
            _controller.StoreScaleEvent(_o.Behavior is not null, _up, _down, current, desired, now);
        }

        return new ScalingDecision(desired, reason);
    }

    /// <summary>The largest proposal of the metrics, or null when the controller could not compute one (computeReplicasForMetrics).</summary>
    private int? ComputeReplicasForMetrics(in ScalingSignal signal)
    {
        var current = signal.CurrentReplicas;
        var pods = new HpaPods(signal.ReadyReplicas, signal.LoadingReplicas);
        var replicas = 0;
        var invalid = 0;
        for (var i = 0; i < _metrics.Length; i++)
        {
            var (kind, name, target) = _metrics[i];
            var total = i < _readers.Length && _readers[i] is { } reader ? reader(signal) : StandInSignals.Total(name, signal);
            int? proposal = kind switch
            {
                HpaMetricKind.Pods => HpaReplicaCalculator.PodsAverageValue(current, pods.Ready == 0 ? 0 : HpaReplicaCalculator.Measured(total / pods.Ready) * pods.Ready, target, pods, _tolerances),
                HpaMetricKind.ExternalAverageValue => HpaReplicaCalculator.ExternalAverageValue(current, HpaReplicaCalculator.Measured(total), target, _tolerances),
                HpaMetricKind.ExternalValue => HpaReplicaCalculator.ExternalValue(current, HpaReplicaCalculator.Measured(total), target, pods.Ready, _tolerances),
                _ => HpaReplicaCalculator.ResourceUtilization(current, pods.Ready == 0 ? 0 : HpaReplicaCalculator.Measured(total / pods.Ready) * pods.Ready,
                    HpaReplicaCalculator.Measured(signal.CapacityPerReplica), (int)target, pods, _tolerances),
            };
            if (proposal is not { } count)
            {
                invalid++;
            }
            else if (count > replicas)
            {
                replicas = count;
            }
        }

        // All metrics failed, or some failed and the rest would scale down: the controller does not act.
        return invalid >= _metrics.Length || (invalid > 0 && replicas < current) ? null : replicas;
    }
}

/// <summary>Reads one metric's fleet-wide value from a signal.</summary>
internal delegate double HpaMetricReader(in ScalingSignal signal);
