using Autoscale.Backtesting.Histograms;
namespace Autoscale.Backtesting.Engine;

/// <summary>
/// The FIFO queue of waiting requests as (arrival tick, count) buckets in a growable ring, so a tick
/// costs O(1) amortized however many requests arrive. Never one object per request.
/// </summary>
/// <remarks>
/// A queue that never drains would hold a bucket per tick. Before it grows past <see cref="CompactAbove"/> buckets,
/// neighbouring buckets that have waited at least <c>mergeAfterTicks</c> (late already, and past the exact part of the
/// wait histogram) are merged while they arrived within 1/1024 of their wait of each other, keeping the oldest arrival:
/// memory is then bounded (about 1024 buckets per doubling of the longest wait, beyond the merge age), violation counts
/// stay exact, and a merged request's wait (and, with a client timeout, the tick it is dropped) is within 0.1%.
/// </remarks>
/// <remarks>Not thread-safe; owned by one run.</remarks>
internal sealed class RequestQueue
{
    private long[] _ticks;
    private long[] _counts;

    /// <summary>Each bucket's latest true arrival (later than its tick only in merged buckets).</summary>
    private long[] _newest;
    private int _head;
    private int _size;

    private int _mask;
    private readonly long _mergeAfterTicks;

    /// <summary>Buckets held before old ones are merged.</summary>
    public const int CompactAbove = 1 << 16;

    public RequestQueue(int initialBuckets = 256, long mergeAfterTicks = TickLayout.DenseTicks)
    {
        _mergeAfterTicks = Math.Max(TickLayout.DenseTicks, mergeAfterTicks);
        var size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, initialBuckets));
        _ticks = new long[size];
        _counts = new long[size];
        _newest = new long[size];
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

        if (_size == _ticks.Length && (_size < CompactAbove || !Compact(tick)))
        {
            Grow();
        }

        var slot = (_head + _size) & _mask;
        _ticks[slot] = tick;
        _counts[slot] = count;
        _newest[slot] = tick;
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

    /// <summary>Buckets held now.</summary>
    public int Buckets => _size;

    /// <summary>Merges old neighbouring buckets (see the remarks); true when that freed a quarter of the ring.</summary>
    private bool Compact(long now)
    {
        var write = 0;
        for (var i = 0; i < _size; i++)
        {
            var slot = (_head + i) & _mask;
            var tick = _ticks[slot];
            var newest = _newest[slot];
            if (write > 0)
            {
                // Every request of both buckets arrived within 1/1024 of the kept (oldest) arrival's wait.
                var last = (_head + write - 1) & _mask;
                var kept = _ticks[last];
                if (now - newest >= _mergeAfterTicks && newest - kept <= (now - kept) >> 10)
                {
                    _counts[last] += _counts[slot];
                    _newest[last] = newest;
                    continue;
                }
            }

            var to = (_head + write) & _mask;
            _ticks[to] = tick;
            _counts[to] = _counts[slot];
            _newest[to] = newest;
            write++;
        }

        _size = write;
        return _size <= _ticks.Length * 3 / 4;
    }

    private void Grow()
    {
        var ticks = new long[_ticks.Length * 2];
        var counts = new long[_ticks.Length * 2];
        var newest = new long[_ticks.Length * 2];
        for (var i = 0; i < _size; i++)
        {
            var slot = (_head + i) & _mask;
            ticks[i] = _ticks[slot];
            counts[i] = _counts[slot];
            newest[i] = _newest[slot];
        }

        _ticks = ticks;
        _counts = counts;
        _newest = newest;
        _mask = ticks.Length - 1;
        _head = 0;
    }
}

/// <summary>Called for one queue bucket.</summary>
internal delegate void BucketVisitor<TState>(ref TState state, long arrivalTick, long count);
