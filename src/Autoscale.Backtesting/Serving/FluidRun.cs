using Autoscale.Backtesting.Histograms;
using System.Runtime.CompilerServices;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;

namespace Autoscale.Backtesting.Serving;

/// <summary>
/// One candidate's fluid serving replay (<c>engine.serving: "fluid"</c>): the request-level replay's fleet, decisions,
/// loads and SLO rules, with the requests carried as cohorts (each request of a log, or a tick's requests of interval
/// counts, a fraction of a request allowed) through a pool of identical replicas instead of one by one through each
/// replica's scheduler. docs/serving.md states the approximation and its measured agreement with the request-level replay.
/// </summary>
/// <remarks>
/// Each tick is cut into sub-steps of at most <see cref="SubStepSeconds"/> (a quiet tick is one step). In a sub-step: the arrivals join the
/// waiting queue; the head is admitted while the ready replicas have sequences and KV cache free; the admitted prompts
/// are prefilled first in, first out, at the rate a step of the profile gives with the running decodes in it; every
/// decoding request gains one token per step; a cohort leaves when its output is done. The cost grows with ticks and
/// cohorts in flight, not with requests. Not thread-safe; one run per thread.
/// </remarks>
internal sealed partial class FluidRun : ServingRunBase
{
    /// <summary>The longest sub-step: latencies resolve to about this.</summary>
    public const double SubStepSeconds = 0.5;

    private const double Tiny = 1e-9;

    /// <summary>Waiting cohorts kept apart before the backlog's tail starts merging.</summary>
    private const int MergeBeyond = 4096;

    private readonly int _subSteps;
    private readonly double _h;
    /// <summary>A bound on this replay's clock, in seconds (none: never).</summary>
    private static double Seconds(Duration? bound) => bound is { } b ? b.TotalSeconds : double.PositiveInfinity;

    private readonly double _maxTtft, _maxTpot, _maxE2e, _maxWait, _timeout, _drain;
    private readonly double _kvPerReplica;

    /// <summary>The share of a replica's steps a warming replica loses: 1 - 1 / warmupSlowdown.</summary>
    private readonly double _warmingLoss;

    private readonly CohortQueue _waiting = new();
    private readonly CohortQueue _prefill = new();
    private readonly DecodeQueue _decode = new();
    private readonly Queue<double> _warmingUntil = new();
    private readonly PriorityQueue<double, double> _draining = new();
    private double _drainingCount;

    private readonly WeightedLatencyHistogram _ttft;
    private readonly WeightedLatencyHistogram _tpot = new();
    private readonly WeightedLatencyHistogram _e2e = new();
    private readonly WeightedLatencyHistogram _wait = new();
    private double _admittedAtOnce;
    // The first tokens of the interval a decision observes (fed by the TTFT histogram).
    private readonly WeightedLatencyHistogram _intervalTtft = new();

    // A request log's requests, walked in order; interval counts come per tick.
    private readonly (long[] Arrivals, int[] Input, int[] Output)? _log;
    private int _next;

    // Interval counts: the tick's requests and their tokens, read a run of ticks ahead.
    private long _tickCount;
    private double _tickInput, _tickOutput;
    private const int TotalsAhead = 256;
    private readonly long[] _countAhead = new long[TotalsAhead];
    private readonly double[] _inputAhead = new double[TotalsAhead], _outputAhead = new double[TotalsAhead];
    private long _totalsFrom;
    private int _totalsCount;

    private int _ready;
    private long _requests;
    private long _arrivedInput, _arrivedOutput;

    // Cumulative fluid totals (fractions of requests), and what has been handed to the SLO ledger as whole requests.
    private double _waitingCount, _prefillCount, _decodeCount;
    private double _prefillKv, _decodeKvBase;
    private double _clock;
    private double _admissions, _done, _late, _dropped, _good, _violations;
    private long _doneEmitted, _violationsEmitted;
    private double _servedInput, _servedOutput;
    private double _busySeconds, _kvTokenSeconds;

    public FluidRun(CandidateSpec spec, ReplaySettings settings, ServingWorkload workload, long timelineBucketTicks = 0, bool zoomWorstHour = false)
        : base(spec, settings, workload, timelineBucketTicks, zoomWorstHour)
    {
        _subSteps = Math.Max(1, (int)Math.Ceiling((_tickSeconds / SubStepSeconds) - 1e-9));
        _h = _tickSeconds / _subSteps;
        var slo = settings.Slo;
        // The fluid's clock is seconds: each time converted once, here (none: never).
        _maxWait = Seconds(slo.MaxWait);
        _maxTtft = Seconds(slo.MaxTtft);
        _maxTpot = Seconds(slo.MaxTpot);
        _maxE2e = Seconds(slo.MaxE2e);
        _timeout = Seconds(slo.ClientTimeout);
        _drain = _settings.Drain.TotalSeconds;
        _kvPerReplica = (double)_p.KvBlocks * _p.BlockTokens;
        _warmingLoss = 1 - (1 / _p.WarmupSlowdown);
        _log = workload.Requests;
        _ttft = new WeightedLatencyHistogram(companion: _intervalTtft);
        if (_p.PrefixCaching && workload.Prefixes is { } prefixes && _log is { } log)
        {
            (_reusable, _earlier) = prefixes.Reuse(log.Input, _p.BlockTokens, _p.HashBlockTokens);
        }
    }

