using System.Globalization;
using NodaTime;
using NodaTime.Text;

namespace Autoscale.Traces;

/// <summary>
/// What a trace may hold, the same for every command that reads or writes one, so a file one command writes
/// another reads: timestamps from 1678 to 2261 (a replay's clock counts nanoseconds in 64 bits), at most
/// <see cref="MaxTicks"/> ticks, at most <see cref="MaxRequests"/> requests.
/// </summary>
public static class TraceLimits
{
    /// <summary>The earliest instant a trace may hold: 1678-01-01T00:00:00Z.</summary>
    public static readonly Instant Earliest = Instant.FromUtc(1678, 1, 1, 0, 0);

    /// <summary>The first instant after the latest a trace may hold: 2262-01-01T00:00:00Z.</summary>
    public static readonly Instant End = Instant.FromUtc(2262, 1, 1, 0, 0);

    /// <summary>The most ticks a replay runs: 68 years of 1-second ticks.</summary>
    public const long MaxTicks = int.MaxValue;

    /// <summary>The most requests a trace may hold (a count that sums past it would wrap).</summary>
    public const long MaxRequests = long.MaxValue / 4;

    /// <summary>The earliest instant, in nanoseconds since the Unix epoch.</summary>
    internal static long EarliestNanos { get; } = (Earliest - NodaConstants.UnixEpoch).ToInt64Nanoseconds();

    /// <summary>The end instant, in nanoseconds since the Unix epoch.</summary>
    internal static long EndNanos { get; } = (End - NodaConstants.UnixEpoch).ToInt64Nanoseconds();

    /// <summary>Whether an instant may appear in a trace.</summary>
    public static bool Contains(Instant instant) => instant >= Earliest && instant < End;

    /// <summary>The rule for timestamps, for messages.</summary>
    public const string TimestampRule = "timestamps must lie between 1678-01-01 and 2261-12-31 (a replay counts nanoseconds in 64 bits)";

    /// <summary>An instant as messages show it.</summary>
    internal static string Format(Instant instant) => InstantPattern.ExtendedIso.Format(instant);

    /// <summary>Ticks as messages show them: 2,147,483,647.</summary>
    internal static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>The reason a span of <paramref name="ticks"/> ticks of <paramref name="tick"/> cannot be replayed, or null.</summary>
    internal static string? TooManyTicks(decimal ticks, Duration tick, string what = "the trace spans") => ticks <= MaxTicks ? null
        : $"{what} {ticks.ToString("N0", CultureInfo.InvariantCulture)} ticks of {tick.TotalSeconds.ToString("R", CultureInfo.InvariantCulture)} s; a replay runs at most {Count(MaxTicks)} ticks (68 years of 1-second ticks): use a longer engine.tickSeconds or a shorter trace";
}
