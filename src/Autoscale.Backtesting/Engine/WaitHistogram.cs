namespace Autoscale.Backtesting.Engine;

/// <summary>
/// Exact counts of requests per whole-tick wait; percentiles are nearest-rank on it. Waits up to
/// <see cref="DenseTicks"/> are counted in an array, longer ones in a sorted map, so memory grows with the distinct
/// long waits, never with their length (a request that waits twenty years costs one entry).
/// </summary>
/// <remarks>Not thread-safe; owned by one run. Allocates only when the array grows or a new long wait appears.</remarks>
internal sealed class WaitHistogram
{
    /// <summary>Waits below this many ticks are counted in the array.</summary>
    public const int DenseTicks = 1 << 16;

    private long[] _counts = new long[64];
    private SortedDictionary<long, long>? _long;

    public long Total { get; private set; }

    public long MaxWait { get; private set; }

    public void Add(long waitTicks, long count)
    {
        if (count <= 0)
        {
            return;
        }

        if (waitTicks >= DenseTicks)
        {
            _long ??= [];
            _long[waitTicks] = _long.GetValueOrDefault(waitTicks) + count;
        }
        else
        {
            if (waitTicks >= _counts.Length)
            {
                var size = _counts.Length;
                while (size <= waitTicks)
                {
                    size *= 2;
                }

                Array.Resize(ref _counts, size);
            }

            _counts[waitTicks] += count;
        }

        Total += count;
        if (waitTicks > MaxWait)
        {
            MaxWait = waitTicks;
        }
    }

    /// <summary>The nearest-rank percentile in ticks: the smallest wait w with at least ceil(p% * N) requests at or below it.</summary>
    public long Percentile(double percent)
    {
        if (Total == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(percent / 100.0 * Total);
        if (rank < 1)
        {
            rank = 1;
        }

        long cumulative = 0;
        for (var w = 0; w < _counts.Length; w++)
        {
            cumulative += _counts[w];
            if (cumulative >= rank)
            {
                return w;
            }
        }

        foreach (var (wait, count) in _long ?? [])
        {
            cumulative += count;
            if (cumulative >= rank)
            {
                return wait;
            }
        }

        return MaxWait;
    }
}
