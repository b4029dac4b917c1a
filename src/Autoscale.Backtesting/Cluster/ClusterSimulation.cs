using Autoscale.Backtesting.Histograms;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;
using static Autoscale.Backtesting.Cluster.NodeState;
using static Autoscale.Backtesting.Cluster.ReplicaState;

namespace Autoscale.Backtesting.Cluster;

/// <summary>
/// One run's replicas on the nodes of a <see cref="ClusterSpec"/>, tick by tick. A replica the engine starts is placed
/// first-fit on a ready node with room (committed nodes first, then in placement order, oldest node first); otherwise it
/// waits, pending, for a node that is provisioning, or asks for a new one in the pool placement chooses; its load starts
/// when its node is ready. Spot nodes are reclaimed at seeded Poisson times (their replicas stop at the notice, the node
/// is billed until its deadline); ready replicas crash at a seeded rate and reload on their node. Empty nodes beyond
/// the warm and committed ones are removed after the pool's scale-down delay.
/// </summary>
/// <remarks>
/// Times are whole ticks: a duration becomes the first tick at or after it. The engine calls <see cref="Advance"/> at the
/// start of every tick and <see cref="Bill"/> once the tick's decision is applied; between events a tick costs a
/// comparison and one addition per pool. Not thread-safe; owned by one run.
/// </remarks>
internal sealed partial class ClusterSimulation : ILoadSimulation
{
    // Crash reloads draw their load times from ordinals far from the engine's starts, so a crash never reshuffles them.
    private const long ReloadOrdinalBase = 1L << 48;

    private readonly ClusterSpec _spec;
    private readonly ILoadTimeModel _model;
    private readonly long _tickNanos;
    private readonly double _tickSeconds;
    private readonly long _seed;
    private readonly int _gpus;
    private readonly int _onlyPool;
    private readonly Instant _start;

    private readonly PoolState[] _pools;
    private readonly int[] _preference;
    private readonly List<Node> _nodes = [];
    // Replicas holding GPUs (pending on a provisioning node, loading, ready, draining), and those waiting with no node, in
    // the order they asked: the fleet the cluster can hold bounds the first list, the policy's appetite the second.
    private readonly List<Replica> _replicas = [];
    private readonly List<Replica> _homeless = [];
    private readonly Stack<Node> _freeNodes = new();
    private readonly Stack<Replica> _freeReplicas = new();
    private readonly LatencyHistogram<TickLayout> _provisionWaits = new();
    private readonly double _crashRatePerTick;

    private long _nextEvent;
    private long _nodeOrdinal;
    private long _reloads;
    private long _crashDraws;
    private int _pending;
    private int _loading;
    private int _completed;
    private int _lost;
    private int _peakNodes;
    private int _peakPlaced;
    private long _firstLoads;
    private double _replicaGpuDollars;
    private double _pendingSeconds;
    private long _unplaced;
    private long _preemptions;
    private long _preemptedReplicas;
    private long _crashes;
    private long _provisionFailures;
    private readonly long _timelineBucket;
    private readonly List<ClusterPoint> _timeline = [];
    private readonly List<long> _lossDeadlines = [];

    // The phased model (shared bandwidth, node caches): its loads run here, known by replica id; the caches live on nodes.
    private readonly PhasedLoadSimulation? _phased;
    private readonly long _cacheRetentionTicks = -1;
    private readonly List<long> _doneHandles = [];
    private long _replicaIds;

    // Whether GPUs were freed or nodes removed or made ready since replicas without a node last tried.
    private bool _roomChanged;

    // Timed events (node ready, reclaim, deadline, scale-down; load done, crash) by (tick, order scheduled).
    private readonly PriorityQueue<Event, (long Tick, long Seq)> _events = new();
    private readonly List<Event> _due = [];
    private readonly List<Replica> _scratch = [];

    // Nodes with room for a replica (not under notice): first fit looks only here.
    private readonly List<Node> _withRoom = [];
    private long _eventSeq;
    private long _generations;
    private bool _drainsOnRelease;

