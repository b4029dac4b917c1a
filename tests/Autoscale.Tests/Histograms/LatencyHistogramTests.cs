using Autoscale.Backtesting.Histograms;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Autoscale.Tests.Histograms;

/// <summary>The one latency histogram, on both layouts: buckets that tile the values, and percentiles that are the nearest rank's bucket.</summary>
public sealed class LatencyHistogramTests
{
    [Fact]
    public void Tick_buckets_tile_every_wait_from_zero_to_the_largest_long()
    {
        // Exact below 65,536; then 1,024 buckets per doubling, each starting where the last ended.
        Assert.Equal(0, TickLayout.Bucket(0));
        Assert.Equal(65_535, TickLayout.Bucket(65_535));
        Assert.Equal(65_536, TickLayout.Bucket(65_536));
        Assert.Equal(65_536, TickLayout.Bucket(65_536 + 63));
        Assert.Equal(65_537, TickLayout.Bucket(65_536 + 64));
        var last = TickLayout.Bucket(long.MaxValue);
        Assert.Equal(65_536 + (47 * 1024) - 1, last);
        Assert.Equal(long.MaxValue, TickLayout.HighestIn(last));
        for (var b = 0; b < last; b++)
        {
            Assert.Equal(TickLayout.HighestIn(b) + 1, TickLayout.LowestIn(b + 1));
        }
    }

    [Property(MaxTest = 2_000)]
    public Property A_tick_wait_lies_in_its_bucket_which_is_a_thousandth_of_it_wide() =>
        Prop.ForAll(
            Gen.Choose(0, 62).SelectMany(bits => Gen.Choose(0, int.MaxValue).Select(r => bits == 0 ? 0 : (long)((ulong)r * 0x9E3779B97F4A7C15UL >> (64 - bits)))).ToArbitrary(),
            wait =>
            {
                var b = TickLayout.Bucket(wait);
                var (low, high) = (TickLayout.LowestIn(b), TickLayout.HighestIn(b));
                var width = high - low + 1;
                return low <= wait && wait <= high && (wait < TickLayout.DenseTicks ? width == 1 : width <= (wait / 1024) + 1);
            });

    [Fact]
    public void A_rank_a_hair_above_its_integer_keeps_it()
    {
        // 7 / 100.0 * 100 is 7.000000000000001 in doubles: the 7th of 100 waits is the 7th percentile, not the 8th.
        var histogram = new LatencyHistogram<TickLayout>();
        for (var wait = 1; wait <= 100; wait++)
        {
            histogram.Add(wait);
        }

        Assert.True(7 / 100.0 * 100 > 7);
        Assert.Equal(7, histogram.WaitTicks(7));
        Assert.Equal(100, histogram.WaitTicks(100));
        Assert.Equal(1, histogram.WaitTicks(0));
    }

    [Fact]
    public void Zero_waits_count_in_the_first_bucket_and_an_empty_histogram_reads_zero()
    {
        var histogram = new LatencyHistogram<TickLayout>();
        Assert.Equal(0, histogram.WaitTicks(50));
        histogram.AddZero(3);
        histogram.AddZero(0);
        histogram.Add(5, 2);
        Assert.Equal((5L, 0L, 5L), (histogram.Count, histogram.Infinite, histogram.Max));
        Assert.Equal(0, histogram.WaitTicks(60));
        Assert.Equal(5, histogram.WaitTicks(61));
        histogram.Clear();
        Assert.Equal((0L, 0L, -1), (histogram.Count, histogram.Max, histogram.PercentileBucket(50)));
    }

    [Property(MaxTest = 300)]
    public Property A_serving_percentile_is_the_upper_edge_of_the_nearest_ranks_bucket() =>
        Prop.ForAll(
            (from latencies in Gen.Choose(0, 2_000_000).Select(us => us * 1000L).ArrayOf()
             from dropped in Gen.Choose(0, 3)
             from percent in Gen.Choose(0, 1000).Select(p => p / 10.0)
             select (latencies, dropped, percent)).ToArbitrary(),
            x =>
            {
                var histogram = new LatencyHistogram<ServingLayout>();
                foreach (var nanos in x.latencies)
                {
                    histogram.Add(nanos);
                }

                histogram.AddInfinite(x.dropped);
                var n = x.latencies.Length + x.dropped;
                if (n == 0)
                {
                    return histogram.Percentile(x.percent) == 0 && histogram.InSeconds(1e9).IsEmpty;
                }

                var sorted = x.latencies.Order().ToArray();
                var rank = Math.Max(1, (int)Math.Ceiling(x.percent / 100 * n));
                var expected = rank > sorted.Length ? double.PositiveInfinity : ServingLayout.UpperEdge(ServingLayout.Bucket(sorted[rank - 1]));
                var mean = sorted.Length == 0 ? double.NaN : sorted.Sum(v => (double)v) / sorted.Length / 1e9;
                var seconds = histogram.InSeconds(1e9);
                return histogram.Percentile(x.percent) == expected
                    && seconds.PercentileSeconds(x.percent) == expected / 1e9
                    && (double.IsNaN(mean) ? double.IsNaN(seconds.MeanSeconds) : Math.Abs(seconds.MeanSeconds - mean) <= 1e-12 * Math.Max(1, mean));
            });

    [Fact]
    public void A_zero_latency_reads_one_millisecond_on_the_serving_buckets()
    {
        var histogram = new LatencyHistogram<ServingLayout>();
        histogram.Add(0);
        Assert.Equal(0.001, histogram.InSeconds(1e9).PercentileSeconds(50));
        histogram.AddInfinite(2);
        Assert.Equal(double.PositiveInfinity, histogram.Percentile(50));
    }

    [Fact]
    public void Memory_is_bounded_by_the_layout_not_the_waits()
    {
        var histogram = new LatencyHistogram<TickLayout>();
        foreach (var wait in new[] { long.MaxValue, 1L << 40, 70_000, 3 })
        {
            histogram.Add(wait, 1_000_000);
        }

        Assert.Equal(long.MaxValue, histogram.Max);
        Assert.Equal(long.MaxValue, histogram.WaitTicks(100));
        Assert.Equal(3, histogram.WaitTicks(25));
        Assert.Equal(70_015, TickLayout.HighestIn(TickLayout.Bucket(70_000)));
        Assert.Equal(70_015, histogram.WaitTicks(50));
        Assert.True(histogram.BucketsHeld <= 131_072, $"{histogram.BucketsHeld} buckets");
    }
}
