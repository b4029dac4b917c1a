using Autoscale.Backtesting.Histograms;
using Autoscale.Backtesting.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace Autoscale.Tests.Backtesting;

/// <summary>A queue that never drains and waits of any length cost bounded memory, exactly where it matters.</summary>
public sealed class BoundedQueueTests
{
    [Fact]
    public void A_queue_that_never_drains_holds_a_bounded_number_of_buckets_and_every_request()
    {
        var queue = new RequestQueue(mergeAfterTicks: 100);
        const long Ticks = 3_000_000;
        for (long t = 0; t < Ticks; t++)
        {
            queue.Enqueue(t, 1 + (t % 3));
        }

        // 65,536 young buckets, then at most about 1024 per doubling of the wait (and a ring a quarter free).
        Assert.True(queue.Buckets <= 2 * (TickLayout.DenseTicks + (1024 * 6)), $"{queue.Buckets} buckets");
        Assert.Equal(Enumerable.Range(0, (int)Ticks).Sum(t => 1L + (t % 3)), queue.Depth);
        Assert.Equal(0, queue.OldestTick);
    }

    [Fact]
    public void Merged_buckets_keep_each_request_within_a_thousandth_of_its_wait_and_the_young_ones_exact()
    {
        var queue = new RequestQueue(mergeAfterTicks: 1000);
        const long Ticks = 400_000;
        for (long t = 0; t < Ticks; t++)
        {
            queue.Enqueue(t, 1);
        }

        // Walk the buckets as the engine serves them: each request's recorded arrival is at or before its true one,
        // by at most 1/1024 of its wait at the end; the last 65,536 ticks are exact.
        var state = (Expected: 0L, Now: Ticks, Worst: 0.0, YoungExact: true);
        queue.ForEach(ref state, static (ref s, arrival, count) =>
        {
            for (var i = 0; i < count; i++)
            {
                var truth = s.Expected++;
                Assert.True(arrival <= truth);
                s.Worst = Math.Max(s.Worst, (truth - arrival) / (double)(s.Now - truth));
                s.YoungExact &= s.Now - truth > TickLayout.DenseTicks || arrival == truth;
            }
        });

        Assert.Equal(Ticks, state.Expected);
        Assert.True(state.Worst <= 1.0 / 1024 * 1.01, $"worst relative error {state.Worst}");
        Assert.True(state.YoungExact);
    }

    [Fact]
    public void Long_waits_are_percentiles_within_a_thousandth_and_never_above_the_longest()
    {
        Prop.ForAll(
            Gen.ListOf(Gen.Choose(0, 60_000_000).Select(w => (long)w)).ToArbitrary(),
            waits =>
            {
                var histogram = new LatencyHistogram<TickLayout>();
                foreach (var wait in waits)
                {
                    histogram.Add(wait, 1);
                }

                var sorted = waits.Order().ToArray();
                foreach (var percent in new[] { 1.0, 50, 95, 99, 99.9, 100 })
                {
                    if (sorted.Length == 0)
                    {
                        continue;
                    }

                    var exact = sorted[Math.Max(0, (int)Math.Ceiling(percent / 100 * sorted.Length) - 1)];
                    var measured = histogram.WaitTicks(percent);
                    Assert.True(measured >= exact && measured <= Math.Max(exact, histogram.Max), $"p{percent}: {measured} vs {exact}");
                    Assert.True(exact < TickLayout.DenseTicks ? measured == exact : measured - exact < exact / 1024.0 + 1, $"p{percent}: {measured} vs {exact}");
                }
            }).QuickCheckThrowOnFailure();
    }
}
