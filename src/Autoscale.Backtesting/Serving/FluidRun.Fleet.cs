using Autoscale.Backtesting.Histograms;
using System.Runtime.CompilerServices;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;

namespace Autoscale.Backtesting.Serving;

/// <summary>Fluid replay: replicas ready, warming, released, draining and lost.</summary>
internal sealed partial class FluidRun
{
    /// <summary>Loads completing at tick <paramref name="t"/> become ready; on a cluster, reclaimed and crashed replicas go; returns how many became ready.</summary>
    private int ReadyLoads(long t, double now)
    {
        if (_cluster is not null)
        {
            var done = _cluster.Advance(t, out _);
            foreach (var deadline in _cluster.LossDeadlines)
            {
                Lose(now, deadline * _tickSeconds);
            }

            _loading = _loads.Loading;
            AddReady(done, now);
            return done;
        }

        if (_loading == 0)
        {
            return 0;
        }

        var ready = _loads.CompleteDue(t);
        _loading = _loads.Loading;
        AddReady(ready, now);
        return ready;
    }

    /// <summary>
    /// A ready replica is reclaimed (it drains as a released one does, at most until its node's deadline) or crashes (the
    /// deadline is now). Its share of the running requests is dropped at once with <c>onPreemption: "drop"</c>; with
    /// <c>"retry"</c> the pool keeps serving them, their progress kept (the fluid's approximation of a retry).
    /// </summary>
    private void Lose(double now, double deadline)
    {
        if (_ready <= 0)
        {
            return;
        }

        var running = Running;
        var share = running / _ready;
        if (deadline > now)
        {
            Release(1, now, deadline - now, lost: true);
        }
        else
        {
            _ready--;
        }

        if (share <= Tiny)
        {
            return;
        }

        if (!_cluster!.DropOnLoss)
        {
            _retriedShare += share;
            return;
        }

        _lostShare += share;
        var f = share / running;
        for (var i = 0; i < _prefill.Count; i++)
        {
            ref var c = ref _prefill.At(i);
            var d = c.Count * f;
            DropRunning(d * (1 - c.LateShare), d, firstToken: false);
            c.Count -= d;
            _prefillCount -= d;
            _prefillKv -= d * c.Input;
        }

        for (var i = 0; i < _decode.Count; i++)
        {
            ref var c = ref _decode.At(i);
            var d = c.Count * f;
            DropRunning(d * (1 - c.LateShare), d, firstToken: true);
            c.Count -= d;
            _decodeCount -= d;
            _decodeKvBase -= d * (c.Input + 1 - c.Entered);
        }
    }

    private double _lostShare, _retriedShare;

    private void AddReady(int count, double now)
    {
        _ready += count;
        if (_p.Warmup > Duration.Zero && _p.WarmupSlowdown > 1)
        {
            for (var i = 0; i < count; i++)
            {
                _warmingUntil.Enqueue(now + _p.Warmup.TotalSeconds);
            }
        }
    }

    protected override void RecordHistory(int slot)
    {
        var hasTtft = _intervalTtft.Count > Tiny;
        ref var at = ref _history[slot];
        (at.Arrivals, at.Admissions, at.Waiting, at.Running, at.Input, at.Output) =
            (_requests, (long)Math.Round(_admissions), (long)Math.Round(_waitingCount), (long)Math.Round(Running), _arrivedInput, _arrivedOutput);
        at.KvUtilization = _ready == 0 ? 0 : Math.Clamp(KvUsed / (_ready * _kvPerReplica), 0, 1);
        (at.TtftP50Nanos, at.TtftP95Nanos) = (-1, -1);
        if (hasTtft)
        {
            // The nearest-rank percentiles of the interval's first tokens, as the request-level replay reports them: the
            // upper edges of their latency buckets, in whole nanoseconds.
            var (p50, p95) = _intervalTtft.PercentileBuckets(50, 95);
            at.TtftP50Nanos = ServingLayout.UpperEdgeWholeNanos(p50 < 0 ? _intervalTtft.HighestBucket : p50);
            at.TtftP95Nanos = ServingLayout.UpperEdgeWholeNanos(p95 < 0 ? _intervalTtft.HighestBucket : p95);
        }

        _intervalTtft.Clear();
    }

    protected override int ReadyCount => _ready;

    protected override void AddReady(long t) => AddReady(1, t * _tickSeconds);

    protected override void Release(int count, long t) => Release(count, t * _tickSeconds, double.PositiveInfinity, lost: false);

    /// <summary>
    /// Releases <paramref name="count"/> ready replicas: they take no new requests and serve their share of the running
    /// ones (the fleet's are spread evenly) until that share would be done, at most drainTimeoutSeconds, billed until then.
    /// </summary>
    private void Release(int count, double now, double maxDrain, bool lost)
    {
        var share = _ready > 0 ? Running / _ready : 0;
        _ready -= count;
        if (share <= Tiny)
        {
            Retired(count, lost);
            return;
        }

        // The longest decode in flight bounds how long a replica's share keeps it busy.
        var decodePerReplica = _decodeCount / Math.Max(1, _ready + count);
        var step = _p.BaseSeconds + (_p.PerDecodeTokenSeconds * decodePerReplica);
        var remaining = _decode.Count > 0 ? Math.Max(0, _decode.MaxFinish - _clock) * step : 0;
        var drain = Math.Min(Math.Min(_p.DrainTimeout.TotalSeconds, remaining), maxDrain);
        if (drain > 0)
        {
            // A reclaimed replica's node is billed to its deadline by the cluster; it is not released there.
            _draining.Enqueue(lost ? -count : count, now + drain);
            _drainingCount += count;
            _drainBilledSeconds += count * drain;
        }
        else
        {
            Retired(count, lost);
        }
    }

    /// <summary>On a cluster, released replicas done draining free their GPUs (reclaimed ones are the cluster's already).</summary>
    private void Retired(int count, bool lost)
    {
        if (_cluster is null || lost)
        {
            return;
        }

        for (var i = 0; i < count; i++)
        {
            _cluster.Retired(_tick);
        }
    }
}
