using Autoscale.Backtesting.Histograms;
using Autoscale.Backtesting.Serving;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Autoscale.Tests.Histograms;

/// <summary>
/// The fluid replay's histograms note latencies and bucket them in batches: every read gives, to the bit, what bucketing
/// each latency at once gives, and a companion sees every latency its feeder buckets.
/// </summary>
public sealed class WeightedHistogramTests
{
    /// <summary>One step: add a latency (kind 0), add dropped requests (1), add to the first bucket (2), read (3), clear (4).</summary>
    public sealed record Op(int Kind, double Seconds, double Count);

    private static Gen<Op> Ops =>
        from kind in Gen.Frequency((40, Gen.Constant(0)), (2, Gen.Constant(1)), (2, Gen.Constant(2)), (4, Gen.Constant(3)), (1, Gen.Constant(4)))
        from seconds in Gen.OneOf(
            Gen.Choose(0, 200_000).Select(ms => ms / 1000.0),
            Gen.Choose(-5, 5).Select(s => s * 0.001 + 0.1),
            Gen.Elements(0.0, -1.0, 1e7, 2.5, 2.5000000001))
        from count in Gen.OneOf(Gen.Choose(-1, 40).Select(c => c / 7.0), Gen.Elements(1.0, 0.0))
        select new Op(kind, seconds, count);

    [Property(MaxTest = 300)]
    public Property Batched_adds_read_as_adds_at_once() =>
        Prop.ForAll(Ops.ArrayOf().Select(a => a.Concat(Enumerable.Repeat(new Op(0, 1.25, 1), 300)).Concat([new Op(3, 0, 0)]).ToArray()).ToArbitrary(), ops =>
        {
            // The reference buckets each latency as it comes (flushing after every add); both feed a companion.
            var (batchedInterval, onceInterval) = (new WeightedLatencyHistogram(), new WeightedLatencyHistogram());
            var batched = new WeightedLatencyHistogram(batchedInterval);
            var once = new WeightedLatencyHistogram(onceInterval);
            var reads = new List<string>();
            foreach (var op in ops)
            {
                foreach (var (h, interval, flush) in new[] { (batched, batchedInterval, false), (once, onceInterval, true) })
                {
                    switch (op.Kind)
                    {
                        case 0:
                            h.Add(op.Seconds, op.Count);
                            if (flush)
                            {
                                h.Flush();
                            }

                            break;
                        case 1:
                            h.AddInfinite(op.Count);
                            break;
                        case 2 when op.Count > 0:
                            h.AddToBucket(0, op.Count);
                            break;
                        case 3:
                            reads.Add(Read(h) + " / " + Read(interval));
                            break;
                        case 4:
                            interval.Clear();
                            break;
                    }
                }
            }

            var pairs = reads.Chunk(2).ToList();
            return pairs.All(p => p[0] == p[1]).Label(string.Join("\n", pairs.Where(p => p[0] != p[1]).Take(3).Select(p => $"batched {p[0]}\nat once {p[1]}")));
        });

    [Fact]
    public void A_companion_reads_what_its_feeder_has_noted()
    {
        var interval = new WeightedLatencyHistogram();
        var ttft = new WeightedLatencyHistogram(interval);
        ttft.Add(0.25, 2);
        ttft.Add(3.0, 1);

        Assert.Equal(3, interval.Count);
        Assert.Equal(0.25, ServingLayout.UpperEdge(interval.PercentileBucket(50)) / 1e9, 2);
        Assert.Equal(3, ttft.Count);
        interval.Clear();
        Assert.Equal(0, interval.Count);
        Assert.Equal(3, ttft.Count);
        Assert.Throws<ArgumentException>(() => new WeightedLatencyHistogram(interval));
    }

    [Property(MaxTest = 300)]
    public Property Two_percentiles_in_one_pass_are_each_as_alone() =>
        Prop.ForAll(
            (from adds in (from ms in Gen.Choose(0, 5_000) from count in Gen.Choose(1, 30) select (ms, count)).ArrayOf()
             from dropped in Gen.Choose(0, 3)
             from low in Gen.Choose(0, 100)
             from high in Gen.Choose(0, 100)
             select (adds, dropped, Math.Min(low, high), Math.Max(low, high))).ToArbitrary(),
            x =>
            {
                var h = new WeightedLatencyHistogram();
                foreach (var (ms, count) in x.adds)
                {
                    h.Add(ms / 1000.0, count / 7.0);
                }

                h.AddInfinite(x.dropped);
                return h.PercentileBuckets(x.Item3, x.Item4) == (h.PercentileBucket(x.Item3), h.PercentileBucket(x.Item4));
            });

    private static string Read(WeightedLatencyHistogram h)
    {
        var count = h.Count;
        return $"{count:R} {h.HighestBucket} {string.Join(',', new[] { 0.0, 50, 90, 99, 100 }.Select(p => h.PercentileSeconds(p).ToString("R")))} {h.PercentileBucket(95)}";
    }
}
