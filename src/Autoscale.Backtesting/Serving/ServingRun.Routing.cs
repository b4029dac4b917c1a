using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;

namespace Autoscale.Backtesting.Serving;

/// <summary>Request-level replay: requests reaching the scheduler and routed to replicas (least loaded, round robin, a shared queue).</summary>
internal sealed partial class ServingRun
{
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
        if (_role == ServingPool.Decode)
        {
            TakeHandoffsAt(at);
            return;
        }

        while (_cursor.Next == at)
        {
            var r = TakeSlot();
            _arrival[r] = at;
            _origin[r] = at;
            _ordinal[r] = _requests;
            _cursor.Take(out var input, out var output);
            _input[r] = input;
            _output[r] = output;
            if (_role == ServingPool.Prefill)
            {
                // Prefilled here, its first token the last: the decode pool generates the output.
                _carried[r] = output;
                _output[r] = 1;
            }

            _progress[r] = 0;
            _generated[r] = 0;
            _blocks[r] = 0;
            if (_keys is not null)
            {
                _keyedTo[r] = 0;
            }

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

    /// <summary>A decode pool's arrivals at <paramref name="at"/>: the KV caches whose transfer ends then, each held ready to decode; and the requests the prefill pool dropped then, counted.</summary>
    private void TakeHandoffsAt(long at)
    {
        while (_handoffs!.Next == at)
        {
            var h = _handoffs.Take();
            if (h.Dropped)
            {
                DropHandedOn(h, at);
                continue;
            }

            var r = TakeSlot();
            _arrival[r] = at;
            _origin[r] = h.Arrival;
            _ordinal[r] = h.Ordinal;
            _input[r] = h.Input;

            // The first token comes from the decode replica's first step, as in vLLM's disaggregated serving (BLIS
            // b563c440 counts the prefill's token as the first and decodes one fewer, which overlapLastStep reproduces).
            _output[r] = _p.OverlapLastStep ? Math.Max(1, h.Output - 1) : Math.Max(1, h.Output);
            _target[r] = Math.Max(1, h.Input);
            _progress[r] = _target[r];
            _generated[r] = 0;
            _blocks[r] = 0;
            _scheduled[r] = 0;
            _firstToken[r] = -1;
            _flags[r] = 0;
            _requests++;
            _arrivedInput += h.Input;
            _arrivedOutput += h.Output;
            _state[r] = (byte)RequestState.Waiting;
            if (h.Late)
            {
                // It waited beyond maxWait in the prefill pool's queue: late whatever follows.
                _flags[r] |= LateStart;
                _late++;
                _tickViolations++;
            }

            _waiting++;
            Route(r, at);
        }
    }

    /// <summary>A request that never reached a decode replica (dropped by the prefill pool, or its KV cache still in flight when the drain ended), counted dropped at <paramref name="at"/>.</summary>
    private void DropHandedOn(KvHandoffs.Handoff h, long at)
    {
        _requests++;
        _dropped++;
        _tickViolations++;
        _tickCompleted++;
        _ttft.AddInfinite();
        _e2e.AddInfinite();
        if (_recordedEnd is not null)
        {
            _recordedFirstToken![h.Ordinal] = -1;
            _recordedEnd[h.Ordinal] = -1;
        }
    }

    private void Route(int r, long at)
    {
        // With a limit per replica, a request that finds others held at the router waits behind them.
        if ((_requestCap > 0 && _gateway.Count > 0 && _p.Routing != ServingRouting.SharedQueue) || !TryRoute(r, at))
        {
            _gateway.PushBack(r);
        }
    }

    /// <summary>
    /// Routes request <paramref name="r"/> at <paramref name="at"/>: into the shared queue, or to a ready replica's queue
    /// (the next in turn or the least loaded, among those under the request limit); false when no replica can take it.
    /// </summary>
    private bool TryRoute(int r, long at)
    {
        if (_p.Routing == ServingRouting.SharedQueue)
        {
            _gateway.PushBack(r);
            WakeIdle();
            return true;
        }

        if (_ready.Count == 0)
        {
            return false;
        }

        Replica? target;
        if (_p.Routing == ServingRouting.RoundRobin)
        {
            // The ready replicas are in the order they became ready (by index): the next after the last one routed to.
            int lo = 0, hi = _ready.Count;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                (lo, hi) = _ready[mid].Index <= _roundRobin ? (mid + 1, hi) : (lo, mid);
            }

            target = NextWithRoom(lo == _ready.Count ? 0 : lo);
            if (target is null)
            {
                return false;
            }

            _roundRobin = target.Index;
        }
        else if (_p.Routing == ServingRouting.PrefixAware)
        {
            target = BestScored(r);
            if (target is null)
            {
                return false;
            }
        }
        else
        {
            // Least loaded, the first among equals. A load is at least the replica's queued and running requests, 0 only
            // when it has none, so the first idle replica is the answer when there is one (each of 100,000 replicas of a
            // quiet fleet need not be looked at for every request). Only when requests routed at this instant have left a
            // replica at it (zero-length steps) can a load fall below that: then every replica is looked at.
            target = _scanAt != at && FirstIdle() is { } idle ? idle : LeastLoaded(at);
            System.Diagnostics.Debug.Assert(_ready.Count > 4096 || target == LeastLoaded(at), "the first idle replica is the least loaded");
            if (!HasRoom(target))
            {
                target = LeastLoadedWithRoom(at);
                if (target is null)
                {
                    return false;
                }
            }
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
        System.Diagnostics.Debug.Assert(_requestCap == 0 || target.Queue.Count + target.RunCount <= _requestCap, "a replica holds no more than the request limit");
        if (target.StepEnd == Idle && !target.PendingForm)
        {
            target.PendingForm = true;
            _toForm.Add(target);
        }

        return true;
    }

    /// <summary>
    /// Prefix-aware routing, as BLIS's weighted router with its precise-prefix-cache, queue-depth and kv-utilization
    /// scorers (llm-d's scheduler): among the ready replicas with room, the highest of w1 x the request's leading cached
    /// blocks there (min-max scaled, all equal 1) + w2 x its waiting requests (fewest 1, most 0, all equal 1) + w3 x its
    /// free KV share; ties to the lowest index. Null when none has room.
    /// </summary>
    private Replica? BestScored(int r)
    {
        var (wPrefix, wQueue, wKv) = _p.RoutingWeights;
        int leastHits = int.MaxValue, mostHits = 0, leastQueue = int.MaxValue, mostQueue = 0;
        _scoreHits.Clear();
        foreach (var replica in _ready)
        {
            var h = replica.Cache is not null && HasRoom(replica) ? FindCached(replica, r).Hits : 0;
            _scoreHits.Add(h);
            if (!HasRoom(replica))
            {
                continue;
            }

            (leastHits, mostHits) = (Math.Min(leastHits, h), Math.Max(mostHits, h));
            (leastQueue, mostQueue) = (Math.Min(leastQueue, replica.Queue.Count), Math.Max(mostQueue, replica.Queue.Count));
        }

        Replica? best = null;
        var bestScore = double.NegativeInfinity;
        for (var i = 0; i < _ready.Count; i++)
        {
            var replica = _ready[i];
            if (!HasRoom(replica))
            {
                continue;
            }

            var prefix = mostHits == leastHits ? 1 : (double)(_scoreHits[i] - leastHits) / (mostHits - leastHits);
            var queue = mostQueue == leastQueue ? 1 : (double)(mostQueue - replica.Queue.Count) / (mostQueue - leastQueue);
            var kv = 1 - ((double)replica.UsedBlocks / _blocksPerReplica);
            var score = (wPrefix * prefix) + (wQueue * queue) + (wKv * kv);
            if (score > bestScore)
            {
                (best, bestScore) = (replica, score);
            }
        }

        return best;
    }

    /// <summary>Whether <paramref name="replica"/> holds fewer requests (queued and running) than the request limit.</summary>
    private bool HasRoom(Replica replica) => _requestCap == 0 || replica.Queue.Count + replica.RunCount < _requestCap;

    /// <summary>The first ready replica with room from position <paramref name="start"/> on, wrapping around; null when none has.</summary>
    private Replica? NextWithRoom(int start)
    {
        for (var k = 0; k < _ready.Count; k++)
        {
            var replica = _ready[(start + k) % _ready.Count];
            if (HasRoom(replica))
            {
                return replica;
            }
        }

        return null;
    }

    /// <summary>The least loaded ready replica with room under the request limit, the first among equals; null when none has.</summary>
    private Replica? LeastLoadedWithRoom(long at)
    {
        Replica? target = null;
        var least = long.MaxValue;
        foreach (var replica in _ready)
        {
            var load = Load(replica, at);
            if (HasRoom(replica) && load < least)
            {
                target = replica;
                least = load;
            }
        }

        return target;
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

        while (_gateway.Count > 0 && TryRoute(_gateway.PeekFront(), at))
        {
            _gateway.PopFront();
        }
    }
}
