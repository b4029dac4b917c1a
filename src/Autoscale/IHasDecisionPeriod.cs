using NodaTime;

namespace Autoscale;

/// <summary>
/// Options of a policy that runs on a period of its own, as the autoscaler it follows does (the HPA's 15 s sync
/// period, KEDA's polling interval). When a candidate sets no <c>decisionIntervalSeconds</c>, the backtest and the
/// live loop ask the policy every <see cref="DecisionPeriod"/>.
/// </summary>
public interface IHasDecisionPeriod
{
    /// <summary>How often the policy is asked.</summary>
    Duration DecisionPeriod { get; }
}
