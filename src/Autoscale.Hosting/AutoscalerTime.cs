using NodaTime;

namespace Autoscale.Hosting;

/// <summary>
/// The one time source of the live loop: it waits and reads time through a <see cref="TimeProvider"/>, and the NodaTime
/// <see cref="IClock"/> it hands policies their instants with is derived from that provider.
/// </summary>
/// <remarks>
/// Resolved from what the application registered: a <see cref="TimeProvider"/> alone (or nothing: the system's) is the
/// source, and the <see cref="IClock"/> in the container is derived from it. An <see cref="IClock"/> registered alone
/// (before issue 35 the loop read instants from it) keeps working: the loop reads the clock's instants and waits on the
/// system's timers. One object that is both is the source. An <see cref="IClock"/> and a different
/// <see cref="TimeProvider"/> are two times and are refused when the loop is built.
/// </remarks>
internal static class AutoscalerTime
{
    /// <summary>The provider the loop waits on and the clock it reads, from the container's registrations.</summary>
    /// <exception cref="InvalidOperationException">Both an <see cref="IClock"/> and a different <see cref="TimeProvider"/> are registered.</exception>
    public static (TimeProvider Time, IClock Clock) Resolve(IClock clock, TimeProvider time)
    {
        if (clock is DerivedClock derived)
        {
            return (derived.Time, derived);
        }

        if (ReferenceEquals(clock, time))
        {
            return (time, clock);
        }

        if (ReferenceEquals(time, TimeProvider.System))
        {
            // A user's IClock alone: its instants, the system's waits.
            return (time, clock);
        }

        throw new InvalidOperationException(
            $"The autoscaler reads time from one TimeProvider, but both a NodaTime IClock ({clock.GetType().Name}) and a TimeProvider ({time.GetType().Name}) are registered: "
            + "register only the TimeProvider (the IClock is derived from it), or only the IClock (its instants are read, waits use the system's timers).");
    }

    /// <summary>The NodaTime clock of a <see cref="TimeProvider"/>: its UTC now as an instant.</summary>
    internal sealed class DerivedClock(TimeProvider time) : IClock
    {
        public TimeProvider Time { get; } = time;

        public Instant GetCurrentInstant() => Instant.FromDateTimeOffset(Time.GetUtcNow());
    }
}
