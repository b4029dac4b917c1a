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
    /// a logarithm: the double's exponent and a 256-entry table of its mantissa's logarithm put the guess within two buckets,
    /// and the table of the buckets' lowest values (built from <see cref="BucketByLog"/> itself) corrects it.
    /// </summary>
    internal static int Bucket(long nanos)
    {
        if (nanos <= LinearBucketNanos * LinearBuckets)
        {
            return (int)Math.Max(0, (nanos + LinearBucketNanos - 1) / LinearBucketNanos - 1);
        }

        var edges = LogEdges.Lowest;
        var x = nanos * (1.0 / (LinearBucketNanos * LinearBuckets));
        var bits = BitConverter.DoubleToInt64Bits(x);
        var log2 = (int)((bits >> 52) & 0x7FF) - 1023 + LogEdges.MantissaLog2[(int)((bits >> 44) & 0xFF)];
        var guess = (int)Math.Clamp((long)(log2 * LogEdges.InverseLog2Ratio) + 1, 1, Buckets - LinearBuckets) + LinearBuckets - 1;
        while (guess > LinearBuckets && nanos < edges[guess])
        {
            guess--;
        }

        while (guess < Buckets - 1 && nanos >= edges[guess + 1])
        {
            guess++;
        }

        return guess;
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
        public static readonly double InverseLog2Ratio = 1 / Math.Log2(1.01);

        /// <summary>log2 of 1 + k / 256, rounded down to the start of the mantissa's k-th 256th (so a guess never overshoots by more than one bucket).</summary>
        public static readonly double[] MantissaLog2 = BuildMantissa();

        /// <summary>For each logarithmic bucket, the smallest latency in nanoseconds <see cref="BucketByLog"/> puts in it or above.</summary>
        public static readonly long[] Lowest = BuildLowest();

        private static double[] BuildMantissa()
        {
            var table = new double[256];
            for (var k = 0; k < 256; k++)
            {
                table[k] = Math.Log2(1 + (k / 256.0));
            }

            return table;
        }

        private static long[] BuildLowest()
        {
            var lowest = new long[Buckets];
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
    }

    internal static double UpperEdgeNanos(int bucket) =>
        bucket < LinearBuckets ? (bucket + 1) * (double)LinearBucketNanos : LinearBucketNanos * LinearBuckets * Math.Exp((bucket - (LinearBuckets - 1)) * LogRatio);
}
