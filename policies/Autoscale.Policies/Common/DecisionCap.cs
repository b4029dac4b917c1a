namespace Autoscale.Policies.Common;

/// <summary>The contract's bound on a decision: never above what the engine or host runs (<see cref="ScalingSignal.MaxReplicas"/>).</summary>
internal static class DecisionCap
{
    /// <summary><paramref name="decision"/>, lowered to <paramref name="maxReplicas"/> when above it; the reason kept.</summary>
    public static ScalingDecision CappedAt(this ScalingDecision decision, int maxReplicas) =>
        decision.DesiredReplicas > maxReplicas ? decision with { DesiredReplicas = maxReplicas } : decision;
}