    public ClusterSimulation(ClusterSpec spec, ILoadTimeModel model, Duration tick, long seed, int gpusPerReplica, int onlyPool, Instant start, long timelineBucketTicks)
    {
        _spec = spec;
        _model = model;
        _tickNanos = tick.ToInt64Nanoseconds();
        _tickSeconds = tick.TotalSeconds;
        _seed = seed;
        _gpus = Math.Max(1, gpusPerReplica);
        _onlyPool = onlyPool;
        _start = start;
        _timelineBucket = timelineBucketTicks;
        _crashRatePerTick = spec.ReplicaFailuresPerHour / 3600 * _tickSeconds;
        if (model is PhasedLoadTime phased)
        {
            _phased = (PhasedLoadSimulation)phased.CreateSimulation(_tickSeconds, seed);
            _cacheRetentionTicks = phased.Cache is { } cache ? Ticks(cache.RetentionSeconds) : -1;
        }

        _pools = new PoolState[spec.Pools.Count];
        for (var p = 0; p < _pools.Length; p++)
        {
            var pool = spec.Pools[p];
            _pools[p] = new PoolState(pool, Ticks(pool.ProvisionSeconds), Ticks(pool.EmptyNodeScaleDownSeconds), Ticks(pool.NoticeSeconds),
                Ticks(pool.Stockouts?.RetrySeconds ?? 60), StockoutWindows(pool.Stockouts));
        }

        _preference = spec.Placement == PlacementKind.Priority
            ? [.. spec.Priority]
            : [.. Enumerable.Range(0, _pools.Length).OrderBy(p => spec.Pools[p].DollarsPerGpuHour).ThenBy(p => p)];

        // Committed and warm nodes are up when the trace begins.
        for (var p = 0; p < _pools.Length; p++)
        {
            var pool = spec.Pools[p];
            for (var i = 0; i < pool.CommittedNodes; i++)
            {
                AddNode(p, 0, ready: true, committed: true);
            }

            for (var i = 0; i < pool.WarmNodes && _pools[p].Nodes < pool.MaxNodes; i++)
            {
                AddNode(p, 0, ready: true, committed: false);
            }
        }

        _nextEvent = 0;
    }

    /// <summary>
    /// The loads of one run of <paramref name="spec"/>: on the cluster of the candidate or the backtest when there is one
    /// (returned in <paramref name="cluster"/> too), else the load-time model's own simulation.
    /// </summary>
    public static ILoadSimulation LoadsFor(CandidateSpec spec, ReplaySettings settings, Instant start, long timelineBucketTicks, bool drainsOnRelease, out ClusterSimulation? cluster)
    {
        // Draws keyed by a seed take the run's (a config's model carries engine.seed; --seeds runs seed + 1, + 2, ...).
        var model = spec.LoadTime is ISeededLoadTime seeded ? seeded.WithSeed(settings.Seed) : spec.LoadTime;
        if ((spec.Cluster ?? settings.Cluster) is { } nodes)
        {
            cluster = new ClusterSimulation(nodes, model, settings.Tick, settings.Seed, settings.Replica.Gpus,
                spec.Pool is { } pool ? nodes.IndexOf(pool) : -1, start, timelineBucketTicks)
            {
                DrainsOnRelease = drainsOnRelease,
                BillingGranularitySeconds = settings.BillingGranularity.TotalSeconds,
                BillingMinimumSeconds = settings.BillingMinimum.TotalSeconds,
            };
            return cluster;
        }

        cluster = null;
        return model is ISimulatedLoadTime simulated
            ? simulated.CreateSimulation(settings.TickSeconds, settings.Seed)
            : new FleetLoads(model, settings.Tick);
    }

    /// <summary>Replicas pending (waiting for a node) or loading.</summary>
    int ILoadSimulation.Loading => _pending + _loading;

    /// <summary>
    /// Set by a serving replay: a released replica keeps its GPUs while it drains, until the replay says it retired
    /// (<see cref="Retired"/>); otherwise a release frees them at once (the count model serves nothing after it).
    /// </summary>
    public bool DrainsOnRelease
    {
        get => _drainsOnRelease;
        init => _drainsOnRelease = value;
    }

    /// <summary>Whether requests running on a reclaimed or crashed replica are dropped (else retried).</summary>
    public bool DropOnLoss => _spec.DropOnPreemption;

