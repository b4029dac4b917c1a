// The README's own policy: capacity for the arrival rate at 80% utilisation, plus two spares.
// Backtest it with: autoscale backtest --trace ... --config examples/my-policy.json --policy-file examples/RatePlusSpares.cs
public sealed class RatePlusSpares : IScalingPolicy
{
    public ScalingDecision Decide(in ScalingSignal s)
    {
        var needed = (int)Math.Ceiling(s.ArrivalRate / (0.8 * s.CapacityPerReplica));
        return new ScalingDecision(Math.Min(s.MaxReplicas, needed + 2), "rate / 80% + 2 spares");
    }
}
