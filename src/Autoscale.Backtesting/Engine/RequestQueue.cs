namespace Autoscale.Backtesting.Engine;

/// <summary>
/// The FIFO queue of waiting requests as (arrival tick, count) buckets in a growable ring, so a tick
/// costs O(1) amortized however many requests arrive. Never one object per request.
/// </summary>
/// <remarks>Not thread-safe; owned by one run.</remarks>
internal sealed class RequestQueue
{
    private long[] _ticks;
    private long[] _counts;
    private int _head;
    private int _size;

    private int _mask;

    public RequestQueue(int initialBuckets = 256)
    {
        var size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, initialBuckets));
        _ticks = new long[size];
        _counts = new long[size];
        _mask = size - 1;
    }

    /// <summary>Requests waiting.</summary>
    public long Depth { get; private set; }

    /// <summary>Adds <paramref name="count"/> requests that arrived at <paramref name="tick"/> (ticks never decrease).</summary>
    public void Enqueue(long tick, long count)
    {
        if (count <= 0)
        {
            return;
        }

        if (_size > 0)
        {
            var last = (_head + _size - 1) & _mask;
            if (_ticks[last] == tick)
            {
                _counts[last] += count;
                Depth += count;
                return;
            }
        }

        if (_size == _ticks.Length)
        {
            Grow();
        }

        var slot = (_head + _size) & _mask;
        _ticks[slot] = tick;
        _counts[slot] = count;
        _size++;
        Depth += count;
    }

    /// <summary>The arrival tick of the oldest waiting request; only valid when <see cref="Depth"/> &gt; 0.</summary>
    public long OldestTick => _ticks[_head];

    /// <summary>Removes up to <paramref name="max"/> requests from the head bucket; returns how many and their arrival tick.</summary>
    public long DequeueFromHead(long max, out long arrivalTick)
    {
        arrivalTick = _ticks[_head];
        var available = _counts[_head];
        var taken = available <= max ? available : max;
        if (taken == available)
        {
            _head = (_head + 1) & _mask;
            _size--;
        }
        else
        {
            _counts[_head] = available - taken;
        }

        Depth -= taken;
        return taken;
    }

    /// <summary>Visits every bucket, oldest first.</summary>
    public void ForEach<TState>(ref TState state, BucketVisitor<TState> visit)
    {
        for (var i = 0; i < _size; i++)
        {
            var slot = (_head + i) & _mask;
            visit(ref state, _ticks[slot], _counts[slot]);
        }
    }

    private void Grow()
    {
        var ticks = new long[_ticks.Length * 2];
        var counts = new long[_ticks.Length * 2];
        for (var i = 0; i < _size; i++)
        {
            var slot = (_head + i) & _mask;
            ticks[i] = _ticks[slot];
            counts[i] = _counts[slot];
        }

        _ticks = ticks;
        _counts = counts;
        _mask = ticks.Length - 1;
        _head = 0;
    }
}

/// <summary>Called for one queue bucket.</summary>
internal delegate void BucketVisitor<TState>(ref TState state, long arrivalTick, long count);
