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
internal sealed class ServingRun : ServingRunBase
{
    private const long Idle = long.MaxValue;
    private const byte AdmittedOnce = 1;
    private const byte LateStart = 2;

    private readonly long _blocksPerReplica;
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

    private readonly LatencyHistogram _ttft = new();
    private readonly LatencyHistogram _tpot = new();
    private readonly LatencyHistogram _e2e = new();
    private readonly LatencyHistogram _wait = new();
    private readonly LatencyHistogram _intervalTtft = new();

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
        : base(spec, settings, workload, timelineBucketTicks, zoomWorstHour)
    {
        _blocksPerReplica = _p.KvBlocks;
        _baseNanos = _p.BaseSeconds * 1e9;
        _prefillNanos = _p.PerPrefillTokenSeconds * 1e9;
        _decodeNanos = _p.PerDecodeTokenSeconds * 1e9;
        _attentionNanos = _p.PerPrefillAttentionTokenSeconds * 1e9;
        _contextNanos = _p.PerDecodeContextTokenSeconds * 1e9;
        _contextTerms = _attentionNanos > 0 || _contextNanos > 0;
        _ingestNanos = _p.RequestOverheadSeconds * 1e9;
        _ingestPerInputNanos = _p.PerInputTokenOverheadSeconds * 1e9;
        _ingest = _ingestPerInputNanos > 0 ? new PriorityQueue<int, (long, long)>() : null;
        _ingestFixedNanos = (long)Math.Round(_ingestNanos);
        _ingestFifo = _ingest is null && _ingestFixedNanos > 0 ? new IntDeque() : null;
        _outputNanos = (long)Math.Round(_p.PerOutputTokenOverheadSeconds * 1e9);
        _warmupNanos = Nanos(_p.WarmupSeconds);
        _drainTimeoutNanos = Nanos(_p.DrainTimeoutSeconds);
        var slo = settings.Slo;
        _maxWait = slo.HasMaxWait ? Nanos(slo.MaxWaitSeconds) : long.MaxValue;
        _maxTtft = slo.MaxTtftSeconds is { } ttft ? Nanos(ttft) : long.MaxValue;
        _maxE2e = slo.MaxE2eSeconds is { } e2e ? Nanos(e2e) : long.MaxValue;
        _maxTpot = slo.MaxTpotSeconds is { } tpot ? tpot * 1e9 : double.PositiveInfinity;
        _timeout = slo.ClientTimeoutSeconds is { } timeout ? Nanos(timeout) : long.MaxValue;

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

    /// <summary>When request <paramref name="r"/> had its first token, in nanoseconds after the start; -1 for never.</summary>
    internal long FirstTokenAt(int r) => _recordedFirstToken![r];

    /// <summary>When request <paramref name="r"/> finished, in nanoseconds after the start; -1 when it was dropped.</summary>
    internal long EndAt(int r) => _recordedEnd![r];

    /// <summary>When request <paramref name="r"/> (by arrival order) was first admitted to a batch, nanoseconds; -1 if never (with recordRequests).</summary>
    internal long AdmittedAt(int r) => _recordedAdmission![r];

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
        Array.Resize(ref _free, size);
        for (var r = size - 1; r >= old; r--)
        {
            _state[r] = (byte)RequestState.Free;
            _free[_freeCount++] = r;
        }

        _slots = size;
    }

    /// <summary>Replays the ticks before <paramref name="tick"/> not replayed yet (tests measure a warm stretch with it).</summary>
    internal override void AdvanceTo(long tick)
    {
        for (var t = _stepped; t < Math.Min(tick, _w.Ticks); t++)
        {
            Step(t);
        }

        _stepped = Math.Max(_stepped, Math.Min(tick, _w.Ticks));
    }

    private long _stepped;

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
            var arrival = _cursor.Next;
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

    /// <summary>Requests whose ingestion ends at <paramref name="at"/> reach the scheduler, in arrival order.</summary>
    private void EnterAt(long at)
    {
        while (_ingest is { Count: > 0 } && _ingest.TryPeek(out var r, out var entry) && entry.At == at)
        {
            _ingest.Dequeue();
            _ingesting--;
            _waiting++;
            Route(r, at);
        }

        while (_ingestFifo is { Count: > 0 } && _arrival[_ingestFifo.PeekFront()] + _ingestFixedNanos == at)
        {
            var r = _ingestFifo.PopFront();
            _ingesting--;
            _waiting++;
            Route(r, at);
        }
    }

    private void RouteArrivalsAt(long at)
    {
        while (_cursor.Next == at)
        {
            var r = TakeSlot();
            _arrival[r] = at;
            _ordinal[r] = _requests;
            _cursor.Take(out var input, out var output);
            _input[r] = input;
            _output[r] = output;
            _progress[r] = 0;
            _generated[r] = 0;
            _blocks[r] = 0;
            _scheduled[r] = 0;
            _firstToken[r] = -1;
            _flags[r] = 0;
            _requests++;
            _arrivedInput += input;
            _arrivedOutput += output;
            // A request's work is at least one prompt token (the start-of-sequence token a tokenizer adds) and one output
            // token (a server emits at least the end of sequence): its first token comes from a step, never at once.
            _target[r] = Math.Max(1, input);
            _state[r] = (byte)RequestState.Waiting;
            if (_ingest is not null)
            {
                // Ingestion and tokenization before the scheduler's queue (BLIS's alpha0 and alpha1 x input).
                var delay = (long)Math.Round(_ingestNanos + (_ingestPerInputNanos * input));
                if (delay > 0)
                {
                    _ingesting++;
                    _ingest.Enqueue(r, (at + delay, _ordinal[r]));
                    continue;
                }
            }
            else if (_ingestFifo is not null)
            {
                _ingesting++;
                _ingestFifo.PushBack(r);
                continue;
            }

            _waiting++;
            Route(r, at);
        }
    }

