using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;
using static Autoscale.Backtesting.Cluster.NodeState;
using static Autoscale.Backtesting.Cluster.ReplicaState;

namespace Autoscale.Backtesting.Cluster;

/// <summary>Cluster: replicas placed on nodes: room found, pools ranked, nodes provisioned.</summary>
internal sealed partial class ClusterSimulation
{
    private Replica NewReplica(long tick, long ordinal)
    {
        var r = _freeReplicas.Count > 0 ? _freeReplicas.Pop() : new Replica();
        r.Node = null;
        r.State = Pending;
        r.RequestTick = tick;
        r.Ordinal = ordinal;
        r.ReadyTick = long.MaxValue;
        r.CrashAt = long.MaxValue;
        r.HeldSince = 0;
        r.Id = _replicaIds++;
        r.Generation = ++_generations;
        r.Alive = true;
        _pending++;
        return r;
    }

    /// <summary>Finds the replica a node; returns true when it is ready at once (placed on a ready node with a load of no time).</summary>
    private bool Place(Replica r, long tick, bool initial)
    {
        if (FindRoom(r, tick, provisioningToo: !initial) is { } node)
        {
            Assign(r, node, tick);
            if (node.State == Ready)
            {
                return StartLoad(r, tick, initial);
            }

            return false;
        }

        if (NewNode(tick, initial) is { } fresh)
        {
            Assign(r, fresh, tick);
            if (fresh.State == Ready)
            {
                return StartLoad(r, tick, initial);
            }
        }

        return false;
    }

    private Node? FindRoom(Replica r, long tick, bool provisioningToo)
    {
        Node? best = null;
        foreach (var node in _withRoom)
        {
            if (node.FreeGpus < _gpus || node.State == Noticed || (node.State == Provisioning && !provisioningToo) || !Allowed(node.Pool))
            {
                continue;
            }

            if (best is null || Earlier(node, best, tick))
            {
                best = node;
            }
        }

        return best;
    }

    private bool Allowed(int pool) => (_onlyPool < 0 || pool == _onlyPool) && _spec.Pools[pool].GpusPerNode >= _gpus;

    /// <summary>The first-fit order of nodes: ready before provisioning, committed first, then pools by preference, then the oldest node.</summary>
    private bool Earlier(Node a, Node b, long tick)
    {
        if ((a.State == Ready) != (b.State == Ready))
        {
            return a.State == Ready;
        }

        if (_cacheRetentionTicks >= 0 && a.State == Ready && Cached(a, tick) != Cached(b, tick))
        {
            return Cached(a, tick);
        }

        if (a.Committed != b.Committed)
        {
            return a.Committed;
        }

        var ra = Rank(a.Pool);
        var rb = Rank(b.Pool);
        return ra != rb ? ra < rb : a.Ordinal < b.Ordinal;
    }

    private int Rank(int pool)
    {
        var i = Array.IndexOf(_preference, pool);
        return i < 0 ? int.MaxValue : i;
    }

    /// <summary>Which of two nodes gives up a replica first on a scale-down.</summary>
    private bool Better(Node a, Node b)
    {
        var ua = a.Spec.GpusPerNode - a.FreeGpus;
        var ub = b.Spec.GpusPerNode - b.FreeGpus;
        if (ua != ub)
        {
            return ua < ub;
        }

        if (a.Committed != b.Committed)
        {
            return !a.Committed;
        }

        if (a.Spec.DollarsPerGpuHour != b.Spec.DollarsPerGpuHour)
        {
            return a.Spec.DollarsPerGpuHour > b.Spec.DollarsPerGpuHour;
        }

        return a.Ordinal > b.Ordinal;
    }

    /// <summary>Asks for a node in the pool placement chooses; null when every pool allowed is full, stocked out or waiting to retry.</summary>
    private Node? NewNode(long tick, bool initial)
    {
        foreach (var p in PoolOrder())
        {
            if (!Allowed(p))
            {
                continue;
            }

            ref var pool = ref _pools[p];
            if (pool.Nodes + pool.Spec.CommittedNodes >= pool.Spec.MaxNodes || tick < pool.RetryAt)
            {
                continue;
            }

            if (pool.OutAt(tick, this, p))
            {
                pool.RetryAt = tick + Math.Max(1, pool.RetryTicks);
                _provisionFailures++;
                continue;
            }

            return AddNode(p, tick, ready: initial || pool.ProvisionTicks == 0, committed: false);
        }

        return null;
    }

    private IEnumerable<int> PoolOrder()
    {
        if (_spec.Placement != PlacementKind.OnDemandBase)
        {
            return _preference;
        }

        // AWS's mixed-instances rule, on nodes: on-demand up to the base, then the percentage of the nodes above it.
        int onDemand = 0, total = 0;
        foreach (var pool in _pools)
        {
            var nodes = pool.Nodes + pool.Spec.CommittedNodes;
            total += nodes;
            onDemand += pool.Spec.Spot ? 0 : nodes;
        }

        var wantOnDemand = onDemand < _spec.OnDemandBase
            || (onDemand - _spec.OnDemandBase) < _spec.OnDemandPercentAboveBase / 100 * (total - _spec.OnDemandBase + 1) - 1e-9;
        return _preference.Where(p => _spec.Pools[p].Spot != wantOnDemand).Concat(_preference.Where(p => _spec.Pools[p].Spot == wantOnDemand));
    }

    private Node AddNode(int pool, long tick, bool ready, bool committed)
    {
        var spec = _spec.Pools[pool];
        var node = _freeNodes.Count > 0 ? _freeNodes.Pop() : new Node();
        node.Pool = pool;
        node.Spec = spec;
        node.Committed = committed;
        node.Ordinal = _nodeOrdinal++;
        node.FreeGpus = spec.GpusPerNode;
        node.Replicas = 0;
        node.EmptySince = tick;
        node.GoneAt = long.MaxValue;
        node.State = ready ? Ready : Provisioning;
        node.RequestTick = tick;
        node.ReadyTick = ready ? tick : tick + _pools[pool].ProvisionTicks;
        node.PreemptAt = long.MaxValue;
        node.HasWeights = false;
        node.Holders = 0;
        node.CacheUntil = -1;
        node.Generation = ++_generations;
        node.Alive = true;
        node.Members.Clear();
        if (ready)
        {
            DrawPreemption(node, tick);
        }
        else
        {
            At(node.ReadyTick, EventKind.NodeReady, node);
        }

        if (!committed && _pools[pool].ScaleDownTicks > 0)
        {
            At(tick + _pools[pool].ScaleDownTicks, EventKind.ScaleDown, node);
        }

        node.ListIndex = _nodes.Count;
        _nodes.Add(node);
        if (node.FreeGpus >= _gpus)
        {
            _withRoom.Add(node);
        }

        if (!committed)
        {
            _pools[pool].Nodes++;
            if (tick > 0 || !ready)
            {
                _pools[pool].Provisioned++;
            }
        }

        if (!committed)
        {
            _pools[pool].IdleNodes++;
        }

        return node;
    }

    private void DrawPreemption(Node node, long tick)
    {
        var rate = node.Spec.Spot ? node.Spec.PreemptionsPerNodeHour : 0;
        if (rate <= 0)
        {
            return;
        }

        var u = Jitter.Uniform(_seed, node.Ordinal, RandomStream.SpotReclaim);
        var seconds = -Math.Log(u) * 3600 / rate;
        node.PreemptAt = tick + Math.Max(1, Ticks(seconds));
        At(node.PreemptAt, EventKind.Reclaim, node);
    }
}