    // Prefix caching, approximated: each request's reusable prompt tokens and the earlier requests of its prefix.
    private readonly int[]? _reusable, _earlier;
    private double _promptTokens, _cachedPromptTokens;

    /// <summary>
    /// The prompt tokens request <paramref name="i"/> is expected to find cached (docs/serving.md, "Prefix caching in the
    /// fluid replay"): what a never-evicting cache would hold, times the chance that its replica has served its prefix:
    /// 1 with prefix-aware routing (it goes where its prefix is), else 1 - (1 - 1/N)^m over N ready replicas for the m
    /// earlier requests that began with the same block (each on any replica alike). Counted for the hit rate here.
    /// </summary>
    private double CachedTokens(int i)
    {
        if (_reusable is null)
        {
            return 0;
        }

        var n = Math.Max(1, _ready);
        var chance = _p.Routing == ServingRouting.PrefixAware || n == 1 ? 1 : 1 - Math.Pow(1 - (1.0 / n), _earlier![i]);
        var cached = _reusable[i] * chance;
        _promptTokens += _log!.Value.Input[i];
        _cachedPromptTokens += cached;
        return cached;
    }

    private double Running => _prefillCount + _decodeCount;

    private double KvUsed => _prefillKv + _decodeKvBase + (_clock * _decodeCount);

    public override void AdvanceTo(long tick)
    {
        var until = Math.Min(tick, _w.Ticks);
        for (var t = _stepped; t < until; t++)
        {
            Step(t);
        }

        _stepped = Math.Max(_stepped, until);
    }

    private void Step(long t)
    {
        _tick = t;
        var ts = t * _tickSeconds;
        _slo.Advance(t);

        // 1. Loads completing at t become ready.
        ReadyLoads(t, ts);

        // 2. The policy decides; the engine reconciles.
        DecideWhenDue(t);

        // 3. The tick's arrivals, sub-step by sub-step, and the fleet serving them. A pool with nothing waiting and room to
        // spare for the tick's arrivals serves the tick in one step: its slots are not what bounds anyone's wait then.
        var before = _requests;
        if (_log is null)
        {
            var k = (int)(t - _totalsFrom);
            if ((uint)k >= (uint)_totalsCount)
            {
                _totalsFrom = t;
                _totalsCount = _w.TickTotals(t, _countAhead, _inputAhead, _outputAhead);
                k = 0;
            }

            (_tickCount, _tickInput, _tickOutput) = (_countAhead[k], _inputAhead[k], _outputAhead[k]);
        }

        var steps = Quiet(t) ? 1 : _subSteps;
        var h = _tickSeconds / steps;
        for (var k = 0; k < steps; k++)
        {
            var from = ts + (k * h);
            if (k == 0 && _log is null && _waiting.Count == 0)
            {
                ServeArriving(from, from + h);
                continue;
            }

            Arrive(k == steps - 1 ? (t + 1) * _tickNanos : (long)Math.Round((from + h) * 1e9), k == 0, from);
            Serve(from, from + h);
        }

        var violations = Emit(ref _violations, ref _violationsEmitted);
        _slo.Complete(Emit(ref _done, ref _doneEmitted), violations);
        var arrivals = _requests - before;
        _fleet.Observe(t, arrivals, _ready);
        _timeline?.Add(t, arrivals, _ready, _loading, (long)Math.Round(_waitingCount), violations);
    }

    /// <summary>The whole requests a fractional total has reached since the last call.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Emit(ref double total, ref long emitted)
    {
        var reached = total + 1e-6;
        if (reached < emitted + 1)
        {
            // Not one more whole request (floor(reached) > emitted exactly when reached >= emitted + 1).
            return 0;
        }

        var whole = (long)Math.Floor(reached);
        var delta = Math.Max(0, whole - emitted);
        emitted += delta;
        return delta;
    }

    /// <summary>
    /// Whether tick <paramref name="t"/> may be served in one step: nothing waits, nothing drains, no replica warms up,
    /// and the running requests with the tick's arrivals fill at most half of the ready replicas' sequences and KV cache.
    /// </summary>
    private bool Quiet(long t)
    {
        if (_waiting.Count > 0 || _ready == 0 || _draining.Count > 0 || _warmingUntil.Count > 0)
        {
            return false;
        }

        double arrivals, tokens;
        if (_log is { } log)
        {
            var end = (t + 1) * _tickNanos;
            var n = 0;
            var sum = 0L;
            for (var i = _next; i < log.Arrivals.Length && log.Arrivals[i] < end; i++)
            {
                n++;
                sum += log.Input[i] + log.Output[i];
            }

            (arrivals, tokens) = (n, sum);
        }
        else
        {
            (arrivals, tokens) = (_tickCount, _tickInput + _tickOutput);
        }

        return Running + arrivals <= 0.5 * _ready * _maxRunning && KvUsed + tokens <= 0.5 * _ready * _kvPerReplica;
    }

