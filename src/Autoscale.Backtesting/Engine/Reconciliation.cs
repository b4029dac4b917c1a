using Autoscale.Backtesting.LoadTime;

namespace Autoscale.Backtesting.Engine;

/// <summary>
/// How every replay reconciles its fleet with a decision: above the fleet (ready plus loading), new replicas start their
/// loads (all of the first fleet ready at once, at tick 0, with no cold start); below it, loading replicas are cancelled
/// newest first and then ready ones released. The runs apply what it returns to their own replicas.
/// </summary>
internal static class Reconciliation
{
    /// <summary>What a reconciliation asks of a run's ready replicas.</summary>
    /// <param name="ReadyNow">Replicas ready from this tick on (the first fleet, or loads that take no time).</param>
    /// <param name="Release">Ready replicas to release.</param>
    /// <param name="Changed">Whether replicas were started or released.</param>
    public readonly record struct Outcome(int ReadyNow, int Release, bool Changed);

    public static Outcome Apply(long t, int desired, int ready, int loading, ILoadSimulation loads, FleetLedger fleet, ref long coldStarts, ref long startOrdinal)
    {
        var current = ready + loading;
        if (desired > current)
        {
            fleet.Started(t, desired - current);
            if (t == 0)
            {
                return new Outcome(loads.StartReady(t, desired - current), 0, true);
            }

            var now = 0;
            for (var i = current; i < desired; i++)
            {
                coldStarts++;
                if (loads.Start(t, startOrdinal++))
                {
                    now++;
                }
            }

            return new Outcome(now, 0, true);
        }

        if (desired < current)
        {
            var excess = current - desired;
            fleet.Removed(t, excess);
            excess -= loads.CancelNewest(t, excess);
            if (excess > 0)
            {
                loads.Release(t, excess);
                return new Outcome(0, excess, true);
            }
        }

        return default;
    }
}
