using System.Runtime.CompilerServices;

namespace Autoscale.Backtesting.Serving;

/// <summary>
/// <see cref="LatencyHistogram"/>'s buckets (1 ms or 1 %, whichever is coarser) with fractional counts, for the fluid
/// replay's cohorts (a share of a tick's requests has one latency). A percentile is the nearest rank's bucket's upper edge.
/// </summary>
/// <remarks>Memory is fixed; adding allocates nothing. Not thread-safe.</remarks>
internal sealed class WeightedLatencyHistogram : ILatencyPercentiles
{
    private readonly double[] _counts = new double[2_400];
    private int _lowest = int.MaxValue;
    private int _highest = -1;

    public double Count { get; private set; }

    /// <summary>Adds <paramref name="count"/> requests of one latency; returns its bucket (-1 when the count is not positive).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Add(double seconds, double count)
    {
        if (!(count > 0))
        {
            return -1;
        }

        var b = LatencyHistogram.Bucket((long)Math.Ceiling(double.MaxNative(0, seconds) * 1e9));
        AddToBucket(b, count);
        return b;
    }

    /// <summary>Adds <paramref name="count"/> (positive) requests to bucket <paramref name="b"/>, as <see cref="Add"/> found it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddToBucket(int b, double count)
    {
        _counts[b] += count;
        Count += count;
        if (b < _lowest)
        {
            _lowest = b;
        }

        if (b > _highest)
        {
            _highest = b;
        }
    }

    /// <summary>Requests dropped: above every bucket.</summary>
    public void AddInfinite(double count)
    {
        if (count > 0)
        {
            Count += count;
        }
    }

    public void Clear()
    {
        if (_highest >= 0)
        {
            Array.Clear(_counts, _lowest, _highest - _lowest + 1);
        }

        _lowest = int.MaxValue;
        _highest = -1;
        Count = 0;
    }

    /// <summary>The nearest-rank percentile in seconds (its bucket's upper edge); infinity when it falls on a dropped request; 0 when empty.</summary>
    public double PercentileSeconds(double percent)
    {
        if (Count <= 0)
        {
            return 0;
        }

        var b = PercentileBucket(percent);
        return b < 0 ? double.PositiveInfinity : LatencyHistogram.UpperEdgeNanos(b) / 1e9;
    }

    /// <summary>The bucket of the nearest-rank percentile; -1 when it falls on a dropped request or nothing was added.</summary>
    public int PercentileBucket(double percent)
    {
        // Ranks of whole requests: the fluid counts are shares of them (never past the count itself, which may be a
        // fraction of a request).
        if (_lowest == _highest && Count == _counts[_lowest])
        {
            // One bucket holds every request (an interval's few first tokens, often): every rank falls in it.
            return _lowest;
        }

        var rank = Math.Min(Count, Math.Max(1, Math.Ceiling((percent / 100.0 * Count) - 1e-6)));
        var seen = 0.0;
        for (var b = _highest < 0 ? 0 : _lowest; b <= _highest; b++)
        {
            seen += _counts[b];
            if (seen >= rank - 1e-6)
            {
                return b;
            }
        }

        return -1;
    }

    /// <summary>The highest bucket holding a request; -1 when empty.</summary>
    public int HighestBucket => _highest;
}
