using System.Runtime.CompilerServices;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;

namespace Autoscale.Backtesting.Serving;

/// <summary>Fluid replay: each tick's arrivals as a cohort, prefill and decode served at the fleet's step rate, first tokens and finishes.</summary>
internal sealed partial class FluidRun
{
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
                var cached = CachedTokens(_next);
                _waiting.Push(new Cohort { Count = 1, Input = Math.Max(1, input), Output = Math.Max(1, output), Arrival = log.Arrivals[_next] / 1e9, Compute = Math.Max(1, input) - cached });
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
                tail.Compute = tail.Input;
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
        return new Cohort { Count = n, Input = Math.Max(1, i / n), Output = Math.Max(1, o / n), Arrival = arrival, Since = arrival, Compute = Math.Max(1, i / n) };
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
        var slots = (_ready * (double)_maxRunning) - Running;
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

        var (prefillTime, prefillSteps) = Prefill(from, to, serving, effective, chunk, decodeStep, prefillStep, rate);

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

        StartDecoding(from, to, steps, clockBefore);
        var busy = double.MinNative(serving, Running + _waitingCount);
        _busySeconds += busy * (to - from);
        _kvTokenSeconds += KvUsed * (to - from);
    }

    /// <summary>
    /// Prefill over [<paramref name="from"/>, <paramref name="to"/>): the cohorts admitted, first in, first out, each from its
    /// admission, at the rate of steps carrying a full chunk; a cohort whose prompts complete has its first token. The
    /// seconds and steps the prefill took.
    /// </summary>
    private (double Time, double Steps) Prefill(double from, double to, double serving, double effective, double chunk, double decodeStep, double prefillStep, double rate)
    {
        var attention = _p.PerPrefillAttentionTokenSeconds;
        var prefillSteps = 0.0;
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
            var own = double.MinNative(c.Compute, chunk);
            var cohortStep = attention > 0 ? prefillStep + (attention * chunk * 0.5 * (c.Input + own)) : prefillStep;
            var cohortRate = attention > 0 ? effective * chunk / cohortStep : rate;
            var left = c.Count * c.Compute * (1 - c.Done);
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
                var alone = c.Admitted + (c.Compute * cohortStep / chunk * serving / effective);
                FirstToken(c, double.MaxNative(cursor, alone) + (latency * serving / effective));
                _prefill.Pop();
            }
            else
            {
                c.Done += can / (c.Count * c.Compute);
                prefillTime += to - start;
                prefillSteps += (to - start) / cohortStep;
                cursor = to;
                break;
            }
        }

        return (prefillTime, prefillSteps);
    }

    /// <summary>
    /// Cohorts whose prompt completed in this sub-step decode from their first token: the steps the clock made after it
    /// count for them (the clock runs evenly through the sub-step). Starting them at the next sub-step instead delayed
    /// their second token by up to a sub-step, which a short output turned into a time per token of tenths of seconds on
    /// an idle fleet. A short output done within the sub-step leaves in it.
    /// </summary>
    private void StartDecoding(double from, double to, double steps, double clockBefore)
    {
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
}
