using System.Runtime.CompilerServices;

namespace Autoscale.Backtesting.Histograms;

/// <summary>
/// Whole counts of values in the buckets of <typeparamref name="TLayout"/>, and their nearest-rank percentiles: the
/// smallest bucket with at least ceil(p% * N) values at or below it, reported as its upper edge. Infinite values (dropped
/// requests) count above every bucket. Every replay's latencies and waits go through this type: the count replay's waits
/// in <see cref="TickLayout"/>, the request-level replay's latencies in <see cref="ServingLayout"/> (the fluid replay's
/// shares of requests in <see cref="WeightedLatencyHistogram"/>, on the same serving buckets).
/// </summary>
/// <remarks>
/// The bucket array grows to the highest bucket used, so memory is bounded by the layout (never by the number of values);
/// adding allocates only when it grows. Not thread-safe; owned by one run.
/// </remarks>
internal sealed class LatencyHistogram<TLayout>
    where TLayout : IBucketLayout
{
    private long[] _counts = new long[TLayout.InitialBuckets];
    private int _lowest = int.MaxValue;
    private int _highest = -1;
    private double _sum;

    /// <summary>Values added, infinite ones included.</summary>
    public long Count { get; private set; }

    /// <summary>Infinite values added.</summary>
    public long Infinite { get; private set; }

    /// <summary>Finite values added.</summary>
    public long Finite => Count - Infinite;

    /// <summary>The largest finite value added (exact, whatever its bucket); 0 when none.</summary>
    public long Max { get; private set; }

    /// <summary>Buckets the array holds now (it grows by doubling to the highest bucket used).</summary>
    internal int BucketsHeld => _counts.Length;

    /// <summary>The sum of the finite values added, in the layout's unit.</summary>
    public double Sum => _sum;

    /// <summary>
    /// Adds <paramref name="count"/> values of 0 (the wait of a request served as it arrives); nothing when the count is
    /// not positive. Bucket 0 is not tracked in the range of buckets used: reading and clearing look at it on their own.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddZero(long count)
    {
        if (count > 0)
        {
            _counts[0] += count;
            Count += count;
        }
    }

    /// <summary>Adds <paramref name="count"/> values of <paramref name="value"/> (a negative one counts as 0); nothing when the count is not positive.</summary>
    public void Add(long value, long count = 1)
    {
        if (count <= 0)
        {
            return;
        }

        var b = TLayout.Bucket(value);
        if (b >= _counts.Length)
        {
            Grow(b);
        }

        _counts[b] += count;
        Count += count;
        _sum += (double)value * count;
        if (b < _lowest)
        {
            _lowest = b;
        }

        if (b > _highest)
        {
            _highest = b;
        }

        if (value > Max)
        {
            Max = value;
        }
    }

    /// <summary>Adds <paramref name="count"/> infinite values (requests dropped: above every bucket).</summary>
    public void AddInfinite(long count = 1)
    {
        if (count > 0)
        {
            Infinite += count;
            Count += count;
        }
    }

    /// <summary>Empties the histogram, keeping its buckets' memory.</summary>
    public void Clear()
    {
        if (_highest >= 0)
        {
            Array.Clear(_counts, _lowest, _highest - _lowest + 1);
        }

        _counts[0] = 0;
        _lowest = int.MaxValue;
        _highest = -1;
        _sum = 0;
        Count = 0;
        Infinite = 0;
        Max = 0;
    }

    /// <summary>The bucket of the nearest-rank <paramref name="percent"/> percentile; -1 when it falls on an infinite value or nothing was added.</summary>
    public int PercentileBucket(double percent)
    {
        if (Count == 0)
        {
            return -1;
        }

        // The rank less a nanounit, so that a product such as 0.95 * 100 a hair above its integer keeps its rank.
        var rank = Math.Max(1, (long)Math.Ceiling((percent / 100.0 * Count) - 1e-9));
        var seen = _counts[0];
        if (seen >= rank)
        {
            return 0;
        }

        for (var b = Math.Max(1, _lowest); b <= _highest; b++)
        {
            seen += _counts[b];
            if (seen >= rank)
            {
                return b;
            }
        }

        return -1;
    }

    /// <summary>The nearest-rank <paramref name="percent"/> percentile, its bucket's upper edge in the layout's unit; infinity when it falls on an infinite value; 0 when empty.</summary>
    public double Percentile(double percent)
    {
        if (Count == 0)
        {
            return 0;
        }

        var b = PercentileBucket(percent);
        return b < 0 ? double.PositiveInfinity : TLayout.UpperEdge(b);
    }

    /// <summary>This histogram read in seconds, for a unit of 1 / <paramref name="unitsPerSecond"/> s.</summary>
    public ILatencyPercentiles InSeconds(double unitsPerSecond) => new Seconds(this, unitsPerSecond);

    private void Grow(int bucket)
    {
        var size = _counts.Length;
        while (size <= bucket)
        {
            size *= 2;
        }

        Array.Resize(ref _counts, size);
    }

    private sealed class Seconds(LatencyHistogram<TLayout> histogram, double unitsPerSecond) : ILatencyPercentiles
    {
        public bool IsEmpty => histogram.Count == 0;

        public double MeanSeconds => histogram.Finite == 0 ? double.NaN : histogram.Sum / histogram.Finite / unitsPerSecond;

        public double PercentileSeconds(double percent) => histogram.Percentile(percent) / unitsPerSecond;
    }
}