    /// <summary>
    /// For each ready replica the last <see cref="Advance"/> took away, the tick by which it is gone: a reclaim's deadline (its
    /// node's notice), or the tick itself for a crash. A serving replay drains the replica until then.
    /// </summary>
    public IReadOnlyList<long> LossDeadlines => _lossDeadlines;

    /// <summary>
    /// Processes the events due at <paramref name="tick"/> (nodes ready, loads done, notices, deadlines, crashes, scale-downs,
    /// retries); returns the loads completed and, in <paramref name="lost"/>, the ready replicas that stopped serving.
    /// </summary>
    public int Advance(long tick, out int lost)
    {
        _completed = 0;
        _lost = 0;
        _lossDeadlines.Clear();
        for (var p = 0; p < _pools.Length; p++)
        {
            _pools[p].AdvanceStockout(tick, this, p);
        }

        if (tick >= _nextEvent)
        {
            ProcessDue(tick);
            Recompute(tick);
        }

        lost = _lost;
        return _completed;
    }

    /// <summary>Bills tick <paramref name="tick"/>: every node up during it, the GPUs replicas held, the replicas pending.</summary>
    public void Bill(long tick)
    {
        var nodes = 0;
        var placed = 0;
        for (var p = 0; p < _pools.Length; p++)
        {
            ref var pool = ref _pools[p];
            pool.BilledNodeSeconds += pool.Nodes * _tickSeconds;
            pool.WarmNodeSeconds += Math.Min(pool.IdleNodes, pool.Spec.WarmNodes) * _tickSeconds;
            if (pool.InStockout)
            {
                pool.StockoutTicks++;
            }

            pool.PeakNodes = Math.Max(pool.PeakNodes, pool.Nodes + pool.Spec.CommittedNodes);
            pool.BucketNodes = Math.Max(pool.BucketNodes, pool.Nodes + pool.Spec.CommittedNodes);
            pool.BucketReplicas = Math.Max(pool.BucketReplicas, pool.HeldGpus / _gpus);
            nodes += pool.Nodes + pool.Spec.CommittedNodes;
            placed += pool.HeldGpus / _gpus;
        }

        _peakNodes = Math.Max(_peakNodes, nodes);
        _peakPlaced = Math.Max(_peakPlaced, placed);
        _pendingSeconds += _pending * _tickSeconds;
        if (_timelineBucket > 0 && (tick + 1) % _timelineBucket == 0)
        {
            Sample(tick + 1 - _timelineBucket);
        }
    }

    public bool Start(long tick, long ordinal)
    {
        var ready = Add(NewReplica(tick, ordinal), tick, initial: false);
        Recompute(tick);
        return ready;
    }

    public int StartReady(long tick, int count)
    {
        // The first fleet is up when the trace begins: on the committed and warm nodes, then on nodes up at tick 0.
        var ready = 0;
        for (var i = 0; i < count; i++)
        {
            if (Add(NewReplica(tick, -1 - i), tick, initial: true))
            {
                ready++;
            }
        }

        Recompute(tick);
        return ready;
    }

    /// <summary>Places a new replica, behind those already waiting for a node; true when it is ready at once.</summary>
    private bool Add(Replica r, long tick, bool initial)
    {
        if (_homeless.Count > 0)
        {
            _homeless.Add(r);
            return false;
        }

        var ready = Place(r, tick, initial);
        if (r.Node is null)
        {
            _homeless.Add(r);
        }
        else
        {
            Hold(r);
        }

        return ready;
    }

    private void Hold(Replica r)
    {
        r.Index = _replicas.Count;
        _replicas.Add(r);
    }

    public int CompleteDue(long tick) => 0;

    public int CancelNewest(long tick, int max)
    {
        // Those with no node are the newest (they queue behind each other); then the newest that are not ready.
        var cancelled = 0;
        while (_homeless.Count > 0 && cancelled < max)
        {
            var r = _homeless[^1];
            _homeless.RemoveAt(_homeless.Count - 1);
            _pending--;
            _unplaced++;
            r.Alive = false;
            _freeReplicas.Push(r);
            cancelled++;
        }

        if (cancelled < max && _pending + _loading > 0)
        {
            _scratch.Clear();
            foreach (var r in _replicas)
            {
                if (r.State is Pending or Loading)
                {
                    _scratch.Add(r);
                }
            }

            _scratch.Sort(static (a, b) => b.Id.CompareTo(a.Id));
            for (var k = 0; k < _scratch.Count && cancelled < max; k++)
            {
                var r = _scratch[k];
                if (r.State == Pending)
                {
                    _unplaced++;
                }

                RemoveReplica(r.Index, tick);
                cancelled++;
            }
        }

        Recompute(tick);
        return cancelled;
    }

