using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;

namespace Autoscale.Backtesting.Serving;

/// <summary>Request-level replay: a step formed as vLLM's scheduler forms it, runs of identical decode steps, and KV blocks.</summary>
internal sealed partial class ServingRun
{
    /// <summary>Forms and starts one step at <paramref name="now"/> (docs/serving.md, "The model of one replica").</summary>
    private void FormStep(Replica replica, long now)
    {
        if (replica.Draining && now >= replica.DrainDeadline && replica.RunCount > 0)
        {
            EndDrain(replica, now);
        }

        var d = new StepDraft { Budget = _p.MaxBatchedTokens };
        ScheduleRunning(replica, ref d);
        Admit(replica, now, ref d);
        StartStep(replica, now, ref d);
    }

    /// <summary>What a step being formed holds so far: its token budget left, the tokens and context it runs, and what happened.</summary>
    private struct StepDraft
    {
        public long Budget;
        public long Prefill;
        public long Decode;
        public double Attention;
        public double Context;
        public bool Preempted;
        public int Admitted;
    }

    /// <summary>A draining replica past its deadline: its running requests go back to the gateway (a lost node's, to be retried) or are dropped.</summary>
    private void EndDrain(Replica replica, long now)
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

    /// <summary>Phase 1: the running requests, in admission order, each take a prefill chunk or a decode token and the KV blocks for it; when blocks cannot be had the newest is preempted.</summary>
    private void ScheduleRunning(Replica replica, ref StepDraft d)
    {
        var i = 0;
        while (i < replica.RunCount)
        {
            if (d.Budget <= 0)
            {
                break;
            }

            var r = replica.Running[i];
            if (_progress[r] < _target[r])
            {
                var chunk = (int)Math.Min(_target[r] - _progress[r], d.Budget);
                if (!Allocate(replica, r, _progress[r] + chunk, ref d.Preempted))
                {
                    break;
                }

                _scheduled[r] = chunk;
                d.Budget -= chunk;
                d.Prefill += chunk;
                d.Attention += (double)chunk * (_progress[r] + chunk);
            }
            else
            {
                if (!Allocate(replica, r, _progress[r] + 1, ref d.Preempted))
                {
                    break;
                }

                _scheduled[r] = 1;
                d.Budget--;
                d.Decode++;
                d.Context += _progress[r];
            }

            i++;
        }
    }

    /// <summary>Phase 2, admission: while fewer than the most a replica runs are running and budget is left, the head of the queue (the replica's own, then with a shared queue the gateway's) comes in if its blocks fit.</summary>
    private void Admit(Replica replica, long now, ref StepDraft d)
    {
        while (replica.RunCount < _maxRunning && d.Budget > 0 && !d.Preempted)
        {
            var fromGateway = replica.Queue.Count == 0;
            if (fromGateway && (_p.Routing != ServingRouting.SharedQueue || replica.Draining || _gateway.Count == 0))
            {
                break;
            }

            var queue = fromGateway ? _gateway : replica.Queue;
            var r = queue.PeekFront();
            if (!Admitted(r) && now - _origin[r] > _timeout)
            {
                queue.PopFront();
                _waiting--;
                Drop(r, now);
                continue;
            }

            if (_progress[r] >= _target[r] && _role == ServingPool.Decode)
            {
                // A decode pool's request came with its KV cache: the blocks for it and its first token, which this step decodes.
                var blocks = BlocksFor(_progress[r] + 1) - _blocks[r];
                if (blocks > _blocksPerReplica - replica.UsedBlocks)
                {
                    break;
                }

                queue.PopFront();
                Grow(replica, r, blocks, _progress[r] + 1);
                AdmitRunning(replica, r, now, ref d);
                _scheduled[r] = 1;
                d.Budget--;
                d.Decode++;
                d.Context += _progress[r];
                continue;
            }

            // With prefix caching, a request holding no blocks starts after the leading prompt blocks the replica has.
            var (hits, fromFree) = replica.Cache is not null && _blocks[r] == 0 ? FindCached(replica, r) : (0, 0);
            var start = Math.Max(_progress[r], hits * _p.BlockTokens);
            var chunk = (int)Math.Min(_target[r] - start, d.Budget);
            var need = BlocksFor(start + chunk) - _blocks[r] - hits;
            if (need + fromFree > _blocksPerReplica - replica.UsedBlocks)
            {
                break;
            }

            queue.PopFront();
            if (replica.Cache is not null && _blocks[r] == 0)
            {
                ClaimCached(replica, r, hits);
            }

            Grow(replica, r, need, start + chunk);
            AdmitRunning(replica, r, now, ref d);
            _scheduled[r] = chunk;
            d.Budget -= chunk;
            d.Prefill += chunk;
            d.Attention += (double)chunk * (_progress[r] + chunk);
        }
    }

    /// <summary>Request <paramref name="r"/>, taken from its queue with its blocks, joins the replica's running requests; its first admission ends its wait.</summary>
    private void AdmitRunning(Replica replica, int r, long now, ref StepDraft d)
    {
        _waiting--;
        _running++;
        replica.Running[replica.RunCount++] = r;
        d.Admitted++;
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
            if (wait > _maxWait && !WaitViolated(r))
            {
                _flags[r] |= LateStart;
                _late++;
                _tickViolations++;
            }
        }
    }

    /// <summary>Starts the step formed: its duration from the step model, a run of identical decode steps advanced together, or one step executed.</summary>
    private void StartStep(Replica replica, long now, ref StepDraft d)
    {
        if (d.Prefill == 0 && d.Decode == 0 && !HasWork(replica))
        {
            // Nothing to run (only requests past their timeout were found). With work but nothing scheduled (every
            // running request preempted), a step of the base time passes, as in BLIS, so the queue moves on.
            if (replica.Draining && replica.Queue.Count == 0)
            {
                Retire(replica, Math.Max(now, replica.BusyUntil));
            }

            return;
        }

        var nanos = _baseNanos + (_prefillNanos * d.Prefill) + (_decodeNanos * d.Decode);
        if (_contextTerms)
        {
            nanos += (_attentionNanos * d.Attention) + (_contextNanos * d.Context);
        }

        if (now < replica.WarmupEnd)
        {
            nanos *= _p.WarmupSlowdown;
        }

        var duration = Math.Max(1L, (long)Math.Ceiling(nanos - 1e-6));
        if (d.Prefill == 0 && d.Admitted == 0 && !d.Preempted && d.Decode == replica.RunCount && d.Decode > 0
            && _p.Routing != ServingRouting.SharedQueue && !replica.Draining && now >= replica.WarmupEnd
            && IdenticalSteps(replica) is var steps && steps >= 2)
        {
            // The same decode step, again and again, until a request crosses a KV block boundary or is one step from
            // done: advanced together, settled when the batch ends or something reaches the replica (Split).
            replica.BatchStart = now;
            replica.BatchStep = duration;
            replica.BatchNanos = nanos;
            replica.BatchIncrement = _contextNanos * d.Decode; // every decoding sequence's context grows by one a step
            replica.BatchSteps = steps;
            replica.StepEnd = now + BatchSpan(replica, steps);
            replica.BusyUntil = replica.StepEnd;
            _heap.Push(replica);
            return;
        }

        var end = now + duration;
        _busyNanos += duration;
        _stepStart = now;
        _decodedTokens += d.Decode;
        _itlNanosSum += (double)duration * d.Decode;
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
        _decodedTokens += steps * replica.RunCount;
        _itlNanosSum += (double)nanos * replica.RunCount;
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
            Free(replica, victim, preempted: true);
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

        Grow(replica, r, need, tokens);
        return true;
    }
}
