using Autoscale.Backtesting.Histograms;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;

namespace Autoscale.Backtesting.Serving;

/// <summary>
/// One candidate's request-level serving replay: every request routed to a replica, batched continuously with chunked
/// prefill, decoded token by token and preempted when the KV cache is full, on the fleet the policy asks for, with
/// cold starts from the candidate's load-time model. docs/serving.md states the semantics step by step.
/// </summary>
/// <remarks>
/// Time is an integer number of nanoseconds; each step's duration is rounded up on its own. In each tick: steps ending at
/// its start finish, loads completing become ready and take requests held at the gateway, the policy decides and the
/// engine reconciles, then the tick's arrivals are routed at their exact times while replicas run steps until the next
/// tick (a step ending exactly on it counts there). At equal times step ends come first, then arrivals, then the batches
/// that start then. Not thread-safe; one run per thread.
/// </remarks>
internal sealed partial class ServingRun : ServingRunBase
{
    private const long Idle = long.MaxValue;
    private const byte AdmittedOnce = 1;
    private const byte LateStart = 2;

    private readonly long _blocksPerReplica;

    // A pool of a disaggregated fleet: the prefill pool sends each request it prefilled (or dropped) on; the decode pool
    // takes them as its arrivals. Per request slot: when the client sent it (a decode pool's arrival is the transfer's
    // end), and in the prefill pool its output tokens, which the decode pool generates.
    private readonly ServingPool _role;
    private readonly KvHandoffs? _handoffs;
    private long[] _origin = [];
    private int[] _carried = [];
    private long _stepStart;

    // Cumulative, for the signal: first tokens and their TTFT; decoded tokens and their step time.
    private long _firstTokens, _decodedTokens;
    private double _ttftNanosSum, _itlNanosSum;

    // Prefix caching (a trace with prefix columns and the profile's prefixCaching): each request's prompt block keys, and
    // per request slot the cache entries of its first full prompt blocks (-1 for a block it holds without a key).
    private readonly PrefixKeys? _keys;
    private int[][] _held = [];
    private int[] _keyedTo = []; // per request slot: its prompt blocks below this one have been given their keys (or found taken)
    private int[] _found = new int[64];
    private long _promptTokens, _cachedPromptTokens;
    private readonly List<int> _scoreHits = [];
    private readonly double _baseNanos, _prefillNanos, _decodeNanos, _attentionNanos, _contextNanos;
    private readonly bool _contextTerms;

    // Time outside the GPU: requests reach the scheduler after their ingestion (a queue by entry time, null without it);
    // each output token reaches the client _outputNanos after the one before it.
    private readonly PriorityQueue<int, (long At, long Ordinal)>? _ingest;
    private readonly IntDeque? _ingestFifo; // the same delay for every request keeps arrival order: a plain queue
    private readonly long _ingestFixedNanos;
    private readonly double _ingestNanos, _ingestPerInputNanos;
    private readonly long _outputNanos;
    private long _ingesting;
    private readonly long _warmupNanos;
    private readonly long _drainTimeoutNanos;
    private readonly long _maxTtft, _maxE2e, _maxWait, _timeout;
    private readonly double _maxTpot;

    // Per request in flight, by slot (reused once the request has finished or left): memory grows with the
    // requests in flight, not with the trace.
    private long[] _arrival = [];
    private int[] _input = [];
    private int[] _output = [];
    private int[] _progress = [];
    private int[] _generated = [];
    private int[] _target = [];
    private int[] _blocks = [];
    private int[] _scheduled = [];
    private long[] _firstToken = [];
    private long[] _ordinal = [];
    private byte[] _state = [];
    private byte[] _flags = [];
    private int[] _free = [];
    private int _freeCount;
    private int _slots;

    // Per request of the workload, when asked for (tests compare them with BLIS).
    private readonly long[]? _recordedFirstToken;
    private readonly long[]? _recordedEnd;
    private readonly long[]? _recordedAdmission;
    private readonly ServingWorkload.Cursor _cursor;

