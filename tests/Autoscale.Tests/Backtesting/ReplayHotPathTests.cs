using Autoscale.Backtesting.Engine;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Xunit;

namespace Autoscale.Tests.Backtesting;

/// <summary>The count replay's shortcuts on its hot path give exactly what the plain code gives.</summary>
public class ReplayHotPathTests
{
    private const long NanosPerDay = 86_400_000_000_000L;

    [Fact]
    public void InstantStepWritesNodaTimesLayout() =>
        // Else every step takes NodaTime's operator: right, but the properties below would not test the shortcut.
        Assert.True(InstantStep.LayoutHolds);

    [Property(MaxTest = 500)]
    public Property InstantStepEqualsNodaTimeAddition(long startNanos, long stepNanos, byte steps)
    {
        // Instants from about 1700 to 2240 (both sides of the epoch), steps from zero to more than a day.
        var start = Instant.FromUnixTimeTicks(startNanos % (270L * 365 * NanosPerDay) / 100);
        var step = Duration.FromNanoseconds(Math.Abs(stepNanos % (2 * NanosPerDay)));
        var fast = start;
        var plain = start;
        var stepper = new InstantStep(step);
        for (var i = 0; i < steps; i++)
        {
            stepper.Advance(ref fast);
            plain += step;
            if (fast != plain)
            {
                return false.Label($"after {i + 1} steps of {step}: {fast} != {plain}");
            }
        }

        return true.ToProperty();
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(NanosPerDay - 1)]
    [InlineData(-1L)]
    [InlineData(-NanosPerDay)]
    public void InstantStepCarriesIntoTheNextDay(long startNanos)
    {
        var start = Instant.FromUnixTimeTicks(0).PlusNanoseconds(startNanos);
        foreach (var step in new[] { Duration.FromNanoseconds(1), Duration.FromSeconds(1), Duration.FromHours(23), Duration.FromDays(1) - Duration.Epsilon, Duration.FromDays(1), Duration.FromDays(3) })
        {
            var instant = start;
            new InstantStep(step).Advance(ref instant);
            Assert.Equal(start + step, instant);
        }
    }

    [Fact]
    public void InstantStepPastTheEndThrowsAsNodaTimeDoes()
    {
        var instant = Instant.MaxValue - Duration.FromSeconds(1);
        var stepper = new InstantStep(Duration.FromSeconds(2));
        Assert.Throws<OverflowException>(() => stepper.Advance(ref instant));
    }

    [Property(MaxTest = 200)]
    public Property SignalFieldsSetWhatTheInitializerSets(int ready, int loading, long queue, long arrivals, long served, int maxReplicas, int seconds)
    {
        var now = Instant.FromUnixTimeSeconds(1_767_571_200 + seconds);
        var expected = new ScalingSignal(now, Duration.FromSeconds(1), ready, loading, queue, arrivals, 30, Duration.FromSeconds(25)) { ServedLastInterval = served, MaxReplicas = maxReplicas };

        // The count replay's way: one signal kept, its moving figures written over those of an earlier decision.
        var signal = new ScalingSignal(Instant.FromUnixTimeSeconds(7), Duration.FromSeconds(1), 3, 4, 5, 6, 30, Duration.FromSeconds(25)) { ServedLastInterval = 8 };
        SignalFields.Now(ref signal) = now;
        SignalFields.Ready(ref signal) = ready;
        SignalFields.Loading(ref signal) = loading;
        SignalFields.Queue(ref signal) = queue;
        SignalFields.Arrivals(ref signal) = arrivals;
        SignalFields.Served(ref signal) = served;
        SignalFields.MaxReplicas(ref signal) = maxReplicas;
        return (signal == expected && signal.Now == now && signal.ReadyReplicas == ready && signal.LoadingReplicas == loading && signal.QueueDepth == queue
            && signal.ArrivalsLastInterval == arrivals && signal.ServedLastInterval == served && signal.MaxReplicas == maxReplicas).ToProperty();
    }
}
