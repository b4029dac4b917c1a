using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;

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
internal sealed class ClusterSimulation : ILoadSimulation
{
    private const int Provisioning = 0;
    private const int Ready = 1;
    private const int Noticed = 2;

    private const int Pending = 0;
    private const int Loading = 1;
    private const int Up = 2;
    private const int Draining = 3;

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
    private readonly WaitHistogram _provisionWaits = new();
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
        if ((spec.Cluster ?? settings.Cluster) is { } nodes)
        {
            cluster = new ClusterSimulation(nodes, spec.LoadTime, settings.Tick, settings.Seed, settings.Replica.Gpus,
                spec.Pool is { } pool ? nodes.IndexOf(pool) : -1, start, timelineBucketTicks)
            {
                DrainsOnRelease = drainsOnRelease,
                BillingGranularitySeconds = settings.BillingGranularitySeconds,
                BillingMinimumSeconds = settings.BillingMinimumSeconds,
            };
            return cluster;
        }

        cluster = null;
        return spec.LoadTime is ISimulatedLoadTime simulated
            ? simulated.CreateSimulation(settings.TickSeconds, settings.Seed)
            : new FleetLoads(spec.LoadTime, settings.Tick);
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
            ProvisionWaitP50Seconds = _provisionWaits.Percentile(50) * _tickSeconds,
            ProvisionWaitP99Seconds = _provisionWaits.Percentile(99) * _tickSeconds,
            ProvisionWaitMaxSeconds = _provisionWaits.MaxWait * _tickSeconds,
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