    private readonly List<Replica> _replicas = [];
    private readonly List<Replica> _ready = [];
    private readonly List<Replica> _draining = [];
    private readonly ReplicaHeap _heap = new();
    private readonly List<Replica> _toForm = [];
    private readonly IntDeque _gateway = new();

    /// <summary>The latency histograms' unit: a nanosecond.</summary>
    private const double NanosPerSecond = 1e9;

    private readonly LatencyHistogram<ServingLayout> _ttft = new();
    private readonly LatencyHistogram<ServingLayout> _tpot = new();
    private readonly LatencyHistogram<ServingLayout> _e2e = new();
    private readonly LatencyHistogram<ServingLayout> _wait = new();
    private readonly LatencyHistogram<ServingLayout> _intervalTtft = new();

    private int _roundRobin = -1;
    private long _waiting;
    private long _running;
    private long _admissions;
    private long _arrivedInput, _arrivedOutput;
    private long _requests, _completed, _late, _dropped;
    private long _tickViolations, _tickCompleted;
    private double _busyNanos, _kvBlockNanos, _kvOutsideReadyNanos;
    private readonly PriorityQueue<Replica, int> _idle = new();
    private long _lastRouteAt = -1, _scanAt = -1;
    private long _readyUsedBlocks;
    private long _preemptions, _servedInput, _servedOutput, _goodRequests;

    public ServingRun(CandidateSpec spec, ReplaySettings settings, ServingWorkload workload, long timelineBucketTicks = 0, bool zoomWorstHour = false, bool recordRequests = false)
        : this(spec, settings, workload, ServingPool.Colocated, null, timelineBucketTicks, zoomWorstHour, recordRequests)
    {
    }

    /// <summary>One pool of a disaggregated fleet: the prefill pool sends what it prefilled to <paramref name="handoffs"/>, the decode pool takes its arrivals from them.</summary>
    internal ServingRun(CandidateSpec spec, ReplaySettings settings, ServingWorkload workload, ServingPool role, KvHandoffs? handoffs, long timelineBucketTicks = 0, bool zoomWorstHour = false, bool recordRequests = false)
        : base(spec, settings, workload, timelineBucketTicks, zoomWorstHour, role)
    {
        _role = role;
        _handoffs = handoffs;
        if ((role != ServingPool.Colocated) != (handoffs is not null))
        {
            throw new ArgumentException("a pool of a disaggregated fleet, and only one, hands its requests on", nameof(handoffs));
        }

        _blocksPerReplica = _p.KvBlocks;
        _keys = _p.PrefixCaching && role != ServingPool.Decode ? workload.Prefixes : null;
        _baseNanos = _p.BaseSeconds * 1e9;
        _prefillNanos = _p.PerPrefillTokenSeconds * 1e9;
        _decodeNanos = _p.PerDecodeTokenSeconds * 1e9;
        _attentionNanos = _p.PerPrefillAttentionTokenSeconds * 1e9;
        _contextNanos = _p.PerDecodeContextTokenSeconds * 1e9;
        _contextTerms = _attentionNanos > 0 || _contextNanos > 0;
        // A decode pool's requests were ingested by the prefill pool; a prefill pool's first token goes no further than its KV cache.
        _ingestNanos = role == ServingPool.Decode ? 0 : _p.RequestOverheadSeconds * 1e9;
        _ingestPerInputNanos = role == ServingPool.Decode ? 0 : _p.PerInputTokenOverheadSeconds * 1e9;
        _ingest = _ingestPerInputNanos > 0 ? new PriorityQueue<int, (long, long)>() : null;
        _ingestFixedNanos = (long)Math.Round(_ingestNanos);
        _ingestFifo = _ingest is null && _ingestFixedNanos > 0 ? new IntDeque() : null;
        _outputNanos = role == ServingPool.Prefill ? 0 : (long)Math.Round(_p.PerOutputTokenOverheadSeconds * 1e9);
        _warmupNanos = _p.Warmup.ToInt64Nanoseconds();
        _drainTimeoutNanos = _p.DrainTimeout.ToInt64Nanoseconds();
        var slo = settings.Slo;
        // The request-level clock is nanoseconds: each time converted once, here (none: never).
        _maxWait = Nanos(slo.MaxWait);
        _maxTtft = Nanos(slo.MaxTtft);
        _maxE2e = Nanos(slo.MaxE2e);
        _maxTpot = slo.MaxTpot is { } tpot ? tpot.ToInt64Nanoseconds() : double.PositiveInfinity;
        _timeout = Nanos(slo.ClientTimeout);

        if (recordRequests)
        {
            _recordedFirstToken = new long[workload.Count];
            _recordedEnd = new long[workload.Count];
            _recordedAdmission = new long[workload.Count];
            Array.Fill(_recordedAdmission, -1L);
            Array.Fill(_recordedFirstToken, -1L);
            Array.Fill(_recordedEnd, -1L);
        }

        _cursor = workload.OpenCursor();
        GrowSlots(256);
    }

