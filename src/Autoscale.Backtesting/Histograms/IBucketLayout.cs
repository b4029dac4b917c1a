namespace Autoscale.Backtesting.Histograms;

/// <summary>
/// How a <see cref="LatencyHistogram{TLayout}"/> cuts values into buckets: which bucket a value (in the layout's unit,
/// never negative) falls in, and the value a percentile landing in a bucket reports (its upper edge). Buckets are
/// numbered from 0 in increasing order of their values.
/// </summary>
/// <remarks>
/// Two layouts exist: <see cref="TickLayout"/> (the count replay's waits in whole ticks: exact below 65,536, then three
/// significant digits) and <see cref="ServingLayout"/> (the serving replays' latencies in nanoseconds: 1 ms up to
/// 100 ms, then 1 %). Each keeps the resolution its replay has always printed; see docs/architecture.md.
/// </remarks>
internal interface IBucketLayout
{
    /// <summary>Buckets a new histogram holds before it grows.</summary>
    static abstract int InitialBuckets { get; }

    /// <summary>The bucket of <paramref name="value"/> (a negative value is taken as 0).</summary>
    static abstract int Bucket(long value);

    /// <summary>What a percentile falling in <paramref name="bucket"/> reports: the bucket's upper edge, in the layout's unit.</summary>
    static abstract double UpperEdge(int bucket);
}
