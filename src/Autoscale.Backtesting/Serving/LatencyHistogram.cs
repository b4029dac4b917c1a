using NodaTime;

namespace Autoscale.Backtesting.Serving;

/// <summary>
/// Latencies in buckets of 1 ms or 1 %, whichever is coarser (1 ms up to 100 ms, then each bucket 1 % wider than the
/// last); a percentile is the nearest rank's bucket's upper edge. Infinite latencies (dropped requests) count above all.
/// </summary>
/// <remarks>Memory is fixed (about 2,300 buckets up to 10^7 s); adding allocates nothing. Not thread-safe.</remarks>
internal sealed class LatencyHistogram : ILatencyPercentiles
{
    private const long LinearBucketNanos = 1_000_000;
    private const int LinearBuckets = 100;
    private static readonly double LogRatio = Math.Log(1.01);
    private const int Buckets = 2_400;

    private readonly long[] _counts = new long[Buckets];
    private int _lowest = Buckets;
    private int _highest = -1;

    public long Count { get; private set; }

    public long Infinite { get; private set; }

    public void Add(long nanos)
    {
        var b = Bucket(nanos);
        _counts[b]++;
        Count++;
        if (b < _lowest)
        {
            _lowest = b;
        }

        if (b > _highest)
        {
            _highest = b;
        }
    }

    public void AddInfinite()
    {
        Infinite++;
        Count++;
    }

    public void Clear()
    {
        if (_highest >= 0)
        {
            Array.Clear(_counts, _lowest, _highest - _lowest + 1);
        }

        _lowest = Buckets;
        _highest = -1;
        Count = 0;
        Infinite = 0;
    }

    /// <summary>The nearest-rank <paramref name="percent"/> percentile in seconds (its bucket's upper edge); infinity when it falls on a dropped request; 0 when empty.</summary>
    public double PercentileSeconds(double percent)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(percent / 100.0 * Count - 1e-9));
        long seen = 0;
        for (var b = Math.Max(0, _lowest); b <= _highest; b++)
        {
            seen += _counts[b];
            if (seen >= rank)
            {
                return UpperEdgeNanos(b) / 1e9;
            }
        }

        return double.PositiveInfinity;
    }

    /// <summary>
    /// The bucket of a latency: 1 ms buckets up to 100 ms, then buckets 1 % wide. Exactly <see cref="BucketByLog"/>, without
    /// a logarithm: the latency as a double, its exponent and top 8 mantissa bits (a 1/256 of a binade, narrower than a
    /// bucket) index a table of the bucket its range starts in, and the table of the buckets' lowest values (built from
    /// <see cref="BucketByLog"/> itself) moves it on at most one bucket.
    /// </summary>
    internal static int Bucket(long nanos)
    {
        if (nanos <= LinearBucketNanos * LinearBuckets)
        {
            return (int)Math.Max(0, (nanos + LinearBucketNanos - 1) / LinearBucketNanos - 1);
        }

        // The key's range holds at most one bucket edge, so the bucket is the guess or the next; a latency past 2^53 ns may
        // round up into the next key, one bucket too far at most. Both corrections without a branch.
        var edges = LogEdges.Lowest;
        var guess = (int)LogEdges.ByKey[(int)((BitConverter.DoubleToInt64Bits(nanos) >> LogEdges.KeyShift) - LogEdges.FirstKey)];
        guess -= (int)((ulong)(nanos - edges[guess]) >> 63);
        guess += 1 - (int)((ulong)(nanos - edges[guess + 1]) >> 63);
        return Math.Min(guess, Buckets - 1);
    }

    /// <summary>The bucket by its definition, with a logarithm (the reference <see cref="Bucket"/> reproduces).</summary>
    internal static int BucketByLog(long nanos)
    {
        if (nanos <= LinearBucketNanos * LinearBuckets)
        {
            return (int)Math.Max(0, (nanos + LinearBucketNanos - 1) / LinearBucketNanos - 1);
        }

        var steps = Math.Ceiling((Math.Log(nanos / (double)(LinearBucketNanos * LinearBuckets)) / LogRatio) - 1e-12);
        return (int)Math.Min(Buckets - 1, LinearBuckets - 1 + steps);
    }

    /// <summary>Tables for <see cref="Bucket"/>, built once on first use (about 100,000 logarithms).</summary>
    private static class LogEdges
    {
        /// <summary>A latency's key: its double's exponent and top 8 mantissa bits.</summary>
        public const int KeyShift = 44;

        /// <summary>The key of the first latency past the linear buckets.</summary>
        public static readonly long FirstKey = BitConverter.DoubleToInt64Bits((double)((LinearBucketNanos * LinearBuckets) + 1)) >> KeyShift;

        /// <summary>
        /// For each logarithmic bucket, the smallest latency in nanoseconds <see cref="BucketByLog"/> puts in it or above; one
        /// more entry, <see cref="long.MaxValue"/>, past the last bucket.
        /// </summary>
        public static readonly long[] Lowest = BuildLowest();

        /// <summary>For each key from <see cref="FirstKey"/> to that of <see cref="long.MaxValue"/>: the bucket of the key's smallest latency.</summary>
        public static readonly ushort[] ByKey = BuildByKey();

        private static long[] BuildLowest()
        {
            var lowest = new long[Buckets + 1];
            lowest[Buckets] = long.MaxValue;
            var floor = (LinearBucketNanos * LinearBuckets) + 1;
            for (var b = LinearBuckets; b < Buckets; b++)
            {
                // The smallest n >= floor with BucketByLog(n) >= b: buckets are 1 % wide, so it lies below floor * 1.02 + 2.
                long lo = floor, hi = (long)(floor * 1.02) + 2;
                while (BucketByLog(hi) < b)
                {
                    hi *= 2;
                }

                while (lo < hi)
                {
                    var mid = lo + ((hi - lo) / 2);
                    if (BucketByLog(mid) >= b)
                    {
                        hi = mid;
                    }
                    else
                    {
                        lo = mid + 1;
                    }
                }

                lowest[b] = lo;
                floor = lo;
            }

            return lowest;
        }

        private static ushort[] BuildByKey()
        {
            var last = BitConverter.DoubleToInt64Bits((double)long.MaxValue) >> KeyShift;
            var table = new ushort[last - FirstKey + 1];
            var bucket = LinearBuckets;
            for (var k = 0; k < table.Length; k++)
            {
                // The key's smallest latency (a double's value is a whole number of nanoseconds this far up), or the first
                // logarithmic one; buckets only rise with it.
                var start = Math.Max((LinearBucketNanos * LinearBuckets) + 1, (long)Math.Min(BitConverter.Int64BitsToDouble((FirstKey + k) << KeyShift), 9.2e18));
                while (bucket < Buckets - 1 && start >= Lowest[bucket + 1])
                {
                    bucket++;
                }

                table[k] = (ushort)bucket;
            }

            return table;
        }
    }

    /// <summary>A bucket's upper edge as a duration, rounded to the nanosecond (a table, built on first use).</summary>
    internal static Duration UpperEdge(int bucket) => UpperEdges.Table[bucket];

    private static class UpperEdges
    {
        public static readonly Duration[] Table = Enumerable.Range(0, Buckets).Select(b => Duration.FromNanoseconds(Math.Round(UpperEdgeNanos(b)))).ToArray();
    }

    internal static double UpperEdgeNanos(int bucket) =>
        bucket < LinearBuckets ? (bucket + 1) * (double)LinearBucketNanos : LinearBucketNanos * LinearBuckets * Math.Exp((bucket - (LinearBuckets - 1)) * LogRatio);
}
