using System.Runtime.CompilerServices;

namespace Autoscale.Backtesting.Histograms;

/// <summary>
/// <see cref="LatencyHistogram{TLayout}"/> on the <see cref="ServingLayout"/> buckets (1 ms or 1 %, whichever is coarser) with fractional counts, for the fluid
/// replay's cohorts (a share of a tick's requests has one latency). A percentile is the nearest rank's bucket's upper edge.
/// </summary>
/// <remarks>
/// Latencies are added in batches: <see cref="Add"/> only notes one, and the notes are bucketed together (a loop whose
/// iterations do not wait on each other) when they fill up or before anything is read. Every count goes into its bucket
/// and the total in the order added, so the sums are the ones adding each at once gives, to the bit. A histogram may feed
/// a companion (the first tokens of the interval a decision observes): every latency it buckets goes into the companion
/// too, and reading the companion buckets what its feeder noted first. Memory is fixed; adding allocates nothing. Not
/// thread-safe.
/// </remarks>
internal sealed class WeightedLatencyHistogram : ILatencyPercentiles
{
    /// <summary>Latencies noted before they are bucketed together.</summary>
    private const int Batch = 128;

    private readonly double[] _counts = new double[ServingLayout.Buckets];
    private int _lowest = int.MaxValue;
    private int _highest = -1;
    private double _count;
    private double _sum, _finite;

    /// <inheritdoc/>
    public double MeanSeconds => _finite > 0 ? _sum / _finite : double.NaN;

    private readonly double[] _noted = new double[2 * Batch];
    private int _notes;

    /// <summary>The companion fed every latency bucketed here.</summary>
    private readonly WeightedLatencyHistogram? _companion;

    /// <summary>The histogram feeding this one, when it is a companion.</summary>
    private WeightedLatencyHistogram? _feeder;

    public WeightedLatencyHistogram()
    {
    }

    /// <summary>A histogram that feeds <paramref name="companion"/> (which must not be added to directly) every latency it buckets.</summary>
    public WeightedLatencyHistogram(WeightedLatencyHistogram companion)
    {
        ArgumentNullException.ThrowIfNull(companion);
        if (companion._feeder is not null || companion._companion is not null)
        {
            throw new ArgumentException("the companion is fed already", nameof(companion));
        }

        _companion = companion;
        companion._feeder = this;
    }

    public double Count
    {
        get
        {
            Flush();
            return _count;
        }
    }

    /// <inheritdoc/>
    public bool IsEmpty => Count <= 0;

    /// <summary>Adds <paramref name="count"/> requests of one latency (none when the count is not positive).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(double seconds, double count)
    {
        if (!(count > 0))
        {
            return;
        }

        _sum += seconds * count;
        _finite += count;

        if (_notes == 2 * Batch)
        {
            Flush();
        }

        _noted[_notes] = seconds;
        _noted[_notes + 1] = count;
        _notes += 2;
    }

    /// <summary>Adds <paramref name="count"/> (positive) requests to bucket <paramref name="b"/>, after what was noted before.</summary>
    public void AddToBucket(int b, double count)
    {
        _sum += ServingLayout.UpperEdge(b) / 1e9 * count;
        _finite += count;
        Flush();
        Put(b, count);
    }

    /// <summary>Requests dropped: above every bucket.</summary>
    public void AddInfinite(double count)
    {
        if (count > 0)
        {
            Flush();
            _count += count;
        }
    }

    /// <summary>Buckets the latencies noted, in the order noted (and feeds the companion); a companion has its feeder do it.</summary>
    public void Flush()
    {
        if (_feeder is not null)
        {
            _feeder.Flush();
            return;
        }

        // The total and the extremes in registers, not through memory item by item (the same sums in the same order).
        var noted = _noted.AsSpan(0, _notes);
        var counts = _counts;
        var companion = _companion;
        var (total, lowest, highest) = (_count, _lowest, _highest);
        for (var i = 0; i + 1 < noted.Length; i += 2)
        {
            var (b, count) = (ServingLayout.BucketOfSeconds(noted[i]), noted[i + 1]);
            counts[b] += count;
            total += count;
            lowest = Math.Min(lowest, b);
            highest = Math.Max(highest, b);
            companion?.Put(b, count);
        }

        (_count, _lowest, _highest) = (total, lowest, highest);
        _notes = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Put(int b, double count)
    {
        _counts[b] += count;
        _count += count;
        if (b < _lowest)
        {
            _lowest = b;
        }

        if (b > _highest)
        {
            _highest = b;
        }
    }

    public void Clear()
    {
        Flush();
        if (_highest == _lowest)
        {
            // One bucket (an interval's first tokens, often).
            _counts[_lowest] = 0;
        }
        else if (_highest >= 0)
        {
            Array.Clear(_counts, _lowest, _highest - _lowest + 1);
        }

        _lowest = int.MaxValue;
        _highest = -1;
        _count = 0;
        _sum = 0;
        _finite = 0;
    }

    /// <summary>The nearest-rank percentile in seconds (its bucket's upper edge); infinity when it falls on a dropped request; 0 when empty.</summary>
    public double PercentileSeconds(double percent)
    {
        Flush();
        if (_count <= 0)
        {
            return 0;
        }

        var b = PercentileBucket(percent);
        return b < 0 ? double.PositiveInfinity : ServingLayout.UpperEdge(b) / 1e9;
    }

    /// <summary>The bucket of the nearest-rank percentile; -1 when it falls on a dropped request or nothing was added.</summary>
    public int PercentileBucket(double percent) => PercentileBuckets(percent, percent).Low;

    /// <summary>
    /// The buckets of two nearest-rank percentiles (<paramref name="low"/> not above <paramref name="high"/>) in one pass,
    /// each as <see cref="PercentileBucket"/> gives it.
    /// </summary>
    public (int Low, int High) PercentileBuckets(double low, double high)
    {
        Flush();

        // Ranks of whole requests: the fluid counts are shares of them (never past the count itself, which may be a
        // fraction of a request).
        if (_lowest == _highest && _count == _counts[_lowest])
        {
            // One bucket holds every request (an interval's few first tokens, often): every rank falls in it.
            return (_lowest, _lowest);
        }

        var lowRank = Math.Min(_count, Math.Max(1, Math.Ceiling((low / 100.0 * _count) - 1e-6)));
        var highRank = Math.Min(_count, Math.Max(1, Math.Ceiling((high / 100.0 * _count) - 1e-6)));

        // The buckets' sum and the running total add the same shares in different orders: over a hundred million
        // requests they differ by far more than a millionth, and the last rank would fall past every bucket.
        var slack = 1e-6 + (1e-9 * _count);
        var seen = 0.0;
        var found = -1;
        for (var b = _highest < 0 ? 0 : _lowest; b <= _highest; b++)
        {
            seen += _counts[b];
            if (found < 0 && seen >= lowRank - slack)
            {
                found = b;
            }

            if (seen >= highRank - slack)
            {
                return (found, b);
            }
        }

        return (found, -1);
    }

    /// <summary>The highest bucket holding a request; -1 when empty.</summary>
    public int HighestBucket
    {
        get
        {
            Flush();
            return _highest;
        }
    }
}
