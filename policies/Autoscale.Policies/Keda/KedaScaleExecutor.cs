using NodaTime;

namespace Autoscale.Policies.Keda;

/// <summary>
/// KEDA's scale executor for a ScaledObject (kedacore/keda pkg/scaling/executor/scale_scaledobjects.go, RequestScale,
/// v2.16): on each polling interval, given whether any trigger is active, it scales from 0 (or the idle count) to
/// minReplicaCount (at least 1), to 0 (or the idle count) once the cooldown has passed since the last activity, or up to
/// minReplicaCount; otherwise it leaves the count to the HPA. Pause annotations and forced activation have no
/// counterpart in a replay.
/// </summary>
internal sealed class KedaScaleExecutor(KedaOptions options, Instant created)
{
    private Instant? _lastActiveTime;

    /// <summary>Where scaling in ends (getIdleOrMinimumReplicaCount): the idle count when set, else minReplicaCount.</summary>
    internal static (bool IsIdle, int Replicas) IdleOrMinimumReplicaCount(KedaOptions options) =>
        options.IdleReplicaCount is { } idle ? (true, idle) : (false, options.MinReplicaCount);

    /// <summary>The count KEDA sets, or null when it leaves the count as it is.</summary>
    public (int? Replicas, string Reason) RequestScale(int currentReplicas, bool isActive, Instant now)
    {
        var minReplicas = options.MinReplicaCount;
        if (isActive)
        {
            if ((options.IdleReplicaCount is not null && currentReplicas < minReplicas) || currentReplicas == 0)
            {
                _lastActiveTime = now;
                return (minReplicas > 0 ? minReplicas : 1, "KEDA: a trigger is active, scaling from zero (or idle)");
            }

            _lastActiveTime = now;
            return (null, "KEDA: a trigger is active; the HPA scales");
        }

        if ((options.IdleReplicaCount is { } idle && currentReplicas > idle) || (currentReplicas > 0 && minReplicas == 0))
        {
            var cooled = _lastActiveTime is { } last
                ? last + Duration.FromSeconds(options.CooldownPeriod) < now
                : created + Duration.FromSeconds(options.InitialCooldownPeriod) < now;
            return cooled
                ? (IdleOrMinimumReplicaCount(options).Replicas, "KEDA: no trigger active for the cooldown period")
                : (null, "KEDA: cooling down");
        }

        if (currentReplicas < minReplicas && options.IdleReplicaCount is null)
        {
            return (minReplicas, "KEDA: below minReplicaCount");
        }

        return (null, "KEDA: no trigger active; no change");
    }
}
