using Autoscale.Traces;
using NodaTime;
using NodaTime.Text;

namespace Autoscale.Cli.Commands;

/// <summary>Instants given on the command line: ISO-8601 with <c>Z</c> or an offset, within what a trace can hold.</summary>
internal static class CliInstant
{
    public static Instant Parse(string text, string option)
    {
        var trimmed = text.Trim();
        var utc = InstantPattern.ExtendedIso.Parse(trimmed);
        var instant = utc.Success ? utc.Value
            : OffsetDateTimePattern.ExtendedIso.Parse(trimmed) is { Success: true } offset ? offset.Value.ToInstant()
            : throw new UserInputException($"{option}: \"{text}\" is not an ISO-8601 instant such as 2026-01-05T00:00:00Z or 2026-01-05T09:00:00+09:00");
        return TraceLimits.Contains(instant) ? instant : throw new UserInputException($"{option}: {text}: {TraceLimits.TimestampRule}");
    }
}