    /// <summary>Each request's recorded times (with recordRequests).</summary>
    internal RequestTimes RecordedTimes() => new(_recordedAdmission!, _recordedFirstToken!, _recordedEnd!);

    /// <summary>When request <paramref name="r"/> had its first token, in nanoseconds after the start; -1 for never.</summary>
    internal long FirstTokenAt(int r) => _recordedFirstToken![r];

    /// <summary>When request <paramref name="r"/> finished, in nanoseconds after the start; -1 when it was dropped.</summary>
    internal long EndAt(int r) => _recordedEnd![r];


    private enum RequestState : byte
    {
        Waiting,
        Running,
        Free,
    }

    private int TakeSlot()
    {
        if (_freeCount == 0)
        {
            GrowSlots(_slots * 2);
        }

        return _free[--_freeCount];
    }

    private void ReleaseSlot(int r)
    {
        _state[r] = (byte)RequestState.Free;
        _free[_freeCount++] = r;
    }

    private void GrowSlots(int size)
    {
        var old = _slots;
        Array.Resize(ref _arrival, size);
        Array.Resize(ref _origin, size);
        if (_role == ServingPool.Prefill)
        {
            Array.Resize(ref _carried, size);
        }

        Array.Resize(ref _input, size);
        Array.Resize(ref _output, size);
        Array.Resize(ref _progress, size);
        Array.Resize(ref _generated, size);
        Array.Resize(ref _target, size);
        Array.Resize(ref _blocks, size);
        Array.Resize(ref _scheduled, size);
        Array.Resize(ref _firstToken, size);
        Array.Resize(ref _ordinal, size);
        Array.Resize(ref _state, size);
        Array.Resize(ref _flags, size);
        if (_keys is not null)
        {
            Array.Resize(ref _held, size);
            Array.Resize(ref _keyedTo, size);
        }

        Array.Resize(ref _free, size);
        for (var r = size - 1; r >= old; r--)
        {
            _state[r] = (byte)RequestState.Free;
            _free[_freeCount++] = r;
        }

        _slots = size;
    }

    /// <summary>Replays the ticks before <paramref name="tick"/> not replayed yet (tests measure a warm stretch with it).</summary>
    public override void AdvanceTo(long tick)
    {
        for (var t = _stepped; t < Math.Min(tick, _w.Ticks); t++)
        {
            Step(t);
        }

        _stepped = Math.Max(_stepped, Math.Min(tick, _w.Ticks));
    }

