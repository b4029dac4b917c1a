using System.Runtime.CompilerServices;
using NodaTime;

namespace Autoscale.Backtesting.Engine;

/// <summary>
/// When a replay's policy decides and what it observes, for every engine (count, request by request, fluid): a decision
/// every <c>every</c> ticks from tick 0, each observing the signals of the tick <c>delay</c> before it, and the interval's
/// counts as the difference from the observation one interval earlier. An engine keeps its signals only at the ticks
/// a decision observes, in a ring of <see cref="HistoryLength"/> slots this cadence hands out.
/// </summary>
/// <remarks>
/// A mutable value held in a field of its run and called on in place; per tick it counts down, never divides. Its
/// settings are checked once, by <see cref="CandidateSpec.CadenceErrors"/>, before a run is built.
/// </remarks>
internal struct DecisionCadence
{
    private readonly int _every;
    private readonly int _delay;
    private readonly int _mask;
    private readonly Duration _interval;
    private readonly InstantStep _step;
    private long _untilObserved;
    private long _observedKey;
    private int _untilDecision;
    private long _decisions;
    private Instant _next;
    private Instant _now;

    /// <summary>A cadence of a decision every <paramref name="every"/> ticks of <paramref name="tick"/>, observing <paramref name="delay"/> ticks back, from <paramref name="start"/>.</summary>
    public DecisionCadence(int every, int delay, Duration tick, Instant start)
    {
        _every = every;
        _delay = delay;
        _interval = tick * every;
        _step = new InstantStep(_interval);
        _mask = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(delay / every + 2)) - 1;

        // The first observed tick: the least t >= 0 with t + delay a multiple of the interval; its key is (t + delay) / every.
        var first = (every - delay % every) % every;
        _untilObserved = first + 1;
        _observedKey = (first + delay) / every;
        _next = start;
    }

    /// <summary>Time between decisions.</summary>
    public readonly Duration Interval => _interval;

    /// <summary>Slots the history ring needs: the observations of the decisions still to come, and one before.</summary>
    public readonly int HistoryLength => _mask + 1;

    /// <summary>Decisions taken so far.</summary>
    public readonly long Decisions => _decisions;

    /// <summary>
    /// Called once per tick, in order, before <see cref="DecisionDue"/>: the history slot in which to keep this tick's
    /// signals, or -1 when no decision observes them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ObservedSlot()
    {
        if (--_untilObserved > 0)
        {
            return -1;
        }

        _untilObserved = _every;
        return (int)(_observedKey++ & _mask);
    }

    /// <summary>Called once per tick, in order: whether the policy decides at this tick.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool DecisionDue()
    {
        if (_untilDecision != 0)
        {
            _untilDecision--;
            return false;
        }

        _untilDecision = _every - 1;
        return true;
    }

    /// <summary>The instant of the decision begun last (by <see cref="Begin"/>).</summary>
    public readonly Instant Now => _now;

    /// <summary>
    /// Begins the decision at tick <paramref name="t"/> (its instant is then <see cref="Now"/>): the slot of the tick it
    /// observes, and in <paramref name="from"/> the slot one interval before that (-1 for each that falls before tick 0,
    /// whose cumulative counts were zero).
    /// </summary>
    /// <remarks>
    /// The instant stays in a field rather than coming back with the slots: returned, the 16-byte value went through
    /// registers and the stack several times per decision, and that showed in the count replay's profile.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Begin(long t, out int from)
    {
        System.Diagnostics.Debug.Assert(_decisions * _every == t, "decisions come every interval from tick 0");
        var observed = t - _delay;
        var key = _decisions++;
        _now = _next;
        _step.Advance(ref _next);
        if (observed < 0)
        {
            from = -1;
            return -1;
        }

        from = observed - _every >= 0 ? (int)((key - 1) & _mask) : -1;
        return (int)(key & _mask);
    }

    /// <summary>
    /// Asks <paramref name="policy"/> with <paramref name="signal"/> at tick <paramref name="t"/>: the decision recorded,
    /// its count clamped to <c>[0, maxReplicas]</c> and counted as a scale action when it changes the fleet.
    /// </summary>
    /// <exception cref="Exception">Whatever the policy throws, unchanged (the backtest marks the candidate failed).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Ask(IScalingPolicy policy, in ScalingSignal signal, long t, DecisionRecord record, FleetLedger fleet, out ScalingDecision decision)
    {
        decision = policy.Decide(in signal);
        record.Decided(t, decision);
        var desired = Math.Clamp(decision.DesiredReplicas, 0, Math.Max(0, signal.MaxReplicas));
        fleet.Decided(t, signal.CurrentReplicas, desired);
        return desired;
    }
}
