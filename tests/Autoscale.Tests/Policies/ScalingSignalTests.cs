using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;

namespace Autoscale.Tests.Policies;

/// <summary>The signal's latencies, kept packed: every duration a server can report reads back as given, and none as none.</summary>
public sealed class ScalingSignalTests
{
    private static ScalingSignal Empty => new(Instant.FromUtc(2026, 1, 5, 0, 0), Duration.FromSeconds(15), 1, 0, 0, 0, 10, Duration.FromSeconds(60));

    [Fact]
    public void Latencies_are_none_until_given()
    {
        var signal = Empty;
        Assert.Null(signal.TtftP50LastInterval);
        Assert.Null(signal.TtftP95LastInterval);
        Assert.Null(signal.TtftMeanLastInterval);
        Assert.Null(signal.ItlMeanLastInterval);
        Assert.Equal(ServingPool.Colocated, signal.Pool);
        Assert.Null(signal.Performance);
    }

    [Property(MaxTest = 300)]
    public Property Every_latency_reads_back_as_given_and_equality_follows_it()
    {
        var nanos = Gen.OneOf(Gen.Choose(-1000, 1000).Select(n => (long)n), Gen.Elements(0L, -1L, 1L, long.MaxValue, long.MinValue + 1, 86_400_000_000_000L));
        var gen = from a in nanos from b in nanos from some in Gen.Elements(true, false) select (a, b, some);
        return Prop.ForAll(gen.ToArbitrary(), c =>
        {
            Duration? a = c.some ? Duration.FromNanoseconds(c.a) : null;
            var signal = Empty with { TtftP50LastInterval = a, TtftP95LastInterval = Duration.FromNanoseconds(c.b), TtftMeanLastInterval = a, ItlMeanLastInterval = Duration.FromNanoseconds(c.b) };
            var same = Empty with { TtftP50LastInterval = a, TtftP95LastInterval = Duration.FromNanoseconds(c.b), TtftMeanLastInterval = a, ItlMeanLastInterval = Duration.FromNanoseconds(c.b) };
            return (signal.TtftP50LastInterval == a && signal.TtftMeanLastInterval == a).Label("as given, none as none")
                .And((signal.TtftP95LastInterval == Duration.FromNanoseconds(c.b) && signal.ItlMeanLastInterval == Duration.FromNanoseconds(c.b)).Label("zero and negative too"))
                .And((signal == same).Label("equal signals are equal"))
                .And((c.some || signal != (Empty with { TtftP50LastInterval = Duration.Zero, TtftP95LastInterval = Duration.FromNanoseconds(c.b), TtftMeanLastInterval = Duration.Zero, ItlMeanLastInterval = Duration.FromNanoseconds(c.b) })).Label("none is not zero"));
        });
    }
}