    private void Step(long t)
    {
        _tick = t;
        var ts = t * _tickNanos;
        var te = ts + _tickNanos;
        _slo.Advance(t);
        _tickViolations = 0;
        _tickCompleted = 0;

        FinishStepsAt(ts);

        // 1. Loads completing at t become ready and take the requests held at the gateway.
        ReadyLoads(t, ts);

        // 2. The policy decides; the engine reconciles.
        DecideWhenDue(t);

        // 3. Arrivals at their exact times; replicas run steps until the next tick.
        var before = _requests;
        RouteArrivalsAt(ts);
        EnterAt(ts);
        FormPending(ts);
        RunUntil(te);
        var arrivals = _requests - before;

        _slo.Complete(_tickCompleted, _tickViolations);
        _fleet.Observe(t, arrivals, _ready.Count);
        _timeline?.Add(t, arrivals, _ready.Count, _loading, _waiting, _tickViolations);
    }

    private void RunUntil(long limit)
    {
        while (true)
        {
            var step = _heap.Count > 0 ? _heap.PeekTime : Idle;
            var arrival = _role == ServingPool.Decode ? _handoffs!.Next : _cursor.Next;
            var at = Math.Min(step, arrival);
            if (_ingest is { Count: > 0 } && _ingest.TryPeek(out _, out var entry) && entry.At < at)
            {
                at = entry.At;
            }
            else if (_ingestFifo is { Count: > 0 } && _arrival[_ingestFifo.PeekFront()] + _ingestFixedNanos < at)
            {
                at = _arrival[_ingestFifo.PeekFront()] + _ingestFixedNanos;
            }
            if (at >= limit)
            {
                return;
            }

            CheckCancelled();
            FinishStepsAt(at);
            RouteArrivalsAt(at);
            EnterAt(at);
            FormPending(at);
        }
    }

    public override CandidateResult Complete()
    {
        BeginDrain();
        var t = _w.Ticks;
        while (DrainTick(t))
        {
            t++;
        }

        return EndDrain(t);
    }

    private long _drainTicks, _drainLimit;
    private bool _drainStuck;

    /// <summary>After the last tick of the trace: no more decisions; the drain begins.</summary>
    internal void BeginDrain()
    {
        Completing();

        // The last tick's completions went to the ledger with it: the drain's count afresh.
        _tickCompleted = 0;
        _tickViolations = 0;
        _drainLimit = (_w.Ticks * _tickNanos) + _settings.Drain.ToInt64Nanoseconds();
    }

    /// <summary>
    /// Drain tick <paramref name="t"/>: loads in progress complete; the fleet serves what is left up to the drain's
    /// limit. False, having done nothing, when nothing is left to serve (or nothing can serve it) or the limit is reached.
    /// </summary>
    internal bool DrainTick(long t)
    {
        var ts = t * _tickNanos;
        var handoffs = _role == ServingPool.Decode && _handoffs!.Count > 0;
        if (_drainStuck || ts >= _drainLimit || !(_loading > 0 || _waiting > 0 || _running > 0 || _heap.Count > 0 || _ingesting > 0 || handoffs))
        {
            return false;
        }

        CheckCancelled();
        _tick = t;
        FinishStepsAt(ts);

        // A load that completes after the trace is billed from the trace's end until it is ready.
        _drainBilledSeconds += ReadyLoads(t, ts) * (ts - (_w.Ticks * _tickNanos)) / 1e9;

        if (_ready.Count == 0 && _loading == 0 && _gateway.Count > 0)
        {
            _drainStuck = true;
            return false;
        }

        if (_role == ServingPool.Decode)
        {
            RouteArrivalsAt(ts);
            EnterAt(ts);
        }

        FormPending(ts);
        RunUntil(Math.Min(ts + _tickNanos, _drainLimit));
        _cluster?.Bill(t);
        _drainTicks++;
        return true;
    }

