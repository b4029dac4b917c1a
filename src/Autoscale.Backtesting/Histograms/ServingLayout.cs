using System.Runtime.CompilerServices;
using NodaTime;

namespace Autoscale.Backtesting.Histograms;

/// <summary>
/// The serving replays' layout, in nanoseconds: buckets of 1 ms or 1 %, whichever is coarser (1 ms up to 100 ms, then
/// each bucket 1 % wider than the last, about 2,400 buckets up to 10^7 s); a percentile is its bucket's upper edge, so a
/// latency of 0 reads 1 ms.
/// </summary>
internal readonly struct ServingLayout : IBucketLayout
{
    private const long LinearBucketNanos = 1_000_000;
    private const int LinearBuckets = 100;
    private static readonly double LogRatio = Math.Log(1.01);

    /// <summary>Buckets in all: the last holds every latency past its lower edge.</summary>
    public const int Buckets = 2_400;

    /// <inheritdoc/>
    public static int InitialBuckets => Buckets;

    /// <summary>
    /// The bucket of a latency: 1 ms buckets up to 100 ms, then buckets 1 % wide. Exactly <see cref="BucketByLog"/>, without
    /// a logarithm below 2^53 ns (104 days): the latency as a double, its exponent and top 8 mantissa bits (a 256th of a
    /// binade, narrower than a bucket, so holding one bucket edge at most) index a table of the bucket the range starts in
    /// and the next bucket's lowest latency (built from <see cref="BucketByLog"/> itself); one comparison picks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Bucket(long nanos)
    {
        if (nanos <= LinearBucketNanos * LinearBuckets)
        {
            return (int)Math.Max(0, (nanos + LinearBucketNanos - 1) / LinearBucketNanos - 1);
        }

        if (nanos >= LogEdges.ExactBelow)
        {
            return BucketByLog(nanos);
        }

        return LogBucket(nanos);
    }

    /// <summary>
    /// The bucket of a latency in seconds, rounded up to the nanosecond (a negative one is 0): exactly
    /// <c>Bucket((long)Math.Ceiling(Math.Max(0, seconds) * 1e9))</c>, without the round trip through a long where the table
    /// holds it (the whole nanoseconds are a double already).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int BucketOfSeconds(double seconds)
    {
        var nanos = Math.Ceiling(double.MaxNative(0, seconds) * 1e9);
        return nanos > LinearBucketNanos * LinearBuckets && nanos < LogEdges.ExactBelow ? LogBucket(nanos) : Bucket((long)nanos);
    }

    /// <summary>The table's bucket of a whole number of nanoseconds past the linear buckets and below 2^53 (so exact as a double).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int LogBucket(double nanos)
    {
        ref readonly var range = ref LogEdges.ByKey[(int)((BitConverter.DoubleToInt64Bits(nanos) >> LogEdges.KeyShift) - LogEdges.FirstKey)];
        return range.Bucket + (nanos >= range.Next ? 1 : 0);
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

    /// <summary>The table of <see cref="Bucket"/>, built once on first use (about 100,000 logarithms).</summary>
    private static class LogEdges
    {
        /// <summary>A latency's key: its double's exponent and top 8 mantissa bits.</summary>
        public const int KeyShift = 44;

        /// <summary>The key of the first latency past the linear buckets, 100,000,001 ns (checked when the table is built).</summary>
        public const long FirstKey = 0x4197D;

        /// <summary>Latencies from here on are bucketed by the definition (a double no longer holds every nanosecond).</summary>
        public const long ExactBelow = 1L << 53;

        /// <summary>For each key from <see cref="FirstKey"/> up to <see cref="ExactBelow"/>: the bucket of its range's smallest latency, and the next bucket's smallest.</summary>
        public static readonly KeyRange[] ByKey = Build();

        private static KeyRange[] Build()
        {
            const long first = (LinearBucketNanos * LinearBuckets) + 1;
            if (BitConverter.DoubleToInt64Bits(first) >> KeyShift != FirstKey)
            {
                throw new InvalidOperationException("the first logarithmic key is not the one the table assumes");
            }

            // The smallest latency of each logarithmic bucket, by bisection on the definition: buckets are 1 % wide, so the
            // next one starts below the last one's start * 1.02 + 2.
            var lowest = new long[Buckets + 1];
            lowest[Buckets] = long.MaxValue;
            var floor = first;
            for (var b = LinearBuckets; b < Buckets; b++)
            {
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

            var table = new KeyRange[(BitConverter.DoubleToInt64Bits(ExactBelow) >> KeyShift) - FirstKey];
            var bucket = LinearBuckets;
            for (var k = 0; k < table.Length; k++)
            {
                // The key's smallest latency (a whole number of nanoseconds this far up), or the first logarithmic one.
                var start = Math.Max(first, (long)BitConverter.Int64BitsToDouble((FirstKey + k) << KeyShift));
                while (bucket < Buckets - 1 && start >= lowest[bucket + 1])
                {
                    bucket++;
                }

                table[k] = new KeyRange(lowest[bucket + 1], bucket);
            }

            return table;
        }
    }

    /// <summary>
    /// A key's range of latencies: the bucket it starts in and the lowest latency of the next bucket (a whole number of
    /// nanoseconds, exact as a double below 2^53; one above it is above every latency the table is asked about).
    /// </summary>
    private readonly record struct KeyRange(double Next, int Bucket);

    /// <summary>A bucket's upper edge rounded to the nanosecond, as the policies' duration signals carry it (a table, built on first use).</summary>
    internal static long UpperEdgeWholeNanos(int bucket) => UpperEdges.Nanos[bucket];

    private static class UpperEdges
    {
        public static readonly long[] Nanos = Enumerable.Range(0, Buckets).Select(b => Duration.FromNanoseconds(Math.Round(UpperEdge(b))).ToInt64Nanoseconds()).ToArray();
    }

    /// <inheritdoc/>
    public static double UpperEdge(int bucket) =>
        bucket < LinearBuckets ? (bucket + 1) * (double)LinearBucketNanos : LinearBucketNanos * LinearBuckets * Math.Exp((bucket - (LinearBuckets - 1)) * LogRatio);
}
