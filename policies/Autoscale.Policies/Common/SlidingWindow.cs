using NodaTime;

namespace Autoscale.Policies.Common;

/// <summary>
/// The largest (or smallest) value seen in the last <c>window</c> of time, kept as a monotonic ring so
/// each update costs O(1) amortized and allocates only when the ring grows.
/// </summary>
/// <remarks>Not thread-safe; owned by one policy instance.</remarks>
internal sealed class SlidingExtremum
{
    private readonly long _windowTicks;
    private readonly bool _max;
    private long[] _times = new long[16];
    private int[] _values = new int[16];
    private int _head;
    private int _count;

    /// <summary>Tracks the maximum (<paramref name="max"/> true) or the minimum over <paramref name="window"/>.</summary>
    public SlidingExtremum(Duration window, bool max)
    {
        _windowTicks = window.BclCompatibleTicks;
        _max = max;
    }

    /// <summary>Adds <paramref name="value"/> observed at <paramref name="now"/> and returns the extremum over the window ending now.</summary>
    public int Add(Instant now, int value)
    {
        var t = now.ToUnixTimeTicks();
        // Drop values the new one dominates: they can never be the extremum again.
        while (_count > 0)
        {
            var last = _values[Slot(_count - 1)];
            if (_max ? last <= value : last >= value)
            {
                _count--;
            }
            else
            {
                break;
            }
        }

        if (_count == _times.Length)
        {
            Grow();
        }

        _times[Slot(_count)] = t;
        _values[Slot(_count)] = value;
        _count++;

        // Drop values older than the window (the newest always stays).
        while (_count > 1 && t - _times[_head] > _windowTicks)
        {
            _head = (_head + 1) % _times.Length;
            _count--;
        }

        return _values[_head];
    }

    private int Slot(int i) => (_head + i) % _times.Length;

    private void Grow()
    {
        var times = new long[_times.Length * 2];
        var values = new int[_values.Length * 2];
        for (var i = 0; i < _count; i++)
        {
            times[i] = _times[Slot(i)];
            values[i] = _values[Slot(i)];
        }

        _times = times;
        _values = values;
        _head = 0;
    }
}

/// <summary>
/// The sum of values observed in the last <c>window</c> of time (a rolling count of arrivals), with
/// the span of time it covers, so a rate can be formed. O(1) amortized per update.
/// </summary>
/// <remarks>Not thread-safe; owned by one policy instance.</remarks>
internal sealed class SlidingSum
{
    private readonly long _windowTicks;
    private long[] _times = new long[16];
    private long[] _values = new long[16];
    private long[] _spans = new long[16];
    private int _head;
    private int _count;

    /// <summary>Sums over <paramref name="window"/>.</summary>
    public SlidingSum(Duration window)
    {
        _windowTicks = Math.Max(1, window.BclCompatibleTicks);
    }

    /// <summary>The sum of the values in the window.</summary>
    public long Sum { get; private set; }

    /// <summary>The time the values in the window cover (the sum of their intervals).</summary>
    public Duration Covered => Duration.FromTicks(CoveredTicks);

    private long CoveredTicks { get; set; }

    /// <summary>The sum as a rate per second (0 before anything is covered).</summary>
    public double RatePerSecond => CoveredTicks > 0 ? Sum / (CoveredTicks / (double)NodaConstants.TicksPerSecond) : 0;

    /// <summary>Adds <paramref name="value"/> observed over <paramref name="interval"/> ending at <paramref name="now"/>.</summary>
    public void Add(Instant now, Duration interval, long value)
    {
        var t = now.ToUnixTimeTicks();
        if (_count == _times.Length)
        {
            Grow();
        }

        var slot = (_head + _count) % _times.Length;
        _times[slot] = t;
        _values[slot] = value;
        _spans[slot] = interval.BclCompatibleTicks;
        _count++;
        Sum += value;
        CoveredTicks += interval.BclCompatibleTicks;
        while (_count > 1 && t - _times[_head] >= _windowTicks)
        {
            Sum -= _values[_head];
            CoveredTicks -= _spans[_head];
            _head = (_head + 1) % _times.Length;
            _count--;
        }
    }

    private void Grow()
    {
        var times = new long[_times.Length * 2];
        var values = new long[_times.Length * 2];
        var spans = new long[_times.Length * 2];
        for (var i = 0; i < _count; i++)
        {
            var slot = (_head + i) % _times.Length;
            times[i] = _times[slot];
            values[i] = _values[slot];
            spans[i] = _spans[slot];
        }

        _times = times;
        _values = values;
        _spans = spans;
        _head = 0;
    }
}
