using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;
using static Autoscale.Backtesting.Cluster.NodeState;
using static Autoscale.Backtesting.Cluster.ReplicaState;

namespace Autoscale.Backtesting.Cluster;

/// <summary>Cluster: replicas assigned, loaded, made up for and removed; nodes let go and billed.</summary>
internal sealed partial class ClusterSimulation
{
    private void Assign(Replica r, Node node, long tick)
    {
        r.Node = node;
        node.Members.Add(r);
        node.FreeGpus -= _gpus;
        if (node.FreeGpus < _gpus)
        {
            _withRoom.Remove(node);
        }
        if (node.Replicas++ == 0 && !node.Committed)
        {
            _pools[node.Pool].IdleNodes--;
        }

        _pools[node.Pool].HeldGpus += _gpus;
        r.HeldSince = tick;
        if (node.State == Ready)
        {
            _provisionWaits.Add(tick - r.RequestTick, 1);
        }
    }

    /// <summary>Starts the replica's load on its ready node at <paramref name="tick"/>; true when it is ready at once.</summary>
    private bool StartLoad(Replica r, long tick, bool initial)
    {
        _pending--;
        if (initial)
        {
            MakeUp(r, tick, counted: false);
            return true;
        }

        // A cold start is a load the policy asked for that began on a node (a reload after a crash has its own ordinal).
        _firstLoads += r.Ordinal < ReloadOrdinalBase ? 1 : 0;

        if (_phased is not null)
        {
            // Pulled from the store with its share of the bandwidth, or read from the node's disk while it holds the weights.
            _phased.StartOnNode(tick, r.Ordinal, r.Id, Cached(r.Node!, tick));
            r.State = Loading;
            r.ReadyTick = long.MaxValue;
            _loading++;
            return false;
        }

        var duration = _model.LoadDuration(r.Ordinal);
        var loadTicks = (Math.Max(0, duration.ToInt64Nanoseconds()) + _tickNanos - 1) / _tickNanos;
        if (loadTicks == 0)
        {
            MakeUp(r, tick, counted: false);
            return true;
        }

        r.State = Loading;
        r.ReadyTick = tick + loadTicks;
        _loading++;
        At(r.ReadyTick, EventKind.LoadDone, r);
        return false;
    }

    /// <summary>Whether a load on <paramref name="node"/> at <paramref name="tick"/> reads the weights from its disk (the phased model's cache).</summary>
    private bool Cached(Node node, long tick) =>
        _cacheRetentionTicks >= 0 && (node.Holders > 0 || (node.HasWeights && tick <= node.CacheUntil));

    /// <summary>A replica with the weights loaded leaves <paramref name="node"/> (released, crashed, reclaimed): the weights stay on disk for the retention.</summary>
    private void LetGo(Node node, long tick)
    {
        if (--node.Holders == 0)
        {
            node.CacheUntil = tick + _cacheRetentionTicks;
        }
    }

    private void MakeUp(Replica r, long tick, bool counted)
    {
        r.State = Up;
        r.ReadyTick = tick;
        if (r.Node is { } node)
        {
            node.HasWeights = true;
            node.Holders++;
        }

        if (counted)
        {
            _completed++;
        }

        if (_crashRatePerTick > 0)
        {
            var u = Jitter.Uniform(_seed, _crashDraws++, RandomStream.ReplicaCrash);
            r.CrashAt = tick + Math.Max(1, (long)Math.Ceiling(-Math.Log(u) / _crashRatePerTick));
            At(r.CrashAt, EventKind.Crash, r);
        }
    }

    /// <summary>Takes the replica at <paramref name="index"/> off its node and out of the run.</summary>
    private void RemoveReplica(int index, long tick)
    {
        var r = _replicas[index];
        switch (r.State)
        {
            case Pending:
                _pending--;
                break;
            case Loading:
                _loading--;
                _phased?.Cancel(r.Id);
                break;
            case Up or Draining when r.Node is { } holder:
                LetGo(holder, tick);
                break;
        }

        if (r.Node is { } node)
        {
            Unassign(r, node, tick);
        }

        // Swapped with the last: the list has no order (cancels and retirements choose by id).
        var last = _replicas[^1];
        _replicas[index] = last;
        last.Index = index;
        _replicas.RemoveAt(_replicas.Count - 1);
        r.Alive = false;
        _freeReplicas.Push(r);
    }

    private void Unassign(Replica r, Node node, long tick)
    {
        _roomChanged = true;
        _replicaGpuDollars += (tick - r.HeldSince) * _tickSeconds * _gpus * GpuPrice(node) / 3600.0;
        if (node.FreeGpus < _gpus && node.State != Noticed)
        {
            _withRoom.Add(node);
        }

        node.FreeGpus += _gpus;
        _pools[node.Pool].HeldGpus -= _gpus;
        r.Node = null;
        node.Members.Remove(r);
        if (--node.Replicas == 0)
        {
            node.EmptySince = tick;
            if (node.State != Noticed && !node.Committed)
            {
                _pools[node.Pool].IdleNodes++;
                if (Removable(node) && _pools[node.Pool].ScaleDownTicks == 0)
                {
                    RemoveNode(node, tick);
                }
                else if (_pools[node.Pool].ScaleDownTicks > 0)
                {
                    At(tick + _pools[node.Pool].ScaleDownTicks, EventKind.ScaleDown, node);
                }
            }
        }
    }

    /// <summary>Whether an empty node may go: not committed, and not one the pool keeps warm.</summary>
    private bool Removable(Node node) =>
        !node.Committed && node.State != Noticed && _pools[node.Pool].IdleNodes > node.Spec.WarmNodes;

    private void RemoveNode(Node node, long tick)
    {
        _roomChanged = true;
        BillRounding(node, tick);
        if (node.State != Noticed && node.Replicas == 0 && !node.Committed)
        {
            _pools[node.Pool].IdleNodes--;
        }

        if (!node.Committed)
        {
            _pools[node.Pool].Nodes--;
        }

        var last = _nodes[^1];
        _nodes[node.ListIndex] = last;
        last.ListIndex = node.ListIndex;
        _nodes.RemoveAt(_nodes.Count - 1);
        _withRoom.Remove(node);
        node.Alive = false;
        _freeNodes.Push(node);
    }

    /// <summary>Billing granularity and minimum on a node's lifetime, from its provision request until <paramref name="tick"/>.</summary>
    private void BillRounding(Node node, long tick)
    {
        if (node.Committed || (BillingGranularitySeconds <= 0 && BillingMinimumSeconds <= 0))
        {
            return;
        }

        var lived = (tick - node.RequestTick) * _tickSeconds;
        var billed = Math.Max(BillingMinimumSeconds, BillingGranularitySeconds > 0 ? FleetLedger.RoundUp(lived, BillingGranularitySeconds) : lived);
        _pools[node.Pool].RoundedNodeSeconds += Math.Max(0, billed - lived);
    }

    /// <summary>Each node's billed lifetime is rounded up to a multiple of this (0: per tick).</summary>
    public double BillingGranularitySeconds { get; init; }

    /// <summary>Each node is billed for at least this long (0: no minimum).</summary>
    public double BillingMinimumSeconds { get; init; }
}
