using Autoscale.Backtesting.Histograms;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;

namespace Autoscale.Backtesting.Serving;

/// <summary>Request-level replay: replicas becoming ready, idle, released, drained and retired.</summary>
internal sealed partial class ServingRun
{
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
        var replica = new Replica(_replicas.Count, _p.MaxSequences) { WarmupEnd = at + _warmupNanos, ReadyAt = at, BusyUntil = at, Cache = _keys is null ? null : new PrefixCache(_blocksPerReplica) };
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

    /// <summary>The ready replicas' KV blocks, summed (for the Debug check of the kept total; a loop, so the check allocates nothing: LINQ's Sum boxed the list's enumerator, 40 bytes a tick, which only tiered code's escape analysis took away).</summary>
    private long SumUsedBlocks()
    {
        long sum = 0;
        for (var i = 0; i < _ready.Count; i++)
        {
            sum += _ready[i].UsedBlocks;
        }

        return sum;
    }

    protected override void RecordHistory(int slot)
    {
        // Kept as blocks change, not summed over the ready replicas each tick (a fleet of 100,000 idle replicas costs nothing).
        var used = _readyUsedBlocks;
        System.Diagnostics.Debug.Assert(_ready.Count > 4096 || used == SumUsedBlocks(), "the ready replicas' KV blocks are kept");

        var hasTtft = _intervalTtft.Count > 0;
        ref var at = ref _history[slot];
        (at.Arrivals, at.Admissions, at.Waiting, at.Running, at.Input, at.Output) = (_requests, _admissions, _waiting, _running, _arrivedInput, _arrivedOutput);
        at.KvUtilization = _ready.Count == 0 ? 0 : (double)used / (_ready.Count * _blocksPerReplica);
        (at.PromptTokens, at.CachedPromptTokens) = (_promptTokens, _cachedPromptTokens);
        (at.FirstTokens, at.TtftNanos, at.DecodedTokens, at.ItlNanos) = (_firstTokens, _ttftNanosSum, _decodedTokens, _itlNanosSum);
        // Through seconds and back, as this replay's signal has always been taken: for 891 of the 2,400 buckets that lands
        // 1 ns below the fluid replay's whole-nanosecond edge (ServingLayout.UpperEdgeWholeNanos).
        at.TtftP50Nanos = hasTtft ? Duration.FromNanoseconds(_intervalTtft.Percentile(50) / NanosPerSecond * 1e9).ToInt64Nanoseconds() : -1;
        at.TtftP95Nanos = hasTtft ? Duration.FromNanoseconds(_intervalTtft.Percentile(95) / NanosPerSecond * 1e9).ToInt64Nanoseconds() : -1;
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
}
