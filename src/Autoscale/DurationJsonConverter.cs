using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using NodaTime;
using NodaTime.Text;

namespace Autoscale;

/// <summary>
/// Reads a duration option the ways users write one: a number of seconds (<c>15</c>, <c>0.5</c>), a number with a
/// unit (<c>"90s"</c>, <c>"5m"</c>, <c>"2h"</c>, <c>"1d"</c>, <c>"250ms"</c>), an ISO-8601 period (<c>"PT15S"</c>) or a
/// .NET time span (<c>"00:00:15"</c>). Writes seconds. The one time type of options is <see cref="Duration"/>.
/// </summary>
public sealed partial class DurationJsonConverter : JsonConverter<Duration>
{
    /// <summary>The longest duration an option may hold: a hundred years, far inside NodaTime's range.</summary>
    public static readonly Duration Limit = OptionDuration.Limit;

    /// <inheritdoc />
    public override Duration Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.Number => FromSeconds(reader.GetDouble()),
        JsonTokenType.String => Parse(reader.GetString()!) ?? throw new JsonException($"\"{reader.GetString()}\" is not a duration such as 15, \"90s\", \"5m\", \"PT15S\" or \"00:00:15\""),
        _ => throw new JsonException("a duration must be a number of seconds or a text such as \"90s\""),
    };

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, Duration value, JsonSerializerOptions options) => writer.WriteNumberValue(value.TotalSeconds);

    /// <summary>Parses a duration as an option gives it; null when it is not one.</summary>
    public static Duration? Parse(string text)
    {
        text = text.Trim();
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            return FromSeconds(seconds);
        }

        var match = WithUnit().Match(text);
        if (match.Success && double.TryParse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount))
        {
            var factor = match.Groups[2].Value switch
            {
                "ms" => 0.001,
                "s" => 1,
                "m" or "min" => 60,
                "h" => 3600,
                "d" => 86_400,
                _ => 604_800,
            };
            return FromSeconds(amount * factor);
        }

        if (text.StartsWith('P') || text.StartsWith("-P", StringComparison.Ordinal))
        {
            // Years and months have no fixed length: such a period is no duration.
            var period = PeriodPattern.NormalizingIso.Parse(text);
            if (!period.Success || period.Value is not { Years: 0, Months: 0 } p)
            {
                return null;
            }

            // Bounded before NodaTime sums it in nanoseconds (a long), which a million days overflows.
            var approximate = (p.Weeks * 604_800.0) + (p.Days * 86_400.0) + (p.Hours * 3600.0) + (p.Minutes * 60.0) + p.Seconds
                + (p.Milliseconds / 1e3) + (p.Ticks / 1e7) + (p.Nanoseconds / 1e9);
            return Math.Abs(approximate) > Limit.TotalSeconds * 1.01 ? throw new JsonException("a duration must be at most a hundred years") : Checked(p.ToDuration());
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) ? Checked(Duration.FromTimeSpan(span)) : null;
    }

    private static Duration FromSeconds(double seconds)
    {
        if (!double.IsFinite(seconds) || Math.Abs(seconds) > Limit.TotalSeconds)
        {
            throw new JsonException($"{seconds.ToString("R", CultureInfo.InvariantCulture)} s is not a duration of at most a hundred years");
        }

        return OptionDuration.FromSeconds(seconds);
    }

    private static Duration Checked(Duration duration) =>
        Duration.Max(duration, -duration) <= Limit ? duration : throw new JsonException("a duration must be at most a hundred years");

    [GeneratedRegex(@"^([-+]?[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(ms|s|min|m|h|d|w)$")]
    private static partial Regex WithUnit();
}
