using System.Runtime.CompilerServices;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;

namespace Autoscale.Backtesting.Serving;

/// <summary>Fluid replay: cohorts admitted as slots and KV cache allow, and those that time out dropped.</summary>
internal sealed partial class FluidRun
{
    /// <summary>Admits the head of the queue while the ready replicas have sequences and KV cache free.</summary>
    private void Admit(double now)
    {
        if (_ready == 0)
        {
            return;
        }

        var slots = (_ready * (double)_maxRunning) - Running;
        var kv = (_ready * _kvPerReplica) - KvUsed;
        while (_waiting.Count > 0 && slots > Tiny && kv > Tiny)
        {
            ref var head = ref _waiting.Head;
            var perRequest = head.Input + 1;
            var take = Take(head, slots, kv);
            if (take <= Tiny)
            {
                break;
            }

            AdmitShare(head, take, now);
            slots -= take;
            kv -= take * perRequest;
            head.Count -= take;
            if (head.Count <= Tiny)
            {
                _waitingCount -= head.Count;
                _waiting.Pop();
            }
        }
    }

    /// <summary>How many requests of <paramref name="head"/> the free <paramref name="slots"/> and <paramref name="kv"/> cache tokens admit.</summary>
    private static double Take(in Cohort head, double slots, double kv) =>
        double.MinNative(head.Count, double.MinNative(slots, kv / (head.Input + 1)));

    /// <summary><paramref name="take"/> requests of the waiting cohort <paramref name="head"/> start prefill at <paramref name="now"/>.</summary>
    private void AdmitShare(in Cohort head, double take, double now)
    {
        ref var admitted = ref _prefill.PushSlot();
        admitted = head;
        admitted.Count = take;
        // A request reaches the scheduler after its ingestion (time outside the GPU); it cannot prefill before that.
        admitted.Admitted = double.MaxNative(now, head.Arrival + _p.RequestOverheadSeconds + (_p.PerInputTokenOverheadSeconds * head.Input));
        var wait = admitted.Admitted - head.Arrival;
        if (wait == 0)
        {
            // Most admissions do not wait: counted here, put in the first bucket at the end.
            _admittedAtOnce += take;
        }
        else
        {
            _wait.Add(wait, take);
        }

        if (wait > _maxWait)
        {
            // A late start is a violation whatever follows.
            admitted.LateShare = 1;
            _late += take;
            _violations += take;
        }

        _prefillCount += take;
        _prefillKv += take * head.Input;
        _admissions += take;
        _waitingCount -= take;
    }

    /// <summary>Requests that waited past the client timeout without being admitted leave.</summary>
    private void DropTimedOut(double now)
    {
        if (double.IsPositiveInfinity(_timeout))
        {
            return;
        }

        while (_waiting.Count > 0 && now - _waiting.Head.Arrival > _timeout)
        {
            ref var c = ref _waiting.Pop();
            DropWaiting(c, now);
        }
    }

    /// <summary>Drops a waiting cohort at <paramref name="now"/>: its requests waited until then, and that wait counts (as in the count replay).</summary>
    private void DropWaiting(in Cohort c, double now)
    {
        _wait.Add(Math.Max(0, now - c.Arrival), c.Count);
        _waitingCount -= c.Count;
        _dropped += c.Count;
        _violations += c.Count;
        _done += c.Count;
        _ttft.AddInfinite(c.Count);
        _e2e.AddInfinite(c.Count);
    }

    private int Warming(double now)
    {
        while (_warmingUntil.Count > 0 && _warmingUntil.Peek() <= now)
        {
            _warmingUntil.Dequeue();
        }

        return Math.Min(_ready, _warmingUntil.Count);
    }

    /// <summary>Released replicas still serving their share of the running requests at <paramref name="now"/>.</summary>
    private double DrainingCount(double now)
    {
        if (_draining.Count == 0)
        {
            return 0;
        }

        while (_draining.TryPeek(out var signed, out var until) && until <= now)
        {
            _draining.Dequeue();
            var count = Math.Abs(signed);
            _drainingCount -= count;
            Retired((int)count, lost: signed < 0);
        }

        return _draining.Count == 0 ? 0 : _drainingCount;
    }
}