    /// <summary>The drain stopped at tick <paramref name="t"/>: replicas billed until they had nothing left, what remains dropped, the result.</summary>
    internal CandidateResult EndDrain(long t)
    {
        var horizon = _w.Ticks;
        var endNanos = horizon * _tickNanos;
        var limit = _drainLimit;

        // Each replica is billed until it had nothing left (or the limit).
        foreach (var replica in _ready)
        {
            var busy = Math.Min(replica.StepEnd != Idle ? limit : replica.BusyUntil, limit);
            _drainBilledSeconds += Math.Max(0, busy - Math.Max(endNanos, replica.ReadyAt)) / 1e9;
        }

        foreach (var replica in _draining.ToArray())
        {
            var busy = Math.Min(replica.StepEnd != Idle ? limit : replica.BusyUntil, limit);
            _drainBilledSeconds += Math.Max(0, busy - replica.ReleasedAt) / 1e9;
            replica.ReleasedAt = busy;
        }

        // Whatever remains is dropped, when the drain stopped (in a decode pool, with the KV caches still in flight).
        var dropAt = Math.Min(t * _tickNanos, limit);
        for (var r = 0; r < _slots; r++)
        {
            if (_state[r] is (byte)RequestState.Waiting or (byte)RequestState.Running)
            {
                Drop(r, dropAt);
            }
        }

        while (_role == ServingPool.Decode && _handoffs!.Count > 0)
        {
            DropHandedOn(_handoffs.Take(), dropAt);
        }

        _slo.Complete(_tickCompleted, _tickViolations);
        _tickCompleted = 0;
        _tickViolations = 0;
        _slo.Finish(horizon, 0, 0);
        _fleet.Finish(horizon);

        var bill = SettleBill(horizon, t);
        var dollars = bill.Dollars;
        var idleSeconds = Math.Max(0, _readySeconds - (_busyNanos / 1e9));
        var span = horizon * _tickSeconds;
        var serving = new ServingTotals(_ttft.InSeconds(NanosPerSecond), _tpot.InSeconds(NanosPerSecond), _e2e.InSeconds(NanosPerSecond), span, _goodRequests, _servedInput, _servedOutput,
            KvUtilization(), dollars, NominalCapacity, _preemptions, _w.MeanInputTokens, _w.MeanOutputTokens).Metrics() with
        {
            PrefixCacheHitRate = _keys is null ? null : _promptTokens > 0 ? (double)_cachedPromptTokens / _promptTokens : 0,
        };
        return Ledger(horizon, bill, (_requests, _completed, _late, _dropped), WaitPercentileSeconds, idleSeconds, _ready.Count, ServingWarnings(_drainTicks), serving);
    }

    /// <summary>The queue waits of this run, at a percentile (0-100), in seconds.</summary>
    internal double WaitPercentileSeconds(double percentile) => _wait.Percentile(percentile) / NanosPerSecond;

    /// <summary>Used KV blocks over all blocks, mean over the replica-seconds that held them (ready in the trace, released or draining after it).</summary>
    private double KvUtilization()
    {
        var seconds = _readySeconds + (_kvOutsideReadyNanos / 1e9);
        return seconds > 0 ? Math.Clamp(_kvBlockNanos / 1e9 / (_blocksPerReplica * seconds), 0, 1) : 0;
    }

    /// <summary>The serving replay's own warnings: KV preemptions, and requests the drain after the trace cut off.</summary>
    private IEnumerable<string> ServingWarnings(long drainTicks)
    {
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        if (_preemptions > 0)
        {
            yield return $"{_preemptions.ToString("N0", ci)} preemptions: the KV cache ran full (kvCacheTokens {_p.KvCacheTokens.ToString("N0", ci)}); preempted requests were prefilled again";
        }

        if (drainTicks * _tickSeconds >= _settings.Drain.TotalSeconds && _dropped > 0)
        {
            yield return $"requests were still waiting or running engine.drainSeconds ({_settings.Drain.TotalSeconds.ToString("0.###", ci)} s) after the trace ended and were dropped";
        }
    }

    /// <summary>A bound on this replay's clock, in nanoseconds (none: never).</summary>
    private static long Nanos(Duration? bound) => bound is { } b ? b.ToInt64Nanoseconds() : long.MaxValue;
}
