using NodaTime;

namespace Autoscale;

/// <summary>
/// Durations in options: every time an options class holds is a <see cref="Duration"/>, read from a number of seconds or a
/// text such as <c>"90s"</c> (the binder's converter) and kept to the nanosecond. These convert from and to the seconds the
/// engine's settings and arithmetic use.
/// </summary>
public static class OptionDuration
{
    /// <summary>The longest duration an option may hold: a hundred years, far inside <see cref="Duration"/>'s range.</summary>
    public static readonly Duration Limit = Duration.FromDays(36_525);

    /// <summary>
    /// <paramref name="seconds"/> rounded to the nearest nanosecond, so a decimal number of seconds with up to nine places
    /// converts back (<see cref="Duration.TotalSeconds"/>) to the same double. Beyond <see cref="Limit"/> (or infinite) it
    /// saturates at <see cref="Duration.MaxValue"/> or <see cref="Duration.MinValue"/>, which validation then refuses.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="seconds"/> is NaN.</exception>
    public static Duration FromSeconds(double seconds)
    {
        if (double.IsNaN(seconds))
        {
            throw new ArgumentOutOfRangeException(nameof(seconds), "a duration must be a number of seconds, not NaN");
        }

        return Math.Abs(seconds) > Limit.TotalSeconds
            ? (seconds > 0 ? Duration.MaxValue : Duration.MinValue)
            : Duration.FromNanoseconds(Math.Round(seconds * 1e9));
    }

    /// <summary><see cref="FromSeconds(double)"/> of a value that may be absent.</summary>
    public static Duration? FromSeconds(double? seconds) => seconds is { } s ? FromSeconds(s) : null;

    /// <summary>The seconds of a duration that may be absent.</summary>
    public static double? Seconds(Duration? duration) => duration?.TotalSeconds;
}
