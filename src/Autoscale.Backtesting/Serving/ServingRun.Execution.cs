using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;

namespace Autoscale.Backtesting.Serving;

/// <summary>Request-level replay: steps due, executed, and requests finished, freed or dropped.</summary>
internal sealed partial class ServingRun
{
    private void FormPending(long at)
    {
        while (_toForm.Count > 0)
        {
            if (_toForm.Count > 1)
            {
                _toForm.Sort(ByIndex.Instance);
            }

            var roomMade = false;
            for (var i = 0; i < _toForm.Count; i++)
            {
                var replica = _toForm[i];
                replica.PendingForm = false;
                if (replica.StepEnd == Idle && !replica.Gone)
                {
                    Form(replica, at);
                    roomMade |= _requestCap > 0 && !replica.Draining && HasRoom(replica);
                }
            }

            _toForm.Clear();
            if (!roomMade || _gateway.Count == 0)
            {
                return;
            }

            // Requests held at the router for want of room go to the replicas whose finished requests made it; an idle one
            // forms its step at once.
            RouteGateway(at);
        }
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
                            FirstToken(r, end);
                        }
                    }
                }
                else
                {
                    _progress[r]++;
                    if (_generated[r]++ == 0 && _firstToken[r] < 0)
                    {
                        // A decode pool's request: its first token comes from its first decode step.
                        FirstToken(r, end);
                    }
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

    private void FirstToken(int r, long end)
    {
        _firstToken[r] = end;
        var ttft = end - _origin[r] + _outputNanos;
        _ttft.Add(ttft);
        _intervalTtft.Add(ttft);
        _firstTokens++;
        _ttftNanosSum += ttft;
    }

    private void Done(Replica replica, int r, long end)
    {
        if (_p.OverlapLastStep && replica.Cache is not null)
        {
            // BLIS b563c440 gives a finishing request a KV slot for its last token too (a block when that token starts
            // one, taken from the free queue's head when one is free), then frees it with the rest: with prefix caching
            // that can evict a cached block, and it moves the block to the tail.
            var need = BlocksFor((long)_input[r] + Math.Max(1, _output[r])) - _blocks[r];
            if (need > 0 && need <= _blocksPerReplica - replica.UsedBlocks)
            {
                Grow(replica, r, need, _input[r] + Math.Max(1, _output[r]));
            }
        }

        Free(replica, r);
        _running--;
        if (_role == ServingPool.Prefill)
        {
            // The KV cache moves to the decode pool once the prefill's step ends (BLIS b563c440 starts the transfer when
            // that step starts, which overlapLastStep reproduces).
            _handoffs!.Send(_p.OverlapLastStep ? _stepStart : end, _ordinal[r], _input[r], _carried[r], _origin[r], WaitViolated(r));
        }
        else if (_role == ServingPool.Decode && _p.OverlapLastStep)
        {
            // BLIS b563c440 marks a disaggregated request complete when its last decode step starts.
            end = _stepStart;
        }

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
        var arrival = _origin[r];
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

    /// <summary>Request <paramref name="r"/> lets go of its KV blocks; a <paramref name="preempted"/> one keeps its own prompt blocks findable for when it is admitted again.</summary>
    private void Free(Replica replica, int r, bool preempted = false)
    {
        AddUsed(replica, -ReleaseCached(replica, r, preempted));
        _blocks[r] = 0;
        if (_keys is not null)
        {
            _keyedTo[r] = 0;
        }
    }

    /// <summary>Drops request <paramref name="r"/> at <paramref name="now"/>: one never admitted waited until then, and that wait counts (as in the count replay).</summary>
    private void Drop(int r, long now)
    {
        if (!Admitted(r))
        {
            _wait.Add(Math.Max(0, now - _arrival[r]));
        }

        if (_role == ServingPool.Prefill)
        {
            _handoffs!.Dropped(now, _ordinal[r], _input[r], _carried[r], _origin[r]);
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
}
