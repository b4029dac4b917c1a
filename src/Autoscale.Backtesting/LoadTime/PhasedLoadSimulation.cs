namespace Autoscale.Backtesting.LoadTime;

/// <summary>
/// One run's loads under <see cref="PhasedLoadTime"/>: every tick each pull progresses by its share of
/// the bandwidth (the store's aggregate split among the pulls from it, capped by the node's link), then
/// shard and warm time follow; a load is ready at the first tick at or after it completes. Released
/// replicas leave their node's cache for the retention time; a start that finds one reads from local disk.
/// </summary>
/// <remarks>Not thread-safe; owned by one run. Per tick it allocates nothing once its arrays have grown.</remarks>
internal sealed class PhasedLoadSimulation : ILoadSimulation
{
    private readonly PhasedLoadTime _model;
    private readonly double _tick;
    private readonly long _seed;

    // Loads in start order.
    private double[] _startSeconds = new double[16];
    private double[] _remainingGb = new double[16];
    private double[] _factor = new double[16];
    private bool[] _fromCache = new bool[16];
    private long[] _readyTick = new long[16];
    private double[] _readySeconds = new double[16];
    private long[] _handle = new long[16];

    // Cached nodes, oldest release first: release time in seconds.
    private double[] _cachedAt = new double[16];
    private int _cacheHead;
    private int _cacheCount;

    private long _cacheHits;
    private long _storeLoads;
    private long _completed;
    private double _loadSecondsTotal;
    private double _loadSecondsMax;
    private double _holdSeconds;

    public PhasedLoadSimulation(PhasedLoadTime model, double tickSeconds, long seed)
    {
        _model = model;
        _tick = tickSeconds;
        _seed = seed;
    }

    public int Loading { get; private set; }

    public bool Start(long tick, long ordinal)
    {
        StartLoad(tick, ordinal, TakeCachedNode(tick * _tick), handle: -1);
        return false;
    }

    /// <summary>
    /// Starts a load on a cluster's node, known by <paramref name="handle"/>: <paramref name="fromCache"/> when that node holds
    /// the weights (the cluster keeps the caches; this model's own are not used).
    /// </summary>
    public void StartOnNode(long tick, long ordinal, long handle, bool fromCache) => StartLoad(tick, ordinal, fromCache, handle);

    /// <summary>Cancels the load known by <paramref name="handle"/>, if it is still loading.</summary>
    public void Cancel(long handle)
    {
        for (var i = 0; i < Loading; i++)
        {
            if (_handle[i] != handle)
            {
                continue;
            }

            for (var j = i + 1; j < Loading; j++)
            {
                Move(j, j - 1);
            }

            Loading--;
            return;
        }
    }

    private void StartLoad(long tick, long ordinal, bool fromCache, long handle)
    {
        var now = tick * _tick;
        var factor = Jitter.LogNormalFactor(_model.JitterSigma, _seed, ordinal, RandomStream.LoadJitter);
        if (fromCache)
        {
            _cacheHits++;
        }
        else
        {
            _storeLoads++;
        }

        Grow();
        var i = Loading++;
        _startSeconds[i] = now;
        _remainingGb[i] = _model.ModelSizeGb;
        _factor[i] = factor;
        _fromCache[i] = fromCache;
        _readyTick[i] = long.MaxValue;
        _handle[i] = handle;
    }

    public int CompleteDue(long tick) => CompleteDue(tick, null);

    /// <summary>As <see cref="ILoadSimulation.CompleteDue"/>; the handles of the loads that completed go into <paramref name="completedHandles"/>.</summary>
    public int CompleteDue(long tick, List<long>? completedHandles)
    {
        if (Loading == 0)
        {
            return 0;
        }

        var from = (tick - 1) * _tick;
        var storePulls = 0;
        for (var i = 0; i < Loading; i++)
        {
            if (_remainingGb[i] > 0 && !_fromCache[i] && _startSeconds[i] <= from)
            {
                storePulls++;
            }
        }

        var storeShare = Math.Min(_model.NodeBandwidthGbps, (_model.StoreBandwidthGbps ?? double.PositiveInfinity) / Math.Max(1, storePulls));
        var cacheBandwidth = _model.Cache?.BandwidthGbps ?? 0;
        var kept = 0;
        var completed = 0;
        for (var i = 0; i < Loading; i++)
        {
            if (_remainingGb[i] > 0 && _startSeconds[i] <= from)
            {
                var bandwidth = (_fromCache[i] ? cacheBandwidth : storeShare) / _factor[i];
                var pulled = bandwidth * _tick;
                if (_remainingGb[i] <= pulled)
                {
                    var done = from + _remainingGb[i] / bandwidth;
                    _remainingGb[i] = 0;
                    var pull = done - _startSeconds[i];
                    var shard = _model.ShardSeconds * _factor[i];
                    var warm = (_model.SnapshotRestoreSeconds ?? _model.WarmSeconds) * _factor[i];
                    var readyAt = done + (_model.Streaming ? Math.Max(0, shard - pull) : shard) + warm;
                    _readyTick[i] = (long)Math.Ceiling(readyAt / _tick - 1e-9);
                    _readySeconds[i] = readyAt;
                }
                else
                {
                    _remainingGb[i] -= pulled;
                }
            }

            if (_readyTick[i] <= tick)
            {
                // Only loads that became ready count in the load-time figures (not those cancelled or still loading).
                var seconds = _readySeconds[i] - _startSeconds[i];
                _loadSecondsTotal += seconds;
                _loadSecondsMax = Math.Max(_loadSecondsMax, seconds);
                completed++;
                completedHandles?.Add(_handle[i]);
                continue;
            }

            if (kept != i)
            {
                Move(i, kept);
            }

            kept++;
        }

        Loading = kept;
        _completed += completed;
        return completed;
    }

