namespace Autoscale.Traces;

/// <summary>
/// Spreads rows over replay ticks as they arrive in time order and hands out the ticks that no later row can
/// touch, in chunks of at most <see cref="ChunkTicks"/>. A row covers ticks <c>first..last</c>; its value is spread
/// evenly over them, the remainder to the earliest, so a coarse step (60 s, 10 min) never becomes one burst. Rows
/// are kept as spans until their ticks are handed out, never as one cell per tick, so memory grows with the rows
/// in flight, not with the span they cover: a log with two rows twenty years apart costs two entries.
/// </summary>
/// <remarks>Not thread-safe.</remarks>
internal sealed class IntervalBinner
{
    /// <summary>The most ticks one handed-out chunk holds.</summary>
    public const int ChunkTicks = 1 << 20;

    private readonly long _length;
    private long[] _first = new long[256];
    private long[] _lastTick = new long[256];
    private long[] _value = new long[256];
    private int _head;
    private int _count;
    private long _base;

    public IntervalBinner(long length)
    {
        _length = length;
    }

    /// <summary>The first tick not handed out yet.</summary>
    public long Emitted => _base;

    /// <summary>Whether every tick has been handed out.</summary>
    public bool Done => _base >= _length;

    /// <summary>
    /// Adds <paramref name="value"/> spread over ticks <paramref name="first"/> to <paramref name="last"/> (clamped to the
    /// trace; never starting before a tick already handed out). Consecutive adds to the same single tick merge.
    /// </summary>
    public void Add(long first, long last, long value)
    {
        last = Math.Min(last, _length - 1);
        if (value == 0 || last < first)
        {
            return;
        }

        if (_count > 0)
        {
            var tail = Slot(_count - 1);
            if (first == last && _first[tail] == first && _lastTick[tail] == first)
            {
                _value[tail] = checked(_value[tail] + value);
                return;
            }
        }

        if (_count == _first.Length)
        {
            Grow();
        }

        var slot = Slot(_count++);
        _first[slot] = first;
        _lastTick[slot] = last;
        _value[slot] = value;
    }

    /// <summary>Hands out the next chunk of ticks before <paramref name="tick"/> (at most <see cref="ChunkTicks"/>); empty when none is left.</summary>
    public long[] TakeBefore(long tick)
    {
        tick = Math.Min(tick, _length);
        var n = (int)Math.Clamp(tick - _base, 0, ChunkTicks);
        var chunk = new long[n];
        if (n == 0)
        {
            return chunk;
        }

        var end = _base + n;
        for (var k = 0; k < _count; k++)
        {
            var slot = Slot(k);
            var first = _first[slot];
            if (first >= end)
            {
                break;
            }

            var last = _lastTick[slot];
            var ticks = last - first + 1;
            var each = _value[slot] / ticks;
            var remainder = _value[slot] % ticks;
            var to = Math.Min(last, end - 1);
            for (var t = Math.Max(first, _base); t <= to; t++)
            {
                chunk[t - _base] += each + (t - first < remainder ? 1 : 0);
            }
        }

        while (_count > 0 && _lastTick[_head] < end)
        {
            _head = (_head + 1) % _first.Length;
            _count--;
        }

        _base = end;
        return chunk;
    }

    private int Slot(int k) => (_head + k) % _first.Length;

    private void Grow()
    {
        var size = _first.Length * 2;
        var first = new long[size];
        var last = new long[size];
        var value = new long[size];
        for (var k = 0; k < _count; k++)
        {
            var slot = Slot(k);
            first[k] = _first[slot];
            last[k] = _lastTick[slot];
            value[k] = _value[slot];
        }

        (_first, _lastTick, _value, _head) = (first, last, value, 0);
    }

    public static long CeilDiv(long a, long b) => (a + b - 1) / b;

    /// <summary>a / b rounded towards minus infinity (b &gt; 0).</summary>
    public static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);
}
