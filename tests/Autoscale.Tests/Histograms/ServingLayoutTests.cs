using Autoscale.Backtesting.Histograms;
using Autoscale.Backtesting.Serving;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Autoscale.Tests.Histograms;

/// <summary>The table-driven latency bucket is the logarithmic definition, value for value.</summary>
public sealed class ServingLayoutTests
{
    [Fact]
    public void Every_bucket_edge_and_its_neighbours_land_where_the_definition_puts_them()
    {
        // Walk the buckets by their upper edges: each edge, one nanosecond either side, and the middle of the bucket.
        var checkedValues = 0;
        for (var b = 0; b < 2_400; b++)
        {
            var edge = (long)Math.Round(ServingLayout.UpperEdge(b));
            foreach (var n in new[] { edge - 1, edge, edge + 1, edge - (edge / 200) })
            {
                Assert.Equal(ServingLayout.BucketByLog(n), ServingLayout.Bucket(n));
                checkedValues++;
            }
        }

        Assert.Equal(9_600, checkedValues);
    }

    [Fact]
    public void The_extremes_match_the_definition()
    {
        foreach (var n in new[] { long.MinValue, -1L, 0L, 1L, 99_999_999L, 100_000_000L, 100_000_001L, 101_000_000L, 101_000_001L, (1L << 53) - 1, (1L << 53) + 1, (1L << 62) + 1, long.MaxValue / 2, long.MaxValue - 1, long.MaxValue })
        {
            Assert.Equal(ServingLayout.BucketByLog(n), ServingLayout.Bucket(n));
        }
    }

    [Property(MaxTest = 2_000)]
    public Property Any_latency_matches_the_definition() =>
        Prop.ForAll(
            Gen.Choose(0, 62).SelectMany(bits => Gen.Choose(0, int.MaxValue).Select(r => (long)((1L << bits) * (1 + (r / (double)int.MaxValue))))).ToArbitrary(),
            n => ServingLayout.Bucket(n) == ServingLayout.BucketByLog(n));

    [Property(MaxTest = 2_000)]
    public Property A_latency_in_seconds_is_bucketed_as_its_nanoseconds_rounded_up() =>
        Prop.ForAll(
            Gen.Choose(-40, 62).SelectMany(bits => Gen.Choose(0, int.MaxValue).Select(r => Math.Pow(2, bits) * (1 + (r / (double)int.MaxValue)) / 1e9)).ToArbitrary(),
            s => ServingLayout.BucketOfSeconds(s) == ServingLayout.Bucket((long)Math.Ceiling(Math.Max(0, s) * 1e9)));

    [Fact]
    public void Seconds_at_every_bucket_edge_and_the_extremes_are_bucketed_as_their_nanoseconds()
    {
        static int Reference(double s) => ServingLayout.Bucket((long)Math.Ceiling(double.MaxNative(0, s) * 1e9));
        for (var b = 0; b < 2_400; b++)
        {
            var edge = ServingLayout.UpperEdge(b) / 1e9;
            foreach (var s in new[] { edge, Math.BitDecrement(edge), Math.BitIncrement(edge), (Math.Round(edge * 1e9) + 1) / 1e9, (Math.Round(edge * 1e9) - 1) / 1e9 })
            {
                Assert.Equal(Reference(s), ServingLayout.BucketOfSeconds(s));
            }
        }

        foreach (var s in new[] { double.NegativeInfinity, -1, -0.0, 0, 1e-12, 0.1, 0.1000000001, 9007199.254740991, 9007199.254740993, 1e12, double.MaxValue, double.PositiveInfinity, double.NaN })
        {
            Assert.Equal(Reference(s), ServingLayout.BucketOfSeconds(s));
        }
    }
}