    private void Route(int r, long at)
    {
        if (_p.Routing == ServingRouting.SharedQueue)
        {
            _gateway.PushBack(r);
            WakeIdle();
            return;
        }

        if (_ready.Count == 0)
        {
            _gateway.PushBack(r);
            return;
        }

        Replica target;
        if (_p.Routing == ServingRouting.RoundRobin)
        {
            // The ready replicas are in the order they became ready (by index): the next after the last one routed to.
            int lo = 0, hi = _ready.Count;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                (lo, hi) = _ready[mid].Index <= _roundRobin ? (mid + 1, hi) : (lo, mid);
            }

            var i = lo;

            target = _ready[i == _ready.Count ? 0 : i];
            _roundRobin = target.Index;
        }
        else
        {
            // Least loaded, the first among equals. A load is at least the replica's queued and running requests, 0 only
            // when it has none, so the first idle replica is the answer when there is one (each of 100,000 replicas of a
            // quiet fleet need not be looked at for every request). Only when requests routed at this instant have left a
            // replica at it (zero-length steps) can a load fall below that: then every replica is looked at.
            target = _scanAt != at && FirstIdle() is { } idle ? idle : LeastLoaded(at);
            System.Diagnostics.Debug.Assert(_ready.Count > 4096 || target == LeastLoaded(at), "the first idle replica is the least loaded");
        }

        _lastRouteAt = at;

        Split(target, at);
        if (target.RoutedAt != at)
        {
            target.RoutedAt = at;
            target.RoutedNow = 0;
        }

