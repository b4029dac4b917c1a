using Autoscale.Traces;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Autoscale.Tests.Backtesting.Traces;

/// <summary>A trace's counts are totalled a block at a time; the total, and where it refuses, is adding them one by one against the limit.</summary>
public sealed class CountTotalTests
{
    private static long? OneByOne(long[] values)
    {
        long sum = 0;
        foreach (var value in values)
        {
            if (value > TraceLimits.MaxRequests - sum)
            {
                return null;
            }

            sum += value;
        }

        return sum;
    }

    [Property(MaxTest = 500)]
    public Property The_blocked_total_is_the_one_by_one_total() =>
        Prop.ForAll(
            (from length in Gen.Choose(0, 20_000)
             from small in Gen.Choose(0, 1_000)
             from huge in Gen.Elements(0L, 1L << 48, 1L << 49, 1L << 58, TraceLimits.MaxRequests / 3, TraceLimits.MaxRequests, long.MaxValue, -5L)
             from at in Gen.Choose(0, 19_999)
             from times in Gen.Choose(0, 4)
             select (length, small, huge, at, times)).ToArbitrary(),
            x =>
            {
                var values = Enumerable.Range(0, x.length).Select(i => (long)((i * 7919L) % (x.small + 1))).ToArray();
                for (var k = 0; k < x.times && x.length > 0; k++)
                {
                    values[(x.at + (k * 4099)) % x.length] = x.huge;
                }

                return (TraceReader.Total(values) == OneByOne(values)).Label($"length {x.length}, huge {x.huge} x{x.times}");
            });

    [Fact]
    public void Counts_just_under_the_limit_total_and_one_more_is_refused()
    {
        var values = new long[5000];
        values[4999] = TraceLimits.MaxRequests;
        Assert.Equal(TraceLimits.MaxRequests, TraceReader.Total(values));
        values[0] = 1;
        Assert.Null(TraceReader.Total(values));
        Assert.Equal(4096L * 3, TraceReader.Total(Enumerable.Repeat(3L, 4096).ToArray()));
    }
}
