using System.Numerics;
using System.Runtime.CompilerServices;

namespace Autoscale.Backtesting.Histograms;

/// <summary>
/// The count replay's layout, in whole ticks: one bucket per tick below <see cref="DenseTicks"/>, so those waits are
/// exact; above, each doubling in <see cref="SubBuckets"/> buckets of equal width (HdrHistogram's scheme at three
/// significant digits), so a long wait's percentile is within 0.1 % and the buckets stay few (at most 113,664 for any
/// wait a long holds).
/// </summary>
internal readonly struct TickLayout : IBucketLayout
{
    /// <summary>Waits below this many ticks have a bucket each.</summary>
    public const int DenseTicks = 1 << 16;

    /// <summary>Buckets per doubling of a wait of at least <see cref="DenseTicks"/>.</summary>
    public const int SubBuckets = 1 << 10;

    private const int DenseBits = 16;
    private const int SubBits = 10;

    /// <inheritdoc/>
    public static int InitialBuckets => 64;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Bucket(long value)
    {
        if (value < DenseTicks)
        {
            return (int)Math.Max(0, value);
        }

        var doubling = 63 - BitOperations.LeadingZeroCount((ulong)value);
        var within = (int)(value >> (doubling - SubBits)) - SubBuckets;
        return DenseTicks + ((doubling - DenseBits) * SubBuckets) + within;
    }

    /// <summary>The lowest wait of <paramref name="bucket"/>.</summary>
    public static long LowestIn(int bucket)
    {
        if (bucket < DenseTicks)
        {
            return bucket;
        }

        var (doubling, within) = Math.DivRem(bucket - DenseTicks, SubBuckets);
        return (long)(SubBuckets + within) << (doubling + DenseBits - SubBits);
    }

    /// <summary>The highest wait of <paramref name="bucket"/>.</summary>
    public static long HighestIn(int bucket) =>
        bucket < DenseTicks ? bucket : LowestIn(bucket) + (1L << (((bucket - DenseTicks) / SubBuckets) + DenseBits - SubBits)) - 1;

    /// <inheritdoc/>
    public static double UpperEdge(int bucket) => HighestIn(bucket);
}

/// <summary>The count replay's reading of a <see cref="TickLayout"/> histogram.</summary>
internal static class TickHistogram
{
    /// <summary>
    /// The nearest-rank <paramref name="percent"/> percentile in whole ticks: exact below <see cref="TickLayout.DenseTicks"/>,
    /// above it the highest wait of its bucket but never above the longest wait seen (which is exact); 0 when empty.
    /// </summary>
    public static long WaitTicks(this LatencyHistogram<TickLayout> histogram, double percent)
    {
        var b = histogram.PercentileBucket(percent);
        return b < 0 ? histogram.Max : Math.Min(histogram.Max, TickLayout.HighestIn(b));
    }
}