    public void Release(long tick, int count)
    {
        // Consolidation: release from the node holding the fewest replicas (the most expensive per GPU, then the newest, on ties).
        for (var k = 0; k < count; k++)
        {
            var best = -1;
            for (var i = 0; i < _replicas.Count; i++)
            {
                var r = _replicas[i];
                if (r.State != Up)
                {
                    continue;
                }

                if (best < 0 || Better(r.Node!, _replicas[best].Node!))
                {
                    best = i;
                }
            }

            if (best < 0)
            {
                break;
            }

            if (_drainsOnRelease)
            {
                _replicas[best].State = Draining;
            }
            else
            {
                RemoveReplica(best, tick);
            }
        }

        Recompute(tick);
    }

    /// <summary>A released replica finished draining at <paramref name="tick"/>: its GPUs are free (the oldest draining one's, by count).</summary>
    public void Retired(long tick)
    {
        Replica? oldest = null;
        foreach (var r in _replicas)
        {
            if (r.State == Draining && (oldest is null || r.Id < oldest.Id))
            {
                oldest = r;
            }
        }

        if (oldest is not null)
        {
            RemoveReplica(oldest.Index, tick);
            Recompute(tick);
        }
    }

    /// <summary>The phased model's figures (cache hits, loads from the store, load times); its caches live on the nodes, so it bills no hold.</summary>
    public double Finish(long horizon, IDictionary<string, double> metrics) => _phased?.Finish(horizon, metrics) ?? 0;

    /// <summary>The run's cluster figures at <paramref name="horizon"/> (the end of the last tick billed); committed nodes are billed for <paramref name="spanTicks"/>.</summary>
    public ClusterMetrics Metrics(long horizon, long spanTicks)
    {
        _unplaced += _homeless.Count;
        foreach (var node in _nodes)
        {
            BillRounding(node, horizon);
        }

        foreach (var r in _replicas)
        {
            if (r.Node is { } node)
            {
                _replicaGpuDollars += (horizon - r.HeldSince) * _tickSeconds * _gpus * GpuPrice(node) / 3600.0;
            }
        }

        var span = spanTicks * _tickSeconds;
        double nodeDollars = 0, onDemand = 0, spot = 0, committed = 0, warm = 0, stockout = 0;
        var pools = new List<NodePoolResult>(_pools.Length);
        for (var p = 0; p < _pools.Length; p++)
        {
            ref var pool = ref _pools[p];
            var perSecond = pool.Spec.DollarsPerNodeHour / 3600.0;
            var billed = (pool.BilledNodeSeconds + pool.RoundedNodeSeconds) * perSecond;
            var committedDollars = pool.Spec.CommittedNodes * span * (pool.Spec.CommittedDollarsPerNodeHour / 3600.0);
            nodeDollars += billed + committedDollars;
            committed += committedDollars;
            warm += pool.WarmNodeSeconds * perSecond;
            if (pool.Spec.Spot)
            {
                spot += billed;
            }
            else
            {
                onDemand += billed;
            }

            var minutes = pool.StockoutTicks * _tickSeconds / 60;
            stockout += minutes;
            pools.Add(new NodePoolResult
            {
                Name = pool.Spec.Name,
                Kind = pool.Spec.Spot ? "spot" : "on-demand",
                Dollars = billed + committedDollars,
                NodeSeconds = pool.BilledNodeSeconds + pool.RoundedNodeSeconds + (pool.Spec.CommittedNodes * span),
                NodesProvisioned = pool.Provisioned,
                PeakNodes = pool.PeakNodes,
                Preemptions = pool.Preemptions,
                StockoutMinutes = minutes,
            });
        }

        return new ClusterMetrics
        {
            NodeDollars = nodeDollars,
            IdleGpuDollars = Math.Max(0, nodeDollars - _replicaGpuDollars),
            ReplicaDollars = _replicaGpuDollars,
            OnDemandDollars = onDemand,
            SpotDollars = spot,
            CommittedDollars = committed,
            WarmNodeDollars = warm,
            ProvisionWaitP50Seconds = _provisionWaits.WaitTicks(50) * _tickSeconds,
            ProvisionWaitP99Seconds = _provisionWaits.WaitTicks(99) * _tickSeconds,
            ProvisionWaitMaxSeconds = _provisionWaits.Max * _tickSeconds,
            PendingSeconds = _pendingSeconds,
            LoadsStarted = _firstLoads,
            PeakPlacedReplicas = _peakPlaced,
            UnplacedReplicas = _unplaced,
            Preemptions = _preemptions,
            PreemptedReplicas = _preemptedReplicas,
            Crashes = _crashes,
            StockoutMinutes = stockout,
            ProvisionFailures = _provisionFailures,
            PeakNodes = _peakNodes,
            Pools = pools,
            Timeline = _timeline,
        };
    }

