using NodaTime;

namespace Autoscale.Backtesting.LoadTime;

/// <summary>
/// Loads whose duration is known when they start (<see cref="ILoadTimeModel.LoadDuration"/>: fixed,
/// empirical), in start order, each with the tick at which it becomes ready. Cancelling takes the newest;
/// completion takes every load whose tick has come, in any order.
/// </summary>
/// <remarks>Not thread-safe; owned by one run.</remarks>
internal sealed class FleetLoads : ILoadSimulation
{
    private readonly ILoadTimeModel _model;
    private readonly long _tickNanos;
    private long[] _readyAt = new long[16];
    private long _earliest = long.MaxValue;

    public FleetLoads(ILoadTimeModel model, Duration tick)
    {
        _model = model;
        _tickNanos = tick.ToInt64Nanoseconds();
    }

    public int Loading { get; private set; }

    public bool Start(long tick, long ordinal)
    {
        var duration = _model.LoadDuration(ordinal);
        var loadTicks = (Math.Max(0, duration.ToInt64Nanoseconds()) + _tickNanos - 1) / _tickNanos;
        if (loadTicks == 0)
        {
            return true;
        }

        if (Loading == _readyAt.Length)
        {
            Array.Resize(ref _readyAt, _readyAt.Length * 2);
        }

        var readyTick = tick + loadTicks;
        _readyAt[Loading++] = readyTick;
        if (readyTick < _earliest)
        {
            _earliest = readyTick;
        }

        return false;
    }

    public int CompleteDue(long tick)
    {
        if (tick < _earliest)
        {
            return 0;
        }

        var kept = 0;
        var earliest = long.MaxValue;
        for (var i = 0; i < Loading; i++)
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

        var completed = Loading - kept;
        Loading = kept;
        _earliest = earliest;
        return completed;
    }

    public int CancelNewest(long tick, int max)
    {
        var cancelled = Math.Min(max, Loading);
        Loading -= cancelled;
        _earliest = long.MaxValue;
        for (var i = 0; i < Loading; i++)
        {
            if (_readyAt[i] < _earliest)
            {
                _earliest = _readyAt[i];
            }
        }

        return cancelled;
    }

    public void Release(long tick, int count)
    {
    }

    public double Finish(long horizon, IDictionary<string, double> metrics) => 0;
}