        target.RoutedNow++;
        target.Queue.PushBack(r);
        if (target.StepEnd == Idle && !target.PendingForm)
        {
            target.PendingForm = true;
            _toForm.Add(target);
        }
    }

    /// <summary>The least loaded ready replica by <see cref="Load"/>, the first among equals.</summary>
    private Replica LeastLoaded(long at)
    {
        var target = _ready[0];
        var least = Load(target, at);
        for (var i = 1; i < _ready.Count; i++)
        {
            var load = Load(_ready[i], at);
            if (load < least)
            {
                target = _ready[i];
                least = load;
            }
        }

        return target;
    }

    /// <summary>
    /// A replica's load as BLIS's router sees it: its queue and batch, plus the requests dispatched to it and not finished
    /// (the same ones again, except those routed at this very instant, which its queue does not hold yet).
    /// </summary>
    private static long Load(Replica replica, long at) =>
        (2L * (replica.Queue.Count + replica.RunCount)) - (replica.RoutedAt == at ? replica.RoutedNow : 0);

    /// <summary>With a shared queue, the idle ready replicas start a step to admit what waits at the gateway (lowest index first).</summary>
    private void WakeIdle()
    {
        for (var i = 0; i < _ready.Count && _gateway.Count > 0; i++)
        {
            var replica = _ready[i];
            if (replica.StepEnd == Idle && !replica.PendingForm)
            {
                replica.PendingForm = true;
                _toForm.Add(replica);
                return;
            }
        }
    }

    private void RouteGateway(long at)
    {
        if (_p.Routing == ServingRouting.SharedQueue)
        {
            for (var i = 0; i < _ready.Count; i++)
            {
                var replica = _ready[i];
                if (_gateway.Count > 0 && replica.StepEnd == Idle && !replica.PendingForm)
                {
                    replica.PendingForm = true;
                    _toForm.Add(replica);
                }
            }

            return;
        }

        while (_ready.Count > 0 && _gateway.Count > 0)
        {
            Route(_gateway.PopFront(), at);
        }
    }

    private void FormPending(long at)
    {
        if (_toForm.Count == 0)
        {
            return;
        }

        if (_toForm.Count > 1)
        {
            _toForm.Sort(ByIndex.Instance);
        }

        for (var i = 0; i < _toForm.Count; i++)
        {
            var replica = _toForm[i];
            replica.PendingForm = false;
            if (replica.StepEnd == Idle && !replica.Gone)
            {
                Form(replica, at);
            }
        }

        _toForm.Clear();
    }

    /// <summary>The replicas whose next step is due at <paramref name="at"/> form it once the arrivals at that instant are routed.</summary>
    private void FinishStepsAt(long at)
    {
        while (_heap.Count > 0 && _heap.PeekTime == at)
        {
            var replica = _heap.Pop();
            replica.StepEnd = Idle;
            if (replica.BatchSteps > 0)
            {
                ApplyBatch(replica, replica.BatchSteps);
            }

            if (!replica.Gone && !replica.PendingForm)
            {
                replica.PendingForm = true;
                _toForm.Add(replica);
            }
        }
    }

    private bool HasWork(Replica replica) =>
        replica.RunCount > 0 || replica.Queue.Count > 0 || (_p.Routing == ServingRouting.SharedQueue && !replica.Draining && _gateway.Count > 0);

    /// <summary>
    /// Runs the step just formed, ending at <paramref name="end"/>: prompts that complete yield
    /// their first token, decoders gain a token, finished requests leave and free their blocks. As in BLIS, the outcome is
    /// settled when the step starts (stamped with its end): a replica whose batch empties with nothing queued takes a new
    /// request at once, even during that last step.
    /// </summary>
    private void Execute(Replica replica, long end)
    {
        var kept = 0;
        for (var i = 0; i < replica.RunCount; i++)
        {
            var r = replica.Running[i];
            var chunk = _scheduled[r];
            if (chunk > 0)
            {
                _scheduled[r] = 0;
                if (_progress[r] < _target[r])
                {
                    _progress[r] += chunk;
                    if (_progress[r] == _target[r])
                    {
                        _generated[r]++;
                        if (_firstToken[r] < 0)
                        {
                            _firstToken[r] = end;
                            var ttft = end - _arrival[r] + _outputNanos;
                            _ttft.Add(ttft);
                            _intervalTtft.Add(ttft);
                        }
                    }
                }
                else
                {
                    _progress[r]++;
                    _generated[r]++;
                }

                if (_generated[r] >= Math.Max(1, _output[r]))
                {
                    Done(replica, r, end);
                    continue;
                }
            }

            replica.Running[kept++] = r;
        }

        replica.RunCount = kept;
        if (end == _lastRouteAt)
        {
            _scanAt = end;
        }

        NoteIfIdle(replica);
    }

    private void Done(Replica replica, int r, long end)
    {
        Free(replica, r);
        _running--;
        // As the client sees them: the first token one output overhead later, the last one per output token later.
        var n = _output[r];
        var clientFirst = _firstToken[r] + _outputNanos;
        var clientEnd = end + (_outputNanos * Math.Max(1, n));
        if (_recordedEnd is not null)
        {
            _recordedEnd[_ordinal[r]] = clientEnd;
            _recordedFirstToken![_ordinal[r]] = clientFirst;
        }

        _completed++;
        _tickCompleted++;
        var arrival = _arrival[r];
        var e2e = clientEnd - arrival;
        _e2e.Add(e2e);
        var ttft = clientFirst - arrival;
        var violated = ttft > _maxTtft || e2e > _maxE2e;
        if (n > 1)
        {
            var tpot = (clientEnd - clientFirst) / (double)(n - 1);
            _tpot.Add((long)Math.Ceiling(tpot));
            violated |= tpot > _maxTpot;
        }

        // The queue wait was judged at admission (a late start is a violation whatever follows).
        if (violated && !WaitViolated(r))
        {
            _late++;
            _tickViolations++;
        }
        else if (!violated && !WaitViolated(r))
        {
            _goodRequests++;
        }

        _servedInput += _input[r];
        _servedOutput += n;
        ReleaseSlot(r);
    }

    private bool WaitViolated(int r) => (_flags[r] & LateStart) != 0;

    private void Free(Replica replica, int r)
    {
        AddUsed(replica, -_blocks[r]);
        _blocks[r] = 0;
    }

    /// <summary>Drops request <paramref name="r"/> at <paramref name="now"/>: one never admitted waited until then, and that wait counts (as in the count replay).</summary>
    private void Drop(int r, long now)
    {
        if (!Admitted(r))
        {
            _wait.Add(Math.Max(0, now - _arrival[r]));
        }

        var wasLate = WaitViolated(r);
        _flags[r] &= unchecked((byte)~LateStart);
        if (wasLate)
        {
            // Counted late at admission; a drop supersedes it.
            _late--;
        }

        if (_recordedFirstToken is not null)
        {
            _recordedFirstToken[_ordinal[r]] = _firstToken[r];
        }

        _dropped++;
        _tickViolations += wasLate ? 0 : 1;
        _tickCompleted++;
        if (_firstToken[r] < 0)
        {
            _ttft.AddInfinite();
        }

        _e2e.AddInfinite();
        ReleaseSlot(r);
    }

    /// <summary>Forms and starts one step at <paramref name="now"/>, as vLLM's scheduler (BLIS's batch formation, without prefix caching).</summary>
    private void Form(Replica replica, long now)
    {
        if (now == _lastRouteAt)
        {
            // Requests routed at this instant may leave a replica now (dropped, preempted): least-loaded scans for the rest of it.
            _scanAt = now;
        }

        FormStep(replica, now);
        NoteIfIdle(replica);
    }

    private void FormStep(Replica replica, long now)
    {
        if (replica.Draining && now >= replica.DrainDeadline && replica.RunCount > 0)
        {
            var retry = replica.Lost && !_cluster!.DropOnLoss;
            for (var k = replica.RunCount - 1; k >= 0; k--)
            {
                var r = replica.Running[k];
                Free(replica, r);
                _scheduled[r] = 0;
                _running--;
                if (retry)
                {
                    // Back at the head of the gateway, in admission order, to be prefilled again from the start.
                    _requestsRetried++;
                    _target[r] = Math.Max(1, _input[r]) + _generated[r];
                    _progress[r] = 0;
                    _state[r] = (byte)RequestState.Waiting;
                    _waiting++;
                    _gateway.PushFront(r);
                }
                else
                {
                    _requestsLost += replica.Lost ? 1 : 0;
                    Drop(r, now);
                }
            }

            replica.RunCount = 0;
            if (retry)
            {
                RouteGateway(now);
            }
        }

        long budget = _p.MaxBatchedTokens;
        long prefill = 0, decode = 0;
        double attention = 0, context = 0;
        var preempted = false;
        var admitted = 0;

        // Phase 1: the running requests, in admission order.
        var i = 0;
        while (i < replica.RunCount)
        {
            if (budget <= 0)
            {
                break;
            }

            var r = replica.Running[i];
            if (_progress[r] < _target[r])
            {
                var chunk = (int)Math.Min(_target[r] - _progress[r], budget);
                if (!Allocate(replica, r, _progress[r] + chunk, ref preempted))
                {
                    break;
                }

                _scheduled[r] = chunk;
                budget -= chunk;
                prefill += chunk;
                attention += (double)chunk * (_progress[r] + chunk);
            }
            else
            {
                if (!Allocate(replica, r, _progress[r] + 1, ref preempted))
                {
                    break;
                }

                _scheduled[r] = 1;
                budget--;
                decode++;
                context += _progress[r];
            }

            i++;
        }

        // Phase 2: admit from the queue (the replica's own, then with a shared queue the gateway's).
        while (replica.RunCount < _p.MaxSequences && budget > 0 && !preempted)
        {
            var fromGateway = replica.Queue.Count == 0;
            if (fromGateway && (_p.Routing != ServingRouting.SharedQueue || replica.Draining || _gateway.Count == 0))
            {
                break;
            }

            var queue = fromGateway ? _gateway : replica.Queue;
            var r = queue.PeekFront();
            if (!Admitted(r) && now - _arrival[r] > _timeout)
            {
                queue.PopFront();
                _waiting--;
                Drop(r, now);
                continue;
            }

            var chunk = (int)Math.Min(_target[r] - _progress[r], budget);
            var need = BlocksFor(_progress[r] + chunk) - _blocks[r];
            if (need > _blocksPerReplica - replica.UsedBlocks)
            {
                break;
            }

            queue.PopFront();
            _waiting--;
            _running++;
            _blocks[r] += (int)need;
            AddUsed(replica, need);
            replica.Running[replica.RunCount++] = r;
            admitted++;
            _state[r] = (byte)RequestState.Running;
            if (!Admitted(r))
            {
                _flags[r] |= AdmittedOnce;
                _admissions++;
                if (_recordedAdmission is not null)
                {
                    _recordedAdmission[_ordinal[r]] = now;
                }

                var wait = now - _arrival[r];
                _wait.Add(wait);
                if (wait > _maxWait)
                {
                    _flags[r] |= LateStart;
                    _late++;
                    _tickViolations++;
                }
            }

            _scheduled[r] = chunk;
            budget -= chunk;
            prefill += chunk;
            attention += (double)chunk * (_progress[r] + chunk);
        }

        if (prefill == 0 && decode == 0 && !HasWork(replica))
        {
            // Nothing to run (only requests past their timeout were found). With work but nothing scheduled (every
            // running request preempted), a step of the base time passes, as in BLIS, so the queue moves on.
            if (replica.Draining && replica.Queue.Count == 0)
            {
                Retire(replica, Math.Max(now, replica.BusyUntil));
            }

            return;
        }

        var nanos = _baseNanos + (_prefillNanos * prefill) + (_decodeNanos * decode);
        if (_contextTerms)
        {
            nanos += (_attentionNanos * attention) + (_contextNanos * context);
        }

        if (now < replica.WarmupEnd)
        {
            nanos *= _p.WarmupSlowdown;
        }

        var duration = Math.Max(1L, (long)Math.Ceiling(nanos - 1e-6));
        if (prefill == 0 && admitted == 0 && !preempted && decode == replica.RunCount && decode > 0
            && _p.Routing != ServingRouting.SharedQueue && !replica.Draining && now >= replica.WarmupEnd
            && IdenticalSteps(replica) is var steps && steps >= 2)
        {
            // The same decode step, again and again, until a request crosses a KV block boundary or is one step from
            // done: advanced together, settled when the batch ends or something reaches the replica (Split).
            replica.BatchStart = now;
            replica.BatchStep = duration;
            replica.BatchNanos = nanos;
            replica.BatchIncrement = _contextNanos * decode; // every decoding sequence's context grows by one a step
            replica.BatchSteps = steps;
            replica.StepEnd = now + BatchSpan(replica, steps);
            replica.BusyUntil = replica.StepEnd;
            _heap.Push(replica);
            return;
        }

        var end = now + duration;
        _busyNanos += duration;
        NoteKv(replica, now, duration);
        replica.BusyUntil = end;
        Execute(replica, end);
        if (HasWork(replica) || !_p.OverlapLastStep)
        {
            // Busy until the step ends (with nothing left, it then goes idle; a draining replica retires then).
            replica.StepEnd = end;
            _heap.Push(replica);
        }
        else if (replica.Draining)
        {
            Retire(replica, end);
        }
    }

    /// <summary>
    /// How many decode steps in a row, this one first, have the composition of this one: none allocates a KV block and
    /// none finishes a request (a finishing step changes what the replica shows while it runs).
    /// </summary>
    private long IdenticalSteps(Replica replica)
    {
        long steps = long.MaxValue;
        for (var i = 0; i < replica.RunCount; i++)
        {
            var r = replica.Running[i];
            var room = ((long)_blocks[r] * _p.BlockTokens) - _progress[r];
            var left = (long)Math.Max(1, _output[r]) - _generated[r] - 1;
            steps = Math.Min(steps, Math.Min(room, left));
        }

        return steps;
    }

    /// <summary>Settles <paramref name="steps"/> steps of a replica's batch of identical decode steps.</summary>
    private void ApplyBatch(Replica replica, long steps)
    {
        for (var i = 0; i < replica.RunCount; i++)
        {
            var r = replica.Running[i];
            _scheduled[r] = 0;
            _progress[r] += (int)steps;
            _generated[r] += (int)steps;
        }

        var nanos = BatchSpan(replica, steps);
        _busyNanos += nanos;
        NoteKv(replica, replica.BatchStart, nanos);
        replica.BatchSteps = 0;
    }

    /// <summary>
    /// KV blocks held for <paramref name="nanos"/> of steps from <paramref name="start"/>. Steps of a released replica or
    /// after the trace's end lie outside the ready replica-seconds of the trace; their time joins the utilisation's
    /// denominator, so the mean stays within [0, 1].
    /// </summary>
    private void NoteKv(Replica replica, long start, long nanos)
    {
        _kvBlockNanos += (double)replica.UsedBlocks * nanos;
        if (replica.Draining || start >= _w.Ticks * _tickNanos)
        {
            _kvOutsideReadyNanos += nanos;
        }
    }

    /// <summary>
    /// Something reaches a replica in a batch at <paramref name="at"/> (a request routed to it, its release): the batch
    /// ends with the step running then, or, when a step ends exactly then, with that step and the replica forms its next
    /// step at <paramref name="at"/>, after the arrivals, as it would have stepping one at a time.
    /// </summary>
    private void Split(Replica replica, long at)
    {
        if (replica.BatchSteps == 0 || replica.StepEnd == Idle)
        {
            return;
        }

        long done;
        bool boundary;
        if (replica.BatchIncrement == 0)
        {
            done = (at - replica.BatchStart) / replica.BatchStep;
            boundary = (at - replica.BatchStart) % replica.BatchStep == 0;
        }
        else
        {
            // Steps that grow with the context: count the whole ones before at.
            done = 0;
            var spent = 0L;
            while (done < replica.BatchSteps && spent + BatchStepNanos(replica, done) <= at - replica.BatchStart)
            {
                spent += BatchStepNanos(replica, done);
                done++;
            }

            boundary = spent == at - replica.BatchStart;
        }

        var keep = boundary ? done : done + 1;
        if (keep >= replica.BatchSteps)
        {
            return;
        }

        if (boundary)
        {
            _heap.Remove(replica);
            replica.StepEnd = Idle;
            ApplyBatch(replica, keep);
            replica.BusyUntil = at;
            if (!replica.PendingForm)
            {
                replica.PendingForm = true;
                _toForm.Add(replica);
            }

            return;
        }

        replica.BatchSteps = keep;
        replica.StepEnd = replica.BatchStart + BatchSpan(replica, keep);
        replica.BusyUntil = replica.StepEnd;
        _heap.Decreased(replica);
    }

    /// <summary>Nanoseconds of the first <paramref name="steps"/> steps of a replica's batch of decode steps.</summary>
    private static long BatchSpan(Replica replica, long steps)
    {
        if (replica.BatchIncrement == 0)
        {
            return steps * replica.BatchStep;
        }

        // At most a KV block's worth of steps: the batch ends where a sequence needs a new block.
        var total = 0L;
        for (var j = 0L; j < steps; j++)
        {
            total += BatchStepNanos(replica, j);
        }

        return total;
    }

    /// <summary>Step <paramref name="j"/> of a batch, rounded up to the nanosecond as every step is.</summary>
    private static long BatchStepNanos(Replica replica, long j) =>
        j == 0 ? replica.BatchStep : Math.Max(1L, (long)Math.Ceiling(replica.BatchNanos + (j * replica.BatchIncrement) - 1e-6));

    private bool Admitted(int r) => (_flags[r] & AdmittedOnce) != 0;

    private long BlocksFor(long tokens) => (tokens + _p.BlockTokens - 1) / _p.BlockTokens;

    /// <summary>Grows <paramref name="r"/>'s KV to hold <paramref name="tokens"/>, preempting from the tail of the running list while it cannot.</summary>
    private bool Allocate(Replica replica, int r, long tokens, ref bool preempted)
    {
        var need = BlocksFor(tokens) - _blocks[r];
        while (need > _blocksPerReplica - replica.UsedBlocks)
        {
            preempted = true;
            var victim = replica.Running[--replica.RunCount];
            _preemptions++;
            _running--;
            Free(replica, victim);
            _scheduled[victim] = 0;

            // Prefilled again from the start: the prompt and every token it had generated (or, restarting, the prompt alone).
            if (_p.RestartOnPreemption)
            {
                _generated[victim] = 0;
            }

            _target[victim] = _input[victim] + _generated[victim];
            _progress[victim] = 0;
            replica.Queue.PushFront(victim);
            _state[victim] = (byte)RequestState.Waiting;
            _waiting++;
            if (victim == r)
            {
                return false;
            }
        }

        _blocks[r] += (int)need;
        AddUsed(replica, need);
        return true;
    }

    /// <summary>Loads completing at tick <paramref name="t"/> become ready replicas and take the requests held at the gateway; returns how many.</summary>
    private int ReadyLoads(long t, long ts)
    {
        int ready;
        if (_cluster is not null)
        {
            // On a cluster: reclaimed and crashed replicas drain until their deadline (a crash's is now), then their running
            // requests go back to the gateway's head or are dropped (cluster.onPreemption).
            ready = _cluster.Advance(t, out _);
            foreach (var deadline in _cluster.LossDeadlines)
            {
                Lose(ts, deadline * _tickNanos);
            }

            _loading = _loads.Loading;
        }
        else
        {
            if (_loading == 0)
            {
                return 0;
            }

            ready = _loads.CompleteDue(t);
            _loading = _loads.Loading;
        }

        for (var i = 0; i < ready; i++)
        {
            AddReadyAt(ts);
        }

        if (ready > 0 || _cluster is not null)
        {
            RouteGateway(ts);
        }

        return ready;
    }

    /// <summary>A ready replica (the newest) is reclaimed or crashes: it takes no new requests and is gone at <paramref name="deadline"/>.</summary>
    private void Lose(long now, long deadline)
    {
        if (_ready.Count == 0)
        {
            return;
        }

        Drain(_ready.Count - 1, now, deadline, lost: true);
    }

    private void AddReadyAt(long at)
    {
        var replica = new Replica(_replicas.Count, _p.MaxSequences) { WarmupEnd = at + _warmupNanos, ReadyAt = at, BusyUntil = at };
        _replicas.Add(replica);
        _ready.Add(replica);
        NoteIfIdle(replica);
    }

    /// <summary>Keeps <paramref name="replica"/> among the idle ones (nothing queued or running) when it is, once.</summary>
    private void NoteIfIdle(Replica replica)
    {
        if (!replica.InIdle && !replica.Draining && replica.Queue.Count + replica.RunCount == 0)
        {
            replica.InIdle = true;
            _idle.Enqueue(replica, replica.Index);
        }
    }

    /// <summary>
    /// The ready replica with nothing queued or running that became ready first, or null. Replicas are noted when they
    /// become idle and dropped here once they are not; every idle replica is in the queue, so its head is the first.
    /// </summary>
    private Replica? FirstIdle()
    {
        while (_idle.TryPeek(out var replica, out _))
        {
            if (!replica.Draining && replica.Queue.Count + replica.RunCount == 0)
            {
                return replica;
            }

            _idle.Dequeue();
            replica.InIdle = false;
        }

        return null;
    }

    private void Retire(Replica replica, long at)
    {
        if (_cluster is not null && !replica.Lost)
        {
            // Its node is billed through the tick it retired in.
            _cluster.Retired(_tick);
        }

        replica.Gone = true;
        replica.StepEnd = Idle;
        _draining.Remove(replica);
        _drainBilledSeconds += Math.Max(0, at - replica.ReleasedAt) / 1e9;
    }

    /// <summary>Changes the KV blocks <paramref name="replica"/> holds, and the ready replicas' total with them.</summary>
    private void AddUsed(Replica replica, long blocks)
    {
        replica.UsedBlocks += blocks;
        if (!replica.Draining)
        {
            _readyUsedBlocks += blocks;
        }
    }

    protected override void RecordHistory(int slot)
    {
        // Kept as blocks change, not summed over the ready replicas each tick (a fleet of 100,000 idle replicas costs nothing).
        var used = _readyUsedBlocks;
        System.Diagnostics.Debug.Assert(_ready.Count > 4096 || used == _ready.Sum(r => r.UsedBlocks), "the ready replicas' KV blocks are kept");

        var hasTtft = _intervalTtft.Count > 0;
        ref var at = ref _history[slot];
        (at.Arrivals, at.Admissions, at.Waiting, at.Running, at.Input, at.Output) = (_requests, _admissions, _waiting, _running, _arrivedInput, _arrivedOutput);
        at.KvUtilization = _ready.Count == 0 ? 0 : (double)used / (_ready.Count * _blocksPerReplica);
        at.TtftP50Nanos = hasTtft ? Duration.FromNanoseconds(_intervalTtft.PercentileSeconds(50) * 1e9).ToInt64Nanoseconds() : -1;
        at.TtftP95Nanos = hasTtft ? Duration.FromNanoseconds(_intervalTtft.PercentileSeconds(95) * 1e9).ToInt64Nanoseconds() : -1;
        _intervalTtft.Clear();
    }

    protected override int ReadyCount => _ready.Count;

    protected override void AddReady(long t) => AddReadyAt(t * _tickNanos);

    protected override void Release(int count, long t)
    {
        for (var k = 0; k < count; k++)
        {
            Release(t * _tickNanos);
        }
    }

    /// <summary>Replicas started (some perhaps ready at once) or released: the gateway's requests go where they can.</summary>
    protected override void Reconciled(long t) => RouteGateway(t * _tickNanos);

    /// <summary>Releases the ready replica with the fewest running requests (the newest among equals): it drains.</summary>
    private void Release(long now)
    {
        var pick = _ready.Count - 1;
        for (var i = _ready.Count - 2; i >= 0; i--)
        {
            if (_ready[i].RunCount < _ready[pick].RunCount)
            {
                pick = i;
            }
        }

        Drain(pick, now, now + _drainTimeoutNanos, lost: false);
    }

    /// <summary>
    /// The ready replica at <paramref name="index"/> takes no new requests from <paramref name="now"/>: its queue goes back to
    /// the gateway, in its order, ahead of later arrivals; its running requests go on until <paramref name="deadline"/>.
    /// </summary>
    private void Drain(int index, long now, long deadline, bool lost)
    {
        var replica = _ready[index];
        Split(replica, now);
        _ready.RemoveAt(index);
        _readyUsedBlocks -= replica.UsedBlocks;
        replica.Draining = true;
        replica.Lost = lost;
        replica.ReleasedAt = now;
        replica.DrainDeadline = deadline;
        while (replica.Queue.Count > 0)
        {
            _gateway.PushFront(replica.Queue.PopBack());
        }

        if (replica.RunCount == 0 && replica.StepEnd == Idle)
        {
            Retire(replica, Math.Max(now, replica.BusyUntil));
        }
        else
        {
            _draining.Add(replica);
        }
    }

    internal override CandidateResult Complete()
    {
        Completing();

        // The last tick's completions went to the ledger with it: the drain's count afresh.
        _tickCompleted = 0;
        _tickViolations = 0;
        var horizon = _w.Ticks;
        var endNanos = horizon * _tickNanos;
        var limit = endNanos + Nanos(_settings.DrainSeconds);

        // After the trace: no decisions; loads in progress complete; the fleet serves what is left up to the limit.
        var drainTicks = 0L;
        var t = horizon;
        while (t * _tickNanos < limit && (_loading > 0 || _waiting > 0 || _running > 0 || _heap.Count > 0 || _ingesting > 0))
        {
            CheckCancelled();
            _tick = t;
            var ts = t * _tickNanos;
            FinishStepsAt(ts);

            // A load that completes after the trace is billed from the trace's end until it is ready.
            _drainBilledSeconds += ReadyLoads(t, ts) * (ts - endNanos) / 1e9;

            if (_ready.Count == 0 && _loading == 0 && _gateway.Count > 0)
            {
                break;
            }

            FormPending(ts);
            RunUntil(Math.Min(ts + _tickNanos, limit));
            _cluster?.Bill(t);
            t++;
            drainTicks++;
        }

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

        // Whatever remains is dropped, when the drain stopped.
        var dropAt = Math.Min(t * _tickNanos, limit);
        for (var r = 0; r < _slots; r++)
        {
            if (_state[r] is (byte)RequestState.Waiting or (byte)RequestState.Running)
            {
                Drop(r, dropAt);
            }
        }

        _slo.Complete(_tickCompleted, _tickViolations);
        _tickCompleted = 0;
        _tickViolations = 0;
        _slo.Finish(horizon, 0, 0);
        _fleet.Finish(horizon);

        var loadMetrics = new Dictionary<string, double>(StringComparer.Ordinal);
        var holdDollars = _loads.Finish(horizon, loadMetrics);
        var billed = _replicaSeconds + _drainBilledSeconds;
        var cluster = ClusterMetrics(t);
        var dollars = Dollars(cluster, billed, _fleet, _settings, holdDollars);
        var idleSeconds = Math.Max(0, _readySeconds - (_busyNanos / 1e9));
        var span = horizon * _tickSeconds;
        var serving = new ServingTotals(_ttft, _tpot, _e2e, span, _goodRequests, _servedInput, _servedOutput,
            KvUtilization(), dollars, NominalCapacity, _preemptions, _w.MeanInputTokens, _w.MeanOutputTokens).Metrics();
        return new RunOutcome
        {
            Requests = _requests,
            Served = _completed,
            Late = _late,
            Dropped = _dropped,
            QueuedAtEnd = 0,
            WaitP50Seconds = _wait.PercentileSeconds(50),
            WaitP95Seconds = _wait.PercentileSeconds(95),
            WaitP99Seconds = _wait.PercentileSeconds(99),
            WaitMaxSeconds = _wait.PercentileSeconds(100),
            BilledSeconds = billed,
            IdleSeconds = idleSeconds,
            LoadingSeconds = _loadingSeconds,
            HoldDollars = holdDollars,
            LoadMetrics = loadMetrics,
            ColdStarts = _coldStarts,
            PeakReplicas = _peak,
            EndReplicas = _ready.Count,
            Start = _w.Start,
            Ticks = horizon,
            Warnings = ServingWarnings(drainTicks),
            Serving = serving,
            Cluster = cluster,
        }.Result(_spec, _settings, _slo, _fleet, _record, _timeline);
    }

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

        if (drainTicks * _tickSeconds >= _settings.DrainSeconds && _dropped > 0)
        {
            yield return $"requests were still waiting or running engine.drainSeconds ({_settings.DrainSeconds.ToString("0.###", ci)} s) after the trace ended and were dropped";
        }
    }

    private static long Nanos(double seconds) => seconds >= 9.2e9 ? long.MaxValue : (long)Math.Round(seconds * 1e9);

    private sealed class ByIndex : IComparer<Replica>
    {
        public static readonly ByIndex Instance = new();

        public int Compare(Replica? x, Replica? y) => x!.Index.CompareTo(y!.Index);
    }

    private sealed class Replica(int index, int maxSequences)
    {
        public int Index { get; } = index;

        public IntDeque Queue { get; } = new();

        public int[] Running { get; } = new int[maxSequences];

        public int RunCount;
        public long UsedBlocks;
        public long StepEnd = Idle;
        public long BusyUntil;
        public long ReadyAt;
        public long WarmupEnd;
        public long ReleasedAt;
        public long DrainDeadline;
        public bool Draining;

        /// <summary>Reclaimed or crashed (on a cluster), not released: at the deadline its running requests are retried or dropped.</summary>
        public bool Lost;
        public bool Gone;
        public bool PendingForm;
        public long RoutedAt = -1;
        public int RoutedNow;
        public long BatchStart;
        public long BatchStep;
        public double BatchNanos;
        public double BatchIncrement;
        public long BatchSteps;
        public int HeapSlot = -1;

        /// <summary>In the queue of idle replicas (it may have become busy since).</summary>
        public bool InIdle;
    }

    /// <summary>Replicas by the end of their step, ties to the lowest index; each knows its slot, so it can be moved or removed.</summary>
    private sealed class ReplicaHeap
    {
        private Replica[] _items = new Replica[16];

        public int Count { get; private set; }

        public long PeekTime => _items[0].StepEnd;

        public void Push(Replica replica)
        {
            if (Count == _items.Length)
            {
                Array.Resize(ref _items, Count * 2);
            }

            Place(replica, Count++);
            Up(replica.HeapSlot);
        }

        public Replica Pop()
        {
            var top = _items[0];
            RemoveAt(0);
            return top;
        }

        public void Remove(Replica replica)
        {
            if (replica.HeapSlot >= 0)
            {
                RemoveAt(replica.HeapSlot);
            }
        }

        /// <summary>The replica's step now ends sooner.</summary>
        public void Decreased(Replica replica) => Up(replica.HeapSlot);

        private void RemoveAt(int slot)
        {
            var removed = _items[slot];
            var last = _items[--Count];
            _items[Count] = null!;
            removed.HeapSlot = -1;
            if (slot < Count)
            {
                Place(last, slot);
                Up(slot);
                Down(last.HeapSlot);
            }
        }

        private void Place(Replica replica, int slot)
        {
            _items[slot] = replica;
            replica.HeapSlot = slot;
        }

        private void Up(int i)
        {
            while (i > 0)
            {
                var parent = (i - 1) / 2;
                if (!Less(_items[i], _items[parent]))
                {
                    break;
                }

                Swap(i, parent);
                i = parent;
            }
        }

        private void Down(int i)
        {
            while (true)
            {
                var left = (2 * i) + 1;
                if (left >= Count)
                {
                    return;
                }

                var child = left + 1 < Count && Less(_items[left + 1], _items[left]) ? left + 1 : left;
                if (!Less(_items[child], _items[i]))
                {
                    return;
                }

                Swap(i, child);
                i = child;
            }
        }

        private void Swap(int a, int b)
        {
            var x = _items[a];
            Place(_items[b], a);
            Place(x, b);
        }

        private static bool Less(Replica a, Replica b) => a.StepEnd < b.StepEnd || (a.StepEnd == b.StepEnd && a.Index < b.Index);
    }
}

/// <summary>A double-ended queue of request indices (a ring that grows), allocation-free once grown.</summary>
internal sealed class IntDeque
{
    private int[] _items = new int[16];
    private int _head;

    public int Count { get; private set; }

    public void PushBack(int value)
    {
        Grow();
        _items[(_head + Count) & (_items.Length - 1)] = value;
        Count++;
    }

    public void PushFront(int value)
    {
        Grow();
        _head = (_head - 1) & (_items.Length - 1);
        _items[_head] = value;
        Count++;
    }

    public int PeekFront() => _items[_head];

    public int PopFront()
    {
        var value = _items[_head];
        _head = (_head + 1) & (_items.Length - 1);
        Count--;
        return value;
    }

    public int PopBack()
    {
        Count--;
        return _items[(_head + Count) & (_items.Length - 1)];
    }

    private void Grow()
    {
        if (Count < _items.Length)
        {
            return;
        }

        var bigger = new int[_items.Length * 2];
        for (var i = 0; i < Count; i++)
        {
            bigger[i] = _items[(_head + i) & (_items.Length - 1)];
        }

        _items = bigger;
        _head = 0;
    }
}
