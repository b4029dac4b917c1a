namespace Autoscale.Backtesting.Engine;

/// <summary>
/// Counts of requests per whole-tick wait; percentiles are nearest-rank on it. Waits below <see cref="DenseTicks"/>
/// are counted exactly, in an array; longer ones in log-linear buckets 1/1024 of their length wide (HdrHistogram's
/// scheme at three significant digits), so memory is bounded whatever the waits (at most 1024 buckets per doubling)
/// and a long wait's percentile is within 0.1% (the bucket's highest wait, never above the longest seen, which is exact).
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

    /// <summary>As <see cref="Add"/> with a wait of zero ticks.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void AddNoWait(long count)
    {
        if (count > 0)
        {
            _counts[0] += count;
            Total += count;
        }
    }

    public void Add(long waitTicks, long count)
    {
        if (count <= 0)
        {
            return;
        }

        if (waitTicks >= DenseTicks)
        {
            _long ??= [];
            var low = BucketLow(waitTicks);
            _long[low] = _long.GetValueOrDefault(low) + count;
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

        foreach (var (low, count) in _long ?? [])
        {
            cumulative += count;
            if (cumulative >= rank)
            {
                return Math.Min(MaxWait, low + BucketWidth(low) - 1);
            }
        }

        return MaxWait;
    }

    /// <summary>Buckets per doubling of a long wait.</summary>
    public const int SubBuckets = 1 << 10;

    /// <summary>The width of the bucket of a wait of at least <see cref="DenseTicks"/>: 1/1024 of its doubling.</summary>
    public static long BucketWidth(long waitTicks) => 1L << (63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)waitTicks) - 10);

    /// <summary>The lowest wait of the bucket <paramref name="waitTicks"/> falls in.</summary>
    public static long BucketLow(long waitTicks) => waitTicks & ~(BucketWidth(waitTicks) - 1);
}
