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
internal sealed class FluidRun : ServingRunBase
{
    /// <summary>The longest sub-step: latencies resolve to about this.</summary>
    public const double SubStepSeconds = 0.5;

    private const double Tiny = 1e-9;

    /// <summary>Waiting cohorts kept apart before the backlog's tail starts merging.</summary>
    private const int MergeBeyond = 4096;

    private readonly int _subSteps;
    private readonly double _h;
    private readonly double _maxTtft, _maxTpot, _maxE2e, _maxWait, _timeout;
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

    // The ticks replayed so far (AdvanceTo goes on from here).
    private long _stepped;

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
        _maxWait = slo.HasMaxWait ? slo.MaxWaitSeconds : double.PositiveInfinity;
        _maxTtft = slo.MaxTtftSeconds ?? double.PositiveInfinity;
        _maxTpot = slo.MaxTpotSeconds ?? double.PositiveInfinity;
        _maxE2e = slo.MaxE2eSeconds ?? double.PositiveInfinity;
        _timeout = slo.ClientTimeoutSeconds ?? double.PositiveInfinity;
        _kvPerReplica = (double)_p.KvBlocks * _p.BlockTokens;
        _warmingLoss = 1 - (1 / _p.WarmupSlowdown);
        _log = workload.Requests;
        _ttft = new WeightedLatencyHistogram(companion: _intervalTtft);
    }

    private double Running => _prefillCount + _decodeCount;

    private double KvUsed => _prefillKv + _decodeKvBase + (_clock * _decodeCount);

    internal override void AdvanceTo(long tick)
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

        return Running + arrivals <= 0.5 * _ready * _p.MaxSequences && KvUsed + tokens <= 0.5 * _ready * _kvPerReplica;
    }

    /// <summary>The arrivals before <paramref name="end"/> (nanoseconds) join the waiting queue; <paramref name="first"/> in the tick's first step.</summary>
    private void Arrive(long end, bool first, double from)
    {
        if (_log is { } log)
        {
            // A request log's requests each their own cohort (their tokens differ), at their own arrival.
            while (_next < log.Arrivals.Length && log.Arrivals[_next] < end)
            {
                int input = log.Input[_next], output = log.Output[_next];
                _requests++;
                _arrivedInput += input;
                _arrivedOutput += output;
                _waiting.Push(new Cohort { Count = 1, Input = Math.Max(1, input), Output = Math.Max(1, output), Arrival = log.Arrivals[_next] / 1e9 });
                _waitingCount++;
                _next++;
            }

            return;
        }

        // Interval counts: the tick's requests (the i-th of n at t + floor(i * tick / n)) as one cohort at the tick's middle,
        // which none of them is admitted before.
        if (!first)
        {
            return;
        }

        if (_tickCount == 0)
        {
            return;
        }

        var cohort = TickArrivals(from);
        if (_waiting.Count >= MergeBeyond)
        {
            // A deep backlog merges ticks at its tail, each cohort spanning at most 1/1024 of the backlog's age (as the
            // count model's queue does): memory stays bounded whatever the backlog, waits within 0.1 %.
            ref var tail = ref _waiting.Tail;
            var (n, arrival) = (_tickCount, cohort.Arrival);
            if (arrival - tail.Since <= Math.Max(_tickSeconds, (arrival - _waiting.Head.Arrival) / 1024))
            {
                var total = tail.Count + n;
                tail.Input = ((tail.Input * tail.Count) + Math.Max(_tickInput, n)) / total;
                tail.Output = ((tail.Output * tail.Count) + Math.Max(_tickOutput, n)) / total;
                tail.Arrival = ((tail.Arrival * tail.Count) + (arrival * n)) / total;
                tail.Count = total;
                return;
            }
        }

        _waiting.Push(cohort);
    }

    /// <summary>
    /// The tick's requests of interval counts (at least one) arrive: counted, and returned as one cohort at the tick's
    /// middle (the i-th of n arrives at t + floor(i * tick / n); none is admitted before the middle) with their mean tokens.
    /// </summary>
    private Cohort TickArrivals(double from)
    {
        var (n, i, o) = (_tickCount, _tickInput, _tickOutput);
        _requests += n;
        _arrivedInput += (long)Math.Round(i);
        _arrivedOutput += (long)Math.Round(o);
        _waitingCount += n;
        var arrival = from + (_tickSeconds / 2);
        // A request's work is at least one prompt token and one output token (see ServingRun.RouteArrivalsAt); a tick's
        // shares differ by one at most, so flooring the mean floors each request's share.
        return new Cohort { Count = n, Input = Math.Max(1, i / n), Output = Math.Max(1, o / n), Arrival = arrival, Since = arrival };
    }

    private void Serve(double from, double to)
    {
        DropTimedOut(from);
        var warming = Warming(from);
        var serving = _ready + DrainingCount(from);
        Admit(from);
        ServeAdmitted(from, to, serving, warming);
    }

    /// <summary>
    /// The first sub-step of a tick of interval counts with nothing waiting: the tick's cohort arrives and, when the free
    /// sequences and KV cache take all of it, goes straight to prefill, as <see cref="Arrive"/> then <see cref="Serve"/>
    /// would have it, without passing through the waiting queue.
    /// </summary>
    private void ServeArriving(double from, double to)
    {
        if (_tickCount == 0)
        {
            Serve(from, to);
            return;
        }

        var cohort = TickArrivals(from);
        if (_ready == 0 || from - cohort.Arrival > _timeout)
        {
            _waiting.Push(cohort);
            Serve(from, to);
            return;
        }

        // Serve's steps, the timeouts aside: nothing else waits, and the cohort has only just arrived.
        var warming = Warming(from);
        var serving = _ready + DrainingCount(from);
        var slots = (_ready * (double)_p.MaxSequences) - Running;
        var kv = (_ready * _kvPerReplica) - KvUsed;
        if (slots > Tiny && kv > Tiny && Take(cohort, slots, kv) == cohort.Count)
        {
            AdmitShare(cohort, cohort.Count, from);
        }
        else
        {
            // Not all of it starts now: the general way, through the queue.
            _waiting.Push(cohort);
            Admit(from);
        }

        ServeAdmitted(from, to, serving, warming);
    }

    /// <summary>Serves from <paramref name="from"/> to <paramref name="to"/> with the admissions made.</summary>
    private void ServeAdmitted(double from, double to, double serving, int warming)
    {
        if (serving <= 0 || (_prefillCount <= Tiny && _decodeCount <= Tiny))
        {
            _kvTokenSeconds += KvUsed * (to - from);
            return;
        }

        // Replicas warming up run their steps warmupSlowdown times slower: they count as that fraction of one.
        var effective = serving - (warming * _warmingLoss);
        var decodePerReplica = _decodeCount / serving;
        var chunk = double.MaxNative(0, _p.MaxBatchedTokens - decodePerReplica);
        var decodeStep = _p.BaseSeconds + (_p.PerDecodeTokenSeconds * decodePerReplica);
        if (_p.PerDecodeContextTokenSeconds > 0)
        {
            // The KV cache the decoding sequences read, per replica: their prompts and the tokens generated so far.
            decodeStep += _p.PerDecodeContextTokenSeconds * (_decodeKvBase + (_clock * _decodeCount)) / serving;
        }

        var prefillStep = decodeStep + (_p.PerPrefillTokenSeconds * chunk);
        var rate = chunk > 0 ? effective * chunk / prefillStep : 0;
        var attention = _p.PerPrefillAttentionTokenSeconds;
        var prefillSteps = 0.0;

        // Prefill, first in, first out, each cohort from its admission, at the rate of steps carrying a full chunk.
        var cursor = from;
        var prefillTime = 0.0;
        while (rate > 0 && _prefill.Count > 0)
        {
            ref var c = ref _prefill.Head;
            var start = double.MaxNative(cursor, c.Admitted);
            if (start >= to)
            {
                break;
            }

            // A chunk of this cohort's prompts also attends to the context before it: on average half the prompt past the
            // first chunk ((input + chunk) / 2 tokens at the chunk's end), the whole prompt when it fits one chunk.
            var own = double.MinNative(c.Input, chunk);
            var cohortStep = attention > 0 ? prefillStep + (attention * chunk * 0.5 * (c.Input + own)) : prefillStep;
            var cohortRate = attention > 0 ? effective * chunk / cohortStep : rate;
            var left = c.Count * c.Input * (1 - c.Done);
            var can = (to - start) * cohortRate;
            if (left <= can)
            {
                // The rate spreads a step's fixed cost over a whole chunk; a prompt shorter than a chunk pays the rest of its
                // own step, and arrives on average half-way through a step already running.
                var latency = (decodeStep * (1 - (own / chunk))) + (0.5 * (decodeStep + (_p.PerPrefillTokenSeconds * own) + (attention * own * own)));
                prefillTime += left / cohortRate;
                prefillSteps += left / cohortRate / cohortStep;
                cursor = start + (left / cohortRate);

                // One request's prompt runs on one replica, at most a chunk a step, however many replicas the fleet has.
                var alone = c.Admitted + (c.Input * cohortStep / chunk * serving / effective);
                FirstToken(c, double.MaxNative(cursor, alone) + (latency * serving / effective));
                _prefill.Pop();
            }
            else
            {
                c.Done += can / (c.Count * c.Input);
                prefillTime += to - start;
                prefillSteps += (to - start) / cohortStep;
                cursor = to;
                break;
            }
        }

        // Decode: one token a step for every decoding sequence; steps carry the prefill chunks first.
        var steps = (attention > 0 ? prefillSteps : prefillTime / prefillStep) + (_decodeCount > Tiny ? double.MaxNative(0, (to - from - prefillTime) / decodeStep) : 0);
        steps *= effective / serving;
        var clockBefore = _clock;
        _clock += steps;
        while (_decode.Count > 0 && _decode.PeekFinish <= _clock + Tiny)
        {
            ref var c = ref _decode.Pop();
            var end = steps > 0 ? from + ((to - from) * Math.Clamp((c.Finish - clockBefore) / steps, 0, 1)) : to;
            Finished(c, double.MaxNative(end, c.FirstToken));
        }

        // Cohorts whose prompt completed in this sub-step decode from their first token: the steps the clock made after it
        // count for them (the clock runs evenly through the sub-step). Starting them at the next sub-step instead delayed
        // their second token by up to a sub-step, which a short output turned into a time per token of tenths of seconds
        // on an idle fleet.
        var stepsPerSecond = steps > 0 ? steps / (to - from) : 0;
        var staged = _decode.StagedCount;
        for (var i = 0; i < staged; i++)
        {
            ref var c = ref _decode.Staged(i);
            var entered = double.MaxNative(clockBefore, _clock - (double.MaxNative(0, to - c.FirstToken) * stepsPerSecond));
            c.Entered = entered;
            c.Finish = entered + double.MaxNative(0, c.Output - 1);
            _decodeKvBase += c.Count * (c.Input + 1 - entered);
        }

        _decode.CommitStaged();
        while (staged > 0 && _decode.Count > 0 && _decode.PeekFinish <= _clock + Tiny)
        {
            // A short output that is done within the sub-step it began decoding in.
            ref var c = ref _decode.Pop();
            var end = steps > 0 ? from + ((to - from) * Math.Clamp((c.Finish - clockBefore) / steps, 0, 1)) : to;
            Finished(c, double.MaxNative(end, c.FirstToken));
        }
        var busy = double.MinNative(serving, Running + _waitingCount);
        _busySeconds += busy * (to - from);
        _kvTokenSeconds += KvUsed * (to - from);
    }

    private void FirstToken(in Cohort c, double at)
    {
        var ttft = at - c.Arrival + _p.PerOutputTokenOverheadSeconds;
        _ttft.Add(ttft, c.Count);
        _prefillCount -= c.Count;
        _prefillKv -= c.Count * c.Input;
        _decodeCount += c.Count;
        if (c.Output <= 1 + Tiny)
        {
            // One output token: the prompt's step yields it and the request is done.
            _decodeKvBase += c.Count * (c.Input + 1 - _clock);
            Finished(c with { FirstToken = at, Entered = _clock }, at);
            return;
        }

        ref var decoding = ref _decode.Stage();
        decoding = c;
        decoding.FirstToken = at;
    }

    private void Finished(in Cohort c, double end)
    {
        _decodeCount -= c.Count;
        _decodeKvBase -= c.Count * (c.Input + 1 - c.Entered);
        // As the client sees it: each output token one overhead after the one before.
        var outputOverhead = _p.PerOutputTokenOverheadSeconds;
        var e2e = end - c.Arrival + (outputOverhead * double.MaxNative(1, c.Output));
        var ttft = c.FirstToken - c.Arrival + outputOverhead;
        _e2e.Add(e2e, c.Count);
        var violated = ttft > _maxTtft || e2e > _maxE2e;
        if (c.Output > 1 + Tiny)
        {
            var tpot = (end - c.FirstToken) / (c.Output - 1) + outputOverhead;
            _tpot.Add(tpot, c.Count);
            violated |= tpot > _maxTpot;
        }

        var counted = c.Count * (1 - c.LateShare);
        if (violated)
        {
            _late += counted;
            _violations += counted;
        }
        else
        {
            _good += counted;
        }

        _done += c.Count;
        _servedInput += c.Count * c.Input;
        _servedOutput += c.Count * c.Output;
    }

    /// <summary>Admits the head of the queue while the ready replicas have sequences and KV cache free.</summary>
    private void Admit(double now)
    {
        if (_ready == 0)
        {
            return;
        }

        var slots = (_ready * (double)_p.MaxSequences) - Running;
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
        if (_p.WarmupSeconds > 0 && _p.WarmupSlowdown > 1)
        {
            for (var i = 0; i < count; i++)
            {
                _warmingUntil.Enqueue(now + _p.WarmupSeconds);
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
            at.TtftP50Nanos = LatencyHistogram.UpperEdgeWholeNanos(p50 < 0 ? _intervalTtft.HighestBucket : p50);
            at.TtftP95Nanos = LatencyHistogram.UpperEdgeWholeNanos(p95 < 0 ? _intervalTtft.HighestBucket : p95);
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
        var drain = Math.Min(Math.Min(_p.DrainTimeoutSeconds, remaining), maxDrain);
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

    internal override CandidateResult Complete()
    {
        Completing();
        var horizon = _w.Ticks;
        var end = horizon * _tickSeconds;
        var limit = end + _settings.DrainSeconds;

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

        var loadMetrics = new Dictionary<string, double>(StringComparer.Ordinal);
        var holdDollars = _loads.Finish(horizon, loadMetrics);
        var billed = _replicaSeconds + _drainBilledSeconds;
        _requestsLost = (long)Math.Round(_lostShare);
        _requestsRetried = (long)Math.Round(_retriedShare);
        var cluster = ClusterMetrics(horizon + drainTicks);
        var dollars = Dollars(cluster, billed, _fleet, _settings, holdDollars);
        var span = horizon * _tickSeconds;
        var dropped = (long)Math.Round(_dropped);
        var late = Math.Min((long)Math.Round(_late), _requests - dropped);
        FoldAdmittedAtOnce();
        var serving = new ServingTotals(_ttft, _tpot, _e2e, span, _good, _servedInput, _servedOutput,
            _readySeconds > 0 ? Math.Clamp(_kvTokenSeconds / (_kvPerReplica * _readySeconds), 0, 1) : 0, dollars, NominalCapacity, 0, _w.MeanInputTokens, _w.MeanOutputTokens).Metrics();
        return new RunOutcome
        {
            Requests = _requests,
            Served = _requests - dropped,
            Late = late,
            Dropped = dropped,
            QueuedAtEnd = 0,
            WaitP50Seconds = _wait.PercentileSeconds(50),
            WaitP95Seconds = _wait.PercentileSeconds(95),
            WaitP99Seconds = _wait.PercentileSeconds(99),
            WaitMaxSeconds = _wait.PercentileSeconds(100),
            BilledSeconds = billed,
            IdleSeconds = Math.Max(0, _readySeconds - _busySeconds),
            LoadingSeconds = _loadingSeconds,
            HoldDollars = holdDollars,
            LoadMetrics = loadMetrics,
            ColdStarts = _coldStarts,
            PeakReplicas = _peak,
            EndReplicas = _ready,
            Start = _w.Start,
            Ticks = horizon,
            Warnings = Warnings(drainTicks),
            Serving = serving,
            Cluster = cluster,
        }.Result(_spec, _settings, _slo, _fleet, _record, _timeline);
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
        if (_dropped >= 0.5 && drainTicks * _tickSeconds >= _settings.DrainSeconds)
        {
            yield return $"requests were still waiting or running engine.drainSeconds ({_settings.DrainSeconds.ToString("0.###", ci)} s) after the trace ended and were dropped";
        }
    }

    /// <summary>
    /// A share of the requests that arrived together, with their mean tokens. The fields of one phase share the bytes of
    /// another's (waiting: <see cref="Since"/>; in prefill: <see cref="Admitted"/>, <see cref="Done"/>; decoding:
    /// <see cref="FirstToken"/>, <see cref="Entered"/>, <see cref="Finish"/>): a cohort is 64 bytes, and a phase's field
    /// is written when the cohort enters the phase.
    /// </summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit)]
    internal struct Cohort
    {
        [System.Runtime.InteropServices.FieldOffset(0)]
        public double Count;

        [System.Runtime.InteropServices.FieldOffset(8)]
        public double Input;

        [System.Runtime.InteropServices.FieldOffset(16)]
        public double Output;

        [System.Runtime.InteropServices.FieldOffset(24)]
        public double Arrival;

        [System.Runtime.InteropServices.FieldOffset(32)]
        public double LateShare;

        /// <summary>While waiting: the arrival of the earliest tick merged into the cohort.</summary>
        [System.Runtime.InteropServices.FieldOffset(40)]
        public double Since;

        /// <summary>In prefill: when it was admitted.</summary>
        [System.Runtime.InteropServices.FieldOffset(40)]
        public double Admitted;

        /// <summary>Decoding: when its first token came.</summary>
        [System.Runtime.InteropServices.FieldOffset(40)]
        public double FirstToken;

        /// <summary>In prefill: the fraction of the prompt prefilled so far (0 while waiting).</summary>
        [System.Runtime.InteropServices.FieldOffset(48)]
        public double Done;

        /// <summary>Decoding: the decode clock (tokens per sequence since the start) when the cohort began decoding.</summary>
        [System.Runtime.InteropServices.FieldOffset(48)]
        public double Entered;

        /// <summary>Decoding: the decode clock at which it ends.</summary>
        [System.Runtime.InteropServices.FieldOffset(56)]
        public double Finish;
    }

    /// <summary>A first-in, first-out ring of cohorts; grows, never shrinks.</summary>
    private sealed class CohortQueue
    {
        private Cohort[] _items = new Cohort[64];
        private int _head;

        public int Count { get; private set; }

        public ref Cohort Head => ref _items[_head];

        public ref Cohort Tail => ref _items[(_head + Count - 1) & (_items.Length - 1)];

        /// <summary>The <paramref name="i"/>-th cohort from the head.</summary>
        public ref Cohort At(int i) => ref _items[(_head + i) & (_items.Length - 1)];

        public void Push(in Cohort c) => PushSlot() = c;

        /// <summary>Appends a slot at the tail for the caller to fill; the reference stays valid until the next push.</summary>
        public ref Cohort PushSlot()
        {
            if (Count == _items.Length)
            {
                var grown = new Cohort[_items.Length * 2];
                for (var i = 0; i < Count; i++)
                {
                    grown[i] = _items[(_head + i) & (_items.Length - 1)];
                }

                _items = grown;
                _head = 0;
            }

            ref var slot = ref _items[(_head + Count) & (_items.Length - 1)];
            Count++;
            return ref slot;
        }

        /// <summary>Removes the head; the reference stays valid until the next <see cref="Push"/>.</summary>
        public ref Cohort Pop()
        {
            ref var c = ref _items[_head];
            _head = (_head + 1) & (_items.Length - 1);
            Count--;
            return ref c;
        }
    }

    /// <summary>
    /// Decoding cohorts in the order they finish: by the decode clock at which they end, and among equal ends in the order
    /// they began decoding (so any arrangement of them leaves in one order). Entries (end, order, slot) over a pool of
    /// cohorts, so a move is 24 bytes, not a cohort. While few are in flight they are a sorted run: a new one goes in from
    /// the back (interval counts' cohorts mostly end after those before them) and the earliest leaves from the front. Past
    /// <see cref="ToHeapAbove"/> the run becomes a binary heap (a sorted run is one already), and below
    /// <see cref="ToSortedBelow"/> a sorted run again, so many requests of a log in flight cost a logarithm, not a shift.
    /// </summary>
    internal sealed class DecodeQueue
    {
        private const int ToHeapAbove = 64;
        private const int ToSortedBelow = 16;

        private Entry[] _entries = new Entry[128];
        private int _first;
        private bool _heap;
        private long _order;
        private Cohort[] _pool = new Cohort[64];
        private int[] _free = [];
        private int _freeCount;
        private int[] _staged = new int[16];
        private int _stagedCount;
        private int _used;

        public int Count { get; private set; }

        public double PeekFinish => _entries[_first].Finish;

        /// <summary>The cohort at position <paramref name="i"/> (any order; its finish must not change).</summary>
        public ref Cohort At(int i) => ref _pool[_entries[_first + i].Slot];

        /// <summary>The latest finish in flight, or 0 when it is earlier (or none is).</summary>
        public double MaxFinish
        {
            get
            {
                if (!_heap)
                {
                    return Count > 0 ? Math.Max(0, _entries[_first + Count - 1].Finish) : 0;
                }

                // A leaf of the heap holds it.
                var max = 0.0;
                for (var i = Count / 2; i < Count; i++)
                {
                    max = Math.Max(max, _entries[i].Finish);
                }

                return max;
            }
        }

        /// <summary>Cohorts staged to join at the next <see cref="CommitStaged"/>.</summary>
        public int StagedCount => _stagedCount;

        /// <summary>The <paramref name="i"/>-th staged cohort, in the order staged.</summary>
        public ref Cohort Staged(int i) => ref _pool[_staged[i]];

        /// <summary>
        /// A pool slot for a cohort that joins at the next <see cref="CommitStaged"/> (its finish set by then); the reference
        /// stays valid until the next stage.
        /// </summary>
        public ref Cohort Stage()
        {
            int slot;
            if (_freeCount > 0)
            {
                slot = _free[--_freeCount];
            }
            else
            {
                if (_used == _pool.Length)
                {
                    Array.Resize(ref _pool, _pool.Length * 2);
                }

                slot = _used++;
            }

            if (_stagedCount == _staged.Length)
            {
                Array.Resize(ref _staged, _staged.Length * 2);
            }

            _staged[_stagedCount++] = slot;
            return ref _pool[slot];
        }

        /// <summary>The staged cohorts join, in the order staged.</summary>
        public void CommitStaged()
        {
            for (var k = 0; k < _stagedCount; k++)
            {
                var slot = _staged[k];
                Insert(_pool[slot].Finish, _order++, slot);
            }

            _stagedCount = 0;
        }

        private void Insert(double finish, long order, int slot)
        {
            if (_first + Count == _entries.Length)
            {
                if (_first > 0)
                {
                    Array.Copy(_entries, _first, _entries, 0, Count);
                    _first = 0;
                }
                else
                {
                    Array.Resize(ref _entries, _entries.Length * 2);
                }
            }

            var entries = _entries;
            var i = _first + Count;
            Count++;
            if (!_heap)
            {
                // The newest of equal ends leaves last: it goes behind every end not later than its own.
                while (i > _first && finish < entries[i - 1].Finish)
                {
                    entries[i] = entries[i - 1];
                    i--;
                }

                entries[i].Set(finish, order, slot);
                if (Count > ToHeapAbove)
                {
                    // A sorted run from index 0 is a heap as it stands.
                    Array.Copy(entries, _first, entries, 0, Count);
                    _first = 0;
                    _heap = true;
                }

                return;
            }

            while (i > 0)
            {
                var parent = (i - 1) / 2;
                if (!Before(finish, order, entries[parent]))
                {
                    break;
                }

                entries[i] = entries[parent];
                i = parent;
            }

            entries[i].Set(finish, order, slot);
        }

        /// <summary>Removes the earliest finish; the reference stays valid until the next <see cref="Stage"/>.</summary>
        public ref Cohort Pop()
        {
            var entries = _entries;
            int slot;
            if (!_heap)
            {
                slot = entries[_first].Slot;
                Count--;
                _first = Count == 0 ? 0 : _first + 1;
            }
            else
            {
                slot = entries[0].Slot;
                var count = --Count;
                var last = entries[count];
                var i = 0;
                while (true)
                {
                    var child = (2 * i) + 1;
                    if (child >= count)
                    {
                        break;
                    }

                    if (child + 1 < count && Before(entries[child + 1], entries[child]))
                    {
                        child++;
                    }

                    if (!Before(entries[child], last))
                    {
                        break;
                    }

                    entries[i] = entries[child];
                    i = child;
                }

                if (count > 0)
                {
                    entries[i] = last;
                }

                if (count < ToSortedBelow)
                {
                    // Few left: a sorted run again (insertion sort; ends with their order are all distinct).
                    for (var k = 1; k < count; k++)
                    {
                        var e = entries[k];
                        var j = k;
                        while (j > 0 && Before(e, entries[j - 1]))
                        {
                            entries[j] = entries[j - 1];
                            j--;
                        }

                        entries[j] = e;
                    }

                    _heap = false;
                }
            }

            if (_freeCount == _free.Length)
            {
                Array.Resize(ref _free, Math.Max(64, _free.Length * 2));
            }

            _free[_freeCount++] = slot;
            return ref _pool[slot];
        }

        private static bool Before(in Entry a, in Entry b) => Before(a.Finish, a.Order, b);

        /// <summary>Whether an entry (<paramref name="finish"/>, <paramref name="order"/>) leaves before <paramref name="b"/>.</summary>
        private static bool Before(double finish, long order, in Entry b) => finish < b.Finish || (finish == b.Finish && order < b.Order);

        /// <summary>A decoding cohort's place: its end on the decode clock, the order it began decoding, its pool slot (written in place).</summary>
        private struct Entry
        {
            public double Finish;
            public long Order;
            public int Slot;

            public void Set(double finish, long order, int slot) => (Finish, Order, Slot) = (finish, order, slot);
        }
    }
}
