namespace Autoscale.Backtesting.Engine;

/// <summary>
/// Replicas that are loading, in start order, each with the tick at which it becomes ready.
/// Cancelling takes the newest; completion takes every load whose tick has come, in any order.
/// </summary>
/// <remarks>Not thread-safe; owned by one run.</remarks>
internal sealed class FleetLoads
{
    private long[] _readyAt = new long[16];
    private long _earliest = long.MaxValue;

    public int Count { get; private set; }

    public void Start(long readyTick)
    {
        if (Count == _readyAt.Length)
        {
            Array.Resize(ref _readyAt, _readyAt.Length * 2);
        }

        _readyAt[Count++] = readyTick;
        if (readyTick < _earliest)
        {
            _earliest = readyTick;
        }
    }

    /// <summary>Removes the loads ready at or before <paramref name="tick"/>; returns how many.</summary>
    public int CompleteDue(long tick)
    {
        if (tick < _earliest)
        {
            return 0;
        }

        var kept = 0;
        var earliest = long.MaxValue;
        for (var i = 0; i < Count; i++)
        {
            var readyAt = _readyAt[i];
            if (readyAt > tick)
            {
                _readyAt[kept++] = readyAt;
                if (readyAt < earliest)
                {
                    earliest = readyAt;
                }
            }
        }

        var completed = Count - kept;
        Count = kept;
        _earliest = earliest;
        return completed;
    }

    /// <summary>Cancels up to <paramref name="max"/> loads, newest first; returns how many.</summary>
    public int CancelNewest(int max)
    {
        var cancelled = Math.Min(max, Count);
        Count -= cancelled;
        _earliest = long.MaxValue;
        for (var i = 0; i < Count; i++)
        {
            if (_readyAt[i] < _earliest)
            {
                _earliest = _readyAt[i];
            }
        }

        return cancelled;
    }
}