    public int CancelNewest(long tick, int max)
    {
        var cancelled = Math.Min(max, Loading);
        Loading -= cancelled;
        return cancelled;
    }

    public void Release(long tick, int count)
    {
        if (_model.Cache is null)
        {
            return;
        }

        var now = tick * _tick;
        for (var k = 0; k < count; k++)
        {
            if (_cacheCount == _cachedAt.Length)
            {
                var grown = new double[_cachedAt.Length * 2];
                for (var i = 0; i < _cacheCount; i++)
                {
                    grown[i] = _cachedAt[(_cacheHead + i) % _cachedAt.Length];
                }

                _cachedAt = grown;
                _cacheHead = 0;
            }

            _cachedAt[(_cacheHead + _cacheCount++) % _cachedAt.Length] = now;
        }
    }

    public double Finish(long horizon, IDictionary<string, double> metrics)
    {
        var end = horizon * _tick;
        if (_model.Cache is { } cache)
        {
            for (var i = 0; i < _cacheCount; i++)
            {
                var released = _cachedAt[(_cacheHead + i) % _cachedAt.Length];
                _holdSeconds += Math.Max(0, Math.Min(end, released + cache.RetentionSeconds) - released);
            }

            _cacheCount = 0;
            metrics["cacheHits"] = _cacheHits;
            metrics["cacheHoldSeconds"] = Math.Round(_holdSeconds, 3);
        }

        metrics["loadsFromStore"] = _storeLoads;
        if (_completed > 0)
        {
            metrics["meanLoadSeconds"] = Math.Round(_loadSecondsTotal / _completed, 3);
            metrics["maxLoadSeconds"] = Math.Round(_loadSecondsMax, 3);
        }

        return _model.Cache is { } c ? _holdSeconds * c.HoldDollarsPerHour / 3600 : 0;
    }

    /// <summary>Takes the most recently released node that still holds the weights, billing its hold; expired ones are dropped (billed for the retention).</summary>
    private bool TakeCachedNode(double now)
    {
        if (_model.Cache is not { } cache || _cacheCount == 0)
        {
            return false;
        }

        while (_cacheCount > 0 && _cachedAt[_cacheHead] + cache.RetentionSeconds < now)
        {
            _holdSeconds += cache.RetentionSeconds;
            _cacheHead = (_cacheHead + 1) % _cachedAt.Length;
            _cacheCount--;
        }

        if (_cacheCount == 0)
        {
            return false;
        }

        var newest = (_cacheHead + _cacheCount - 1) % _cachedAt.Length;
        _holdSeconds += now - _cachedAt[newest];
        _cacheCount--;
        return true;
    }

    private void Move(int from, int to)
    {
        _startSeconds[to] = _startSeconds[from];
        _remainingGb[to] = _remainingGb[from];
        _factor[to] = _factor[from];
        _fromCache[to] = _fromCache[from];
        _readyTick[to] = _readyTick[from];
        _readySeconds[to] = _readySeconds[from];
        _handle[to] = _handle[from];
    }

    private void Grow()
    {
        if (Loading < _startSeconds.Length)
        {
            return;
        }

        var size = _startSeconds.Length * 2;
        Array.Resize(ref _startSeconds, size);
        Array.Resize(ref _remainingGb, size);
        Array.Resize(ref _factor, size);
        Array.Resize(ref _fromCache, size);
        Array.Resize(ref _readyTick, size);
        Array.Resize(ref _readySeconds, size);
        Array.Resize(ref _handle, size);
    }
}