    /// <summary>A GPU-hour on <paramref name="node"/>: the committed price on a committed node.</summary>
    private static double GpuPrice(Node node) =>
        node.Committed ? node.Spec.CommittedDollarsPerNodeHour / node.Spec.GpusPerNode : node.Spec.DollarsPerGpuHour;

    private long Ticks(double seconds) => seconds <= 0 ? 0 : (long)Math.Ceiling((seconds * 1e9 / _tickNanos) - 1e-9);

    private (long From, long To)[] StockoutWindows(StockoutSpec? stockouts)
    {
        if (stockouts is null)
        {
            return [];
        }

        return [.. stockouts.Windows
            .Select(w => (From: Math.Max(0, FloorTick(w.From - _start)), To: Math.Max(0, CeilTick(w.To - _start))))
            .Where(w => w.To > w.From)
            .OrderBy(w => w.From)];
    }

    private long FloorTick(Duration d) => (long)Math.Floor(d.TotalNanoseconds / _tickNanos);

    private long CeilTick(Duration d) => (long)Math.Ceiling(d.TotalNanoseconds / _tickNanos);

    /// <summary>Tops up warm nodes and finds the next tick anything happens.</summary>
    private void Recompute(long tick)
    {
        for (var p = 0; p < _pools.Length; p++)
        {
            ref var pool = ref _pools[p];
            while (pool.IdleNodes < pool.Spec.WarmNodes && pool.Nodes + pool.Spec.CommittedNodes < pool.Spec.MaxNodes && tick >= pool.RetryAt)
            {
                if (pool.OutAt(tick, this, p))
                {
                    pool.RetryAt = tick + Math.Max(1, pool.RetryTicks);
                    _provisionFailures++;
                    break;
                }

                AddNode(p, tick, ready: pool.ProvisionTicks == 0, committed: false);
            }
        }

        // The timed events wait in a queue; a stale one (its node or replica changed since) only wakes a tick early.
        var next = _events.TryPeek(out _, out var first) ? first.Tick : long.MaxValue;
        var waiting = _homeless.Count > 0;
        for (var p = 0; p < _pools.Length; p++)
        {
            ref var pool = ref _pools[p];
            if ((waiting || pool.IdleNodes < pool.Spec.WarmNodes) && pool.RetryAt > tick)
            {
                next = Math.Min(next, pool.RetryAt);
            }
        }

        // A replica without a node tries again at the next tick after room may have come (GPUs freed, a node removed or
        // ready), and when a pool's retry comes; not every tick while every pool is full. The phased model's pulls advance
        // every tick.
        if ((waiting && _roomChanged) || _phased?.Loading > 0)
        {
            next = tick + 1;
        }

        _nextEvent = Math.Max(tick + 1, next);
    }

    private void Sample(long bucketStart)
    {
        var nodes = new int[_pools.Length];
        var replicas = new int[_pools.Length];
        for (var p = 0; p < _pools.Length; p++)
        {
            nodes[p] = _pools[p].BucketNodes;
            replicas[p] = _pools[p].BucketReplicas;
            _pools[p].BucketNodes = 0;
            _pools[p].BucketReplicas = 0;
        }

        _timeline.Add(new ClusterPoint(bucketStart, nodes, replicas));
    }
}
