namespace Autoscale;

/// <summary>A policy's answer: the replica count it wants (ready + loading), and why.</summary>
/// <param name="DesiredReplicas">Replicas wanted, ready plus loading. The engine clamps it to [0, max].</param>
/// <param name="Reason">A short constant text saying why; shown in logs and reports. Keep it constant
/// (no formatting per call) so deciding allocates nothing.</param>
/// <remarks>An immutable value; safe to share between threads.</remarks>
public readonly record struct ScalingDecision(int DesiredReplicas, string? Reason = null);