        var u = Jitter.Uniform(_seed, node.Ordinal, 101);
        var seconds = -Math.Log(u) * 3600 / rate;
        node.PreemptAt = tick + Math.Max(1, Ticks(seconds));
        At(node.PreemptAt, EventKind.Reclaim, node);
    }

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
            var u = Jitter.Uniform(_seed, _crashDraws++, 202);
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

    private void ProcessDue(long tick)
    {
        // The events due, by kind in this order, each kind in the order it was scheduled; one no longer true is skipped.
        _due.Clear();
        while (_events.TryPeek(out var e, out var when) && when.Tick <= tick)
        {
            _events.Dequeue();
            _due.Add(e);
        }

        // Nodes under notice whose deadline came are gone.
        foreach (var e in _due)
        {
            if (e.Kind == EventKind.NodeGone && Current(e) is { State: Noticed } node && node.GoneAt <= tick)
            {
                RemoveNode(node, tick);
            }
        }

        // Nodes that finished provisioning take their pending replicas' loads.
        foreach (var e in _due)
        {
            if (e.Kind != EventKind.NodeReady || Current(e) is not { State: Provisioning } node || node.ReadyTick > tick)
            {
                continue;
            }

            _roomChanged = true;
            node.State = Ready;
            DrawPreemption(node, tick);
            foreach (var r in node.Members)
            {
                if (r.State == Pending)
                {
                    _provisionWaits.Add(tick - r.RequestTick, 1);
                    if (StartLoad(r, tick, initial: false))
                    {
                        _completed++;
                    }
                }
            }
        }

        // Reclaim notices: the node's replicas stop at once (they take no new requests), loads on it are lost.
        foreach (var e in _due)
        {
            if (e.Kind != EventKind.Reclaim || Current(e) is not { State: Ready } node || node.PreemptAt > tick)
            {
                continue;
            }

            _preemptions++;
            _pools[node.Pool].Preemptions++;
            if (node.Replicas == 0 && !node.Committed)
            {
                _pools[node.Pool].IdleNodes--;
            }

            node.State = Noticed;
            _withRoom.Remove(node);
            node.GoneAt = tick + _pools[node.Pool].NoticeTicks;
            At(node.GoneAt, EventKind.NodeGone, node);
            for (var k = node.Members.Count - 1; k >= 0; k--)
            {
                var r = node.Members[k];
                _preemptedReplicas++;
                if (r.State == Up)
                {
                    _lost++;
                    _lossDeadlines.Add(node.GoneAt);
                }

                RemoveReplica(r.Index, tick);
            }
        }

        // Crashes: a ready replica reloads on its node.
        foreach (var e in _due)
        {
            if (e.Kind != EventKind.Crash || Current(e.Replica!, e.Generation) is not { State: Up } r || r.CrashAt > tick)
            {
                continue;
            }

            _crashes++;
            _lost++;
            _lossDeadlines.Add(tick);
            _pending++;
            LetGo(r.Node!, tick);
            r.Ordinal = ReloadOrdinalBase + _reloads++;
            r.CrashAt = long.MaxValue;
            if (StartLoad(r, tick, initial: false))
            {
                _completed++;
            }
        }

        // Loads that are done.
        if (_phased is not null)
        {
            _doneHandles.Clear();
            if (_phased.Loading > 0)
            {
                _phased.CompleteDue(tick, _doneHandles);
            }

            foreach (var r in _replicas)
            {
                if (r.State == Loading && _doneHandles.Contains(r.Id))
                {
                    _loading--;
                    MakeUp(r, tick, counted: true);
                }
            }
        }
        else
        {
            foreach (var e in _due)
            {
                if (e.Kind == EventKind.LoadDone && Current(e.Replica!, e.Generation) is { State: Loading } r && r.ReadyTick <= tick)
                {
                    _loading--;
                    MakeUp(r, tick, counted: true);
                }
            }
        }

        // Replicas without a node try again, in the order they asked, until one finds none (the rest would not either:
        // they need the same GPUs from the same pools).
        _roomChanged = false;
        var placed = 0;
        while (placed < _homeless.Count)
        {
            var r = _homeless[placed];
            if (Place(r, tick, initial: false))
            {
                _completed++;
            }

            if (r.Node is null)
            {
                break;
            }

            Hold(r);
            placed++;
        }

        _homeless.RemoveRange(0, placed);

        // Empty nodes past their pool's scale-down delay go (the warm ones stay).
        foreach (var e in _due)
        {
            if (e.Kind == EventKind.ScaleDown && Current(e) is { State: Ready, Replicas: 0 } node && Removable(node)
                && node.EmptySince + _pools[node.Pool].ScaleDownTicks <= tick)
            {
                RemoveNode(node, tick);
            }
        }
    }

    /// <summary>The node an event is about, while it is still the one the event was scheduled for.</summary>
    private static Node? Current(in Event e) => e.Node is { Alive: true } node && node.Generation == e.Generation ? node : null;

    private static Replica? Current(Replica r, long generation) => r.Alive && r.Generation == generation ? r : null;

    private void At(long tick, EventKind kind, Node node) => _events.Enqueue(new Event(kind, node, null, node.Generation), (tick, _eventSeq++));

    private void At(long tick, EventKind kind, Replica r) => _events.Enqueue(new Event(kind, null, r, r.Generation), (tick, _eventSeq++));

    private enum EventKind
    {
        NodeGone,
        NodeReady,
        Reclaim,
        Crash,
        LoadDone,
        ScaleDown,
    }

    /// <summary>A timed event: a node's or a replica's, as it was when scheduled (its generation).</summary>
    private readonly record struct Event(EventKind Kind, Node? Node, Replica? Replica, long Generation);

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

    private sealed class Node
    {
        public int Pool;
        public NodePoolSpec Spec = null!;
        public bool Committed;
        public long Ordinal;
        public int State;
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
        public int State;
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
                var gap = -Math.Log(Jitter.Uniform(sim._seed, _randomDraws++, 300 + index)) * stockouts.MeanSecondsBetween;
                var length = -Math.Log(Jitter.Uniform(sim._seed, _randomDraws++, 300 + index)) * Math.Max(stockouts.MeanSeconds, 0);
                _randomFrom = Math.Max(_randomTo, 0) + sim.Ticks(gap);
                _randomTo = _randomFrom + Math.Max(1, sim.Ticks(length));
            }

            return tick >= _randomFrom;
        }
    }
}