    public override CandidateResult Complete()
    {
        Completing();
        var horizon = _w.Ticks;
        var end = horizon * _tickSeconds;
        var limit = end + _drain;

        // After the trace: no decisions; loads in progress complete; the fleet serves what is left up to the limit, each
        // replica billed while it has work.
        var drainTicks = 0L;
        var dropAt = end;
        for (var t = horizon; t * _tickSeconds < limit && (_loading > 0 || _waitingCount > Tiny || Running > Tiny); t++)
        {
            _tick = t;
            CheckCancelled();
            var ts = t * _tickSeconds;
            dropAt = ts;
            if (_loading > 0 || _cluster is not null)
            {
                _drainBilledSeconds += ReadyLoads(t, ts) * (ts - end);
            }

            if (_ready == 0 && _loading == 0 && DrainingCount(ts) == 0 && _waitingCount > Tiny)
            {
                break;
            }

            for (var k = 0; k < _subSteps && ts + (k * _h) < limit; k++)
            {
                var from = ts + (k * _h);
                var busyBefore = _busySeconds;
                Serve(from, Math.Min(from + _h, limit));
                _drainBilledSeconds += _busySeconds - busyBefore;
            }

            _slo.Complete(Emit(ref _done, ref _doneEmitted), Emit(ref _violations, ref _violationsEmitted));
            _cluster?.Bill(t);
            drainTicks++;
            dropAt = Math.Min(ts + _tickSeconds, limit);
        }

        // Whatever remains is dropped: waiting, in prefill (no first token) and decoding (first token kept).
        while (_waiting.Count > 0)
        {
            DropWaiting(_waiting.Pop(), dropAt);
        }

        while (_prefill.Count > 0)
        {
            ref var c = ref _prefill.Pop();
            DropRunning(c.Count * (1 - c.LateShare), c.Count, firstToken: false);
        }

        while (_decode.Count > 0)
        {
            ref var c = ref _decode.Pop();
            DropRunning(c.Count * (1 - c.LateShare), c.Count, firstToken: true);
        }

        _slo.Complete(Emit(ref _done, ref _doneEmitted), Emit(ref _violations, ref _violationsEmitted));
        _slo.Finish(horizon, 0, 0);
        _fleet.Finish(horizon);

        _requestsLost = (long)Math.Round(_lostShare);
        _requestsRetried = (long)Math.Round(_retriedShare);
        var bill = SettleBill(horizon, horizon + drainTicks);
        var dollars = bill.Dollars;
        var span = horizon * _tickSeconds;
        var dropped = (long)Math.Round(_dropped);
        var late = Math.Min((long)Math.Round(_late), _requests - dropped);
        FoldAdmittedAtOnce();
        var serving = new ServingTotals(_ttft, _tpot, _e2e, span, _good, _servedInput, _servedOutput,
            _readySeconds > 0 ? Math.Clamp(_kvTokenSeconds / (_kvPerReplica * _readySeconds), 0, 1) : 0, dollars, NominalCapacity, 0, _w.MeanInputTokens, _w.MeanOutputTokens).Metrics() with
        {
            PrefixCacheHitRate = _reusable is null ? null : _promptTokens > 0 ? _cachedPromptTokens / _promptTokens : 0,
        };
        return Ledger(horizon, bill, (_requests, _requests - dropped, late, dropped), _wait.PercentileSeconds, Math.Max(0, _readySeconds - _busySeconds), _ready, Warnings(drainTicks), serving);
    }

    /// <summary>Puts the admissions that did not wait into the queue waits' first bucket, once, before their percentiles are read.</summary>
    private void FoldAdmittedAtOnce()
    {
        if (_admittedAtOnce > 0)
        {
            _wait.AddToBucket(0, _admittedAtOnce);
            _admittedAtOnce = 0;
        }
    }

    private void DropRunning(double uncounted, double count, bool firstToken)
    {
        _dropped += count;
        _late -= count - uncounted;
        _violations += uncounted;
        _done += count;
        if (!firstToken)
        {
            _ttft.AddInfinite(count);
        }

        _e2e.AddInfinite(count);
    }

    private IEnumerable<string> Warnings(long drainTicks)
    {
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        if (_dropped >= 0.5 && drainTicks * _tickSeconds >= _drain)
        {
            yield return $"requests were still waiting or running engine.drainSeconds ({_drain.ToString("0.###", ci)} s) after the trace ended and were dropped";
        }
    }
}
