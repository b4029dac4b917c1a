using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;
using static Autoscale.Backtesting.Cluster.NodeState;
using static Autoscale.Backtesting.Cluster.ReplicaState;

namespace Autoscale.Backtesting.Cluster;

/// <summary>Cluster: nodes, replicas and pool state.</summary>
internal sealed partial class ClusterSimulation
{
    private sealed class Node
    {
        public int Pool;
        public NodePoolSpec Spec = null!;
        public bool Committed;
        public long Ordinal;
        public NodeState State;
        public long ReadyTick;
        public int FreeGpus;
        public int Replicas;
        public long EmptySince;
        public long PreemptAt;
        public long GoneAt;
        public long RequestTick;

        /// <summary>Whether a replica has loaded the weights on the node (its disk holds them while it lives, within the cache's retention).</summary>
        public bool HasWeights;

        /// <summary>Replicas on the node with the weights loaded (ready or draining).</summary>
        public int Holders;

        /// <summary>With no holder: the last tick its disk still serves the weights.</summary>
        public long CacheUntil;

        /// <summary>Numbers each use of this object (nodes are reused), so an event scheduled for an earlier use is known.</summary>
        public long Generation;
        public bool Alive;

        /// <summary>The replicas holding its GPUs.</summary>
        public readonly List<Replica> Members = [];

        /// <summary>Its place in the list of nodes up.</summary>
        public int ListIndex;
    }

    private sealed class Replica
    {
        public Node? Node;
        public ReplicaState State;
        public long RequestTick;
        public long ReadyTick;
        public long CrashAt;
        public long Ordinal;
        public long HeldSince;
        public long Id;
        public long Generation;
        public bool Alive;

        /// <summary>Its place in the list of replicas holding GPUs.</summary>
        public int Index;
    }

    /// <summary>A pool's counters and its availability.</summary>
    private struct PoolState(NodePoolSpec spec, long provisionTicks, long scaleDownTicks, long noticeTicks, long retryTicks, (long From, long To)[] windows)
    {
        public readonly NodePoolSpec Spec = spec;
        public readonly long ProvisionTicks = provisionTicks;
        public readonly long ScaleDownTicks = scaleDownTicks;
        public readonly long NoticeTicks = noticeTicks;
        public readonly long RetryTicks = retryTicks;
        private readonly (long From, long To)[] _windows = windows;
        private int _window;
        private long _randomFrom = -1;
        private long _randomTo = -1;
        private long _randomDraws;

        /// <summary>Nodes up, committed ones left out.</summary>
        public int Nodes;

        /// <summary>Nodes up (not under notice) with no replica.</summary>
        public int IdleNodes;
        public int HeldGpus;
        public long RetryAt;
        public bool InStockout;
        public double BilledNodeSeconds;
        public double WarmNodeSeconds;
        public double RoundedNodeSeconds;
        public long StockoutTicks;
        public int PeakNodes;
        public int BucketNodes;
        public int BucketReplicas;
        public long Provisioned;
        public long Preemptions;

        public void AdvanceStockout(long tick, ClusterSimulation sim, int index) => InStockout = OutAt(tick, sim, index);

        /// <summary>Whether the pool is stocked out at <paramref name="tick"/> (ticks only move forward).</summary>
        public bool OutAt(long tick, ClusterSimulation sim, int index)
        {
            if (Spec.Stockouts is not { } stockouts)
            {
                return false;
            }

            while (_window < _windows.Length && _windows[_window].To <= tick)
            {
                _window++;
            }

            if (_window < _windows.Length && _windows[_window].From <= tick)
            {
                return true;
            }

            if (stockouts.MeanSecondsBetween <= 0)
            {
                return false;
            }

            while (tick >= _randomTo)
            {
                // Available for an exponential time, then out for one: drawn from the pool's own stream, in order.
                var gap = -Math.Log(Jitter.Uniform(sim._seed, _randomDraws++, RandomStream.PoolStockout, index)) * stockouts.MeanSecondsBetween;
                var length = -Math.Log(Jitter.Uniform(sim._seed, _randomDraws++, RandomStream.PoolStockout, index)) * Math.Max(stockouts.MeanSeconds, 0);
                _randomFrom = Math.Max(_randomTo, 0) + sim.Ticks(gap);
                _randomTo = _randomFrom + Math.Max(1, sim.Ticks(length));
            }

            return tick >= _randomFrom;
        }
    }
}
