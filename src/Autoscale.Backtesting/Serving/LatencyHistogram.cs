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

    internal static int Bucket(long nanos)
    {
        if (nanos <= LinearBucketNanos * LinearBuckets)
        {
            return (int)Math.Max(0, (nanos + LinearBucketNanos - 1) / LinearBucketNanos - 1);
        }

        var steps = Math.Ceiling((Math.Log(nanos / (double)(LinearBucketNanos * LinearBuckets)) / LogRatio) - 1e-12);
        return (int)Math.Min(Buckets - 1, LinearBuckets - 1 + steps);
    }

    internal static double UpperEdgeNanos(int bucket) =>
        bucket < LinearBuckets ? (bucket + 1) * (double)LinearBucketNanos : LinearBucketNanos * LinearBuckets * Math.Exp((bucket - (LinearBuckets - 1)) * LogRatio);
}
