namespace Autoscale.Policies.Hpa;

/// <summary>What the replica calculation sees of the pods: those ready with a metric, and those still loading (running, no metric yet).</summary>
/// <param name="Ready">Ready pods; each reports the metric.</param>
/// <param name="Missing">Pods that run but report no metric yet (a model server still loading its weights).</param>
internal readonly record struct HpaPods(int Ready, int Missing)
{
    public int Count => Ready + Missing;
}

/// <summary>The tolerance band around a usage ratio of 1 inside which the count stays (per direction since Kubernetes 1.33).</summary>
internal readonly record struct HpaTolerances(double ScaleDown, double ScaleUp)
{
    public bool IsWithin(double usageRatio) => 1.0 - ScaleDown <= usageRatio && usageRatio <= 1.0 + ScaleUp;
}

/// <summary>
/// The HPA's replica calculation for the metric kinds a replay can feed, as kubernetes/kubernetes
/// pkg/controller/podautoscaler/replica_calculator.go (v1.33) computes it, metric values in milli-units as the metrics
/// APIs deliver them. A result of null is the controller's "unable to compute" (no ready pod reported the metric).
/// </summary>
internal static class HpaReplicaCalculator
{
    /// <summary>A Pods metric with an AverageValue target (GetMetricReplicas, calcPlainMetricReplicas): the ready pods report <paramref name="readyTotalMilli"/> together.</summary>
    public static int? PodsAverageValue(int currentReplicas, long readyTotalMilli, long targetMilli, HpaPods pods, HpaTolerances tolerances)
    {
        if (pods.Count == 0 || pods.Ready == 0)
        {
            return null;
        }

        // GetMetricUtilizationRatio: the integer mean of the reported values over the target.
        var usageRatio = UtilizationRatio(readyTotalMilli, pods.Ready, targetMilli);
        if (pods.Missing == 0)
        {
            return tolerances.IsWithin(usageRatio) ? currentReplicas : (int)Math.Ceiling(usageRatio * pods.Ready);
        }

        // On a scale-down missing pods count as at the target, on a scale-up as reporting zero.
        var missingValue = usageRatio < 1.0 ? targetMilli : 0;
        var newUsageRatio = UtilizationRatio(readyTotalMilli + (missingValue * pods.Missing), pods.Count, targetMilli);
        if (tolerances.IsWithin(newUsageRatio) || (usageRatio < 1.0 && newUsageRatio > 1.0) || (usageRatio > 1.0 && newUsageRatio < 1.0))
        {
            return currentReplicas;
        }

        return (int)Math.Ceiling(newUsageRatio * pods.Count);
    }

    /// <summary>
    /// A Resource metric with a Utilization target (GetResourceReplicas, GetResourceUtilizationRatio): the ready pods use
    /// <paramref name="readyUsageMilli"/> together, each requests <paramref name="requestMilli"/>; utilization is the
    /// integer percent of usage over requests. Pods still loading report nothing: on a scale-down they count as using
    /// their whole request, on a scale-up as using none.
    /// </summary>
    public static int? ResourceUtilization(int currentReplicas, long readyUsageMilli, long requestMilli, int targetPercent, HpaPods pods, HpaTolerances tolerances)
    {
        if (pods.Ready == 0 || requestMilli <= 0)
        {
            return null;
        }

        var usageRatio = UtilizationPercent(readyUsageMilli, requestMilli * pods.Ready) / (double)targetPercent;
        if (pods.Missing == 0)
        {
            return tolerances.IsWithin(usageRatio) ? currentReplicas : (int)Math.Ceiling(usageRatio * pods.Ready);
        }

        // Missing pods join the metrics only when the direction is clear (at exactly 1 they stay out).
        var (usage, counted) = usageRatio < 1.0 ? (readyUsageMilli + (requestMilli * pods.Missing), pods.Count)
            : usageRatio > 1.0 ? (readyUsageMilli, pods.Count)
            : (readyUsageMilli, pods.Ready);
        var newUsageRatio = UtilizationPercent(usage, requestMilli * counted) / (double)targetPercent;
        if (tolerances.IsWithin(newUsageRatio) || (usageRatio < 1.0 && newUsageRatio > 1.0) || (usageRatio > 1.0 && newUsageRatio < 1.0))
        {
            return currentReplicas;
        }

        var newReplicas = (int)Math.Ceiling(newUsageRatio * counted);
        return (newUsageRatio < 1.0 && newReplicas > currentReplicas) || (newUsageRatio > 1.0 && newReplicas < currentReplicas) ? currentReplicas : newReplicas;
    }

    private static int UtilizationPercent(long usageMilli, long requestsMilli) => (int)Math.Clamp(usageMilli * 100 / requestsMilli, int.MinValue, int.MaxValue);

    /// <summary>An External metric with a Value target (GetExternalMetricReplicas, getUsageRatioReplicaCount).</summary>
    public static int ExternalValue(int currentReplicas, long metricMilli, long targetMilli, int readyPods, HpaTolerances tolerances)
    {
        var usageRatio = (double)metricMilli / targetMilli;
        if (currentReplicas != 0)
        {
            return tolerances.IsWithin(usageRatio) ? currentReplicas : (int)Math.Ceiling(usageRatio * readyPods);
        }

        // From zero: scale to as many replicas as the ratio, without tolerance.
        return (int)Math.Ceiling(usageRatio);
    }

    /// <summary>An External metric with an AverageValue target (GetExternalPerPodMetricReplicas): the count is the pods the scale reports.</summary>
    public static int ExternalAverageValue(int statusReplicas, long metricMilli, long targetMilli, HpaTolerances tolerances)
    {
        var replicaCount = statusReplicas;
        var usageRatio = metricMilli / ((double)targetMilli * replicaCount);
        if (!tolerances.IsWithin(usageRatio))
        {
            replicaCount = (int)Math.Ceiling((double)metricMilli / targetMilli);
        }

        return replicaCount;
    }

    /// <summary>A measured value in milli-units, as a metrics adapter reports it (to the nearest milli-unit).</summary>
    public static long Measured(double value) => (long)Math.Min(Math.Round(value * 1000), long.MaxValue / 4);

    /// <summary>A target quantity in milli-units, as <c>resource.Quantity.MilliValue()</c> gives it (rounded up).</summary>
    public static long Milli(double value) => (long)Math.Ceiling(Math.Round(value * 1000, 6));

    private static double UtilizationRatio(long total, int count, long targetMilli) => (double)(total / count) / targetMilli;
}
