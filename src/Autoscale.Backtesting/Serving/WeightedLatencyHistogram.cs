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

    public void Add(double seconds, double count)
    {
        if (!(count > 0))
        {
            return;
        }

        var b = LatencyHistogram.Bucket((long)Math.Ceiling(Math.Max(0, seconds) * 1e9));
        _counts[b] += count;
        Count += count;
        _lowest = Math.Min(_lowest, b);
        _highest = Math.Max(_highest, b);
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

        // Ranks of whole requests: the fluid counts are shares of them.
        // (never past the count itself, which may be a fraction of a request).
        var rank = Math.Min(Count, Math.Max(1, Math.Ceiling((percent / 100.0 * Count) - 1e-6)));
        var seen = 0.0;
        for (var b = _highest < 0 ? 0 : _lowest; b <= _highest; b++)
        {
            seen += _counts[b];
            if (seen >= rank - 1e-6)
            {
                return LatencyHistogram.UpperEdgeNanos(b) / 1e9;
            }
        }

        return double.PositiveInfinity;
    }
}
