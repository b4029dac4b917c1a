namespace Autoscale.Backtesting.Traces;

/// <summary>
/// Spreads interval counts over replay ticks as rows arrive in time order, and hands out the ticks
/// that no later row can touch, so a long trace is binned chunk by chunk. A row at <c>t</c> covers
/// <c>[t, t + interval)</c>; its count is spread evenly over the ticks it covers, the remainder to the
/// earliest ticks, so a coarse step (60 s, 10 min) never becomes one burst.
/// </summary>
/// <remarks>Not thread-safe.</remarks>
internal sealed class IntervalBinner
{
    private readonly long _startNanos;
    private readonly long _intervalNanos;
    private readonly long _tickNanos;
    private readonly long _length;
    private long[] _buffer = new long[1024];
    private long _base;

    public IntervalBinner(long startNanos, long intervalNanos, long tickNanos, long length)
    {
        _startNanos = startNanos;
        _intervalNanos = intervalNanos;
        _tickNanos = tickNanos;
        _length = length;
    }

    /// <summary>The first tick not handed out yet.</summary>
    public long Emitted => _base;

    /// <summary>Adds the row at <paramref name="timestampNanos"/> (never earlier than a previous row).</summary>
    public void Add(long timestampNanos, long count)
    {
        var from = timestampNanos - _startNanos;
        var first = from / _tickNanos;
        if (_intervalNanos == _tickNanos && first * _tickNanos == from && first < _length)
        {
            // The common case: one row per tick, aligned.
            Ensure(first);
            _buffer[first - _base] += count;
            return;
        }

        var last = Math.Min(_length - 1, Math.Max(first, CeilDiv(from + _intervalNanos, _tickNanos) - 1));
        if (count == 0 || last < first)
        {
            return;
        }

        Ensure(last);
        var ticks = last - first + 1;
        var each = count / ticks;
        var remainder = count % ticks;
        var offset = first - _base;
        for (long k = 0; k < ticks; k++)
        {
            _buffer[offset + k] += each + (k < remainder ? 1 : 0);
        }
    }

    /// <summary>Hands out the ticks before <paramref name="tick"/> (a row at or after it touches none of them).</summary>
    public long[] TakeBefore(long tick)
    {
        tick = Math.Min(tick, _length);
        var n = (int)Math.Max(0, tick - _base);
        var chunk = new long[n];
        Array.Copy(_buffer, chunk, Math.Min(n, _buffer.Length));
        var keep = _buffer.Length - n;
        if (keep > 0)
        {
            Array.Copy(_buffer, n, _buffer, 0, keep);
            Array.Clear(_buffer, keep, n);
        }
        else
        {
            Array.Clear(_buffer);
        }

        _base += n;
        return chunk;
    }

    /// <summary>The tick a row at <paramref name="timestampNanos"/> starts in.</summary>
    public long TickOf(long timestampNanos) => (timestampNanos - _startNanos) / _tickNanos;

    private void Ensure(long tick)
    {
        var needed = tick - _base + 1;
        if (needed > _buffer.Length)
        {
            var size = (long)_buffer.Length;
            while (size < needed)
            {
                size *= 2;
            }

            Array.Resize(ref _buffer, checked((int)size));
        }
    }

    public static long CeilDiv(long a, long b) => (a + b - 1) / b;

    /// <summary>a / b rounded towards minus infinity (b &gt; 0).</summary>
    public static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);
}
