namespace Autoscale.Backtesting.Engine;

/// <summary>
/// SLO risk over time: violations and completions per minute and per hour of the trace, the worst
/// minute and hour, the minutes in breach (their on-time share below the target) and the longest
/// streak of them. Completions count when a request is served or dropped.
/// </summary>
/// <remarks>Not thread-safe; owned by one run. Nothing is allocated per tick.</remarks>
internal sealed class SloLedger
{
    private const long NanosPerMinute = 60_000_000_000L;

    private readonly long _tickNanos;
    private readonly double _allowedViolationShare;
    private long _minute;
    private long _nextMinuteTick;
    private long _minuteDone;
    private long _minuteViolations;
    private long _hourViolations;
    private long _streak;

    public SloLedger(long tickNanos, double targetPercent)
    {
        _tickNanos = tickNanos;
        _allowedViolationShare = (100 - targetPercent) / 100;
        _nextMinuteTick = StartTickOfMinute(1);
        WorstMinuteViolations = -1;
        WorstHourViolations = -1;
    }

    public long WorstMinuteViolations { get; private set; }

    public long WorstMinute { get; private set; }

    public long WorstHourViolations { get; private set; }

    public long WorstHour { get; private set; }

    public long BreachMinutes { get; private set; }

    public long LongestBreachMinutes { get; private set; }

    public long Minutes { get; private set; }

    /// <summary>Moves the ledger to <paramref name="tick"/>, closing the minutes that ended before it.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Advance(long tick)
    {
        if (tick >= _nextMinuteTick)
        {
            CloseMinutesBefore(tick);
        }
    }

    private void CloseMinutesBefore(long tick)
    {
        while (tick >= _nextMinuteTick)
        {
            CloseMinute();
            _minute++;
            _nextMinuteTick = StartTickOfMinute(_minute + 1);
        }
    }

    /// <summary>Records requests served or dropped in the current tick, and how many of them violated the SLO.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Complete(long count, long violations)
    {
        _minuteDone += count;
        _minuteViolations += violations;
    }

    /// <summary>Closes the last minute: requests still queued at the end count in it.</summary>
    public void Finish(long horizon, long queuedAtEnd, long lateAtEnd)
    {
        if (horizon == 0)
        {
            Normalize();
            return;
        }

        Advance(horizon - 1);
        Complete(queuedAtEnd, lateAtEnd);
        CloseMinute();
        Normalize();
    }

    private void Normalize()
    {
        WorstMinuteViolations = Math.Max(0, WorstMinuteViolations);
        WorstHourViolations = Math.Max(0, WorstHourViolations);
    }

    private void CloseMinute()
    {
        Minutes++;
        if (_minuteViolations > WorstMinuteViolations)
        {
            WorstMinuteViolations = _minuteViolations;
            WorstMinute = _minute;
        }

        var breach = _minuteViolations > 0 && _minuteViolations > _allowedViolationShare * _minuteDone;
        if (breach)
        {
            BreachMinutes++;
            _streak++;
            LongestBreachMinutes = Math.Max(LongestBreachMinutes, _streak);
        }
        else
        {
            _streak = 0;
        }

        // The hour's running sum only grows, so comparing after every minute finds the worst hour,
        // a partial last hour included.
        _hourViolations += _minuteViolations;
        if (_hourViolations > WorstHourViolations)
        {
            WorstHourViolations = _hourViolations;
            WorstHour = _minute / 60;
        }

        if (_minute % 60 == 59)
        {
            _hourViolations = 0;
        }

        _minuteDone = 0;
        _minuteViolations = 0;
    }

    private long StartTickOfMinute(long minute) => (minute * NanosPerMinute + _tickNanos - 1) / _tickNanos;
}
