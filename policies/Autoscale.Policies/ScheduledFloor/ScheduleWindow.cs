using System.Globalization;
using NodaTime;
using NodaTime.Text;

namespace Autoscale.Policies.ScheduledFloor;

/// <summary>
/// One window of a schedule: on <see cref="Days"/>, from <see cref="From"/> to <see cref="To"/> local
/// time, keep at least <see cref="MinReplicas"/>. A window whose end is before its start runs overnight.
/// </summary>
public sealed class ScheduleWindow : IValidatableOptions
{
    private static readonly string[] DayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    /// <summary>Days, e.g. <c>Mon-Fri</c>, <c>Sat,Sun</c>, <c>Fri-Mon</c>, or <c>*</c> for every day.</summary>
    [Option]
    public string Days { get; set; } = "*";

    /// <summary>Local start time, <c>HH:mm</c>.</summary>
    [Option]
    public string From { get; set; } = "00:00";

    /// <summary>Local end time, <c>HH:mm</c> (exclusive; <c>24:00</c> for midnight); before <see cref="From"/> for a window overnight.</summary>
    [Option]
    public string To { get; set; } = "24:00";

    /// <summary>The floor during the window.</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int MinReplicas { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (ParseDays(Days) is null)
        {
            errors.Add($"days (\"{Days}\") must be days such as Mon-Fri, Sat,Sun or *");
        }

        if (ParseTime(From) is null || From == "24:00")
        {
            errors.Add($"from (\"{From}\") must be a local time HH:mm");
        }

        if (ParseTime(To) is null)
        {
            errors.Add($"to (\"{To}\") must be a local time HH:mm or 24:00");
        }

        if (From == To)
        {
            errors.Add($"from and to (\"{From}\") must differ");
        }

        return errors;
    }

    internal CompiledWindow Compile() => new(ParseDays(Days)!, ParseTime(From)!.Value, ParseTime(To)!.Value, MinReplicas);

    /// <summary>Which days (index 0 = Monday) a day expression names; for tests and tools.</summary>
    public static bool[] ParseDaysForTest(string text) => ParseDays(text) ?? throw new ArgumentException($"bad days \"{text}\"", nameof(text));

    /// <summary>Which ISO days (index 0 = Monday) a day expression names; null when it does not parse.</summary>
    internal static bool[]? ParseDays(string text)
    {
        var days = new bool[7];
        var trimmed = text.Trim().ToLowerInvariant();
        if (trimmed is "*" or "daily" or "all" or "every day")
        {
            Array.Fill(days, true);
            return days;
        }

        foreach (var part in trimmed.Split(',', StringSplitOptions.TrimEntries))
        {
            var range = part.Split('-', StringSplitOptions.TrimEntries);
            var first = Array.IndexOf(DayNames, range[0].Length >= 3 ? range[0][..3] : range[0]);
            var last = range.Length == 2 ? Array.IndexOf(DayNames, range[1].Length >= 3 ? range[1][..3] : range[1]) : first;
            if (range.Length > 2 || first < 0 || last < 0)
            {
                return null;
            }

            for (var d = first; ; d = (d + 1) % 7)
            {
                days[d] = true;
                if (d == last)
                {
                    break;
                }
            }
        }

        return days;
    }

    /// <summary>Minutes since midnight of <c>HH:mm</c> (24:00 is 1440); null when it does not parse.</summary>
    internal static int? ParseTime(string text)
    {
        if (text == "24:00")
        {
            return 1440;
        }

        var result = LocalTimePattern.CreateWithInvariantCulture("HH:mm").Parse(text);
        return result.Success ? result.Value.Hour * 60 + result.Value.Minute : null;
    }
}

/// <summary>A validated window: day flags (0 = Monday), minutes since midnight, and the floor.</summary>
internal sealed record CompiledWindow(bool[] Days, int FromMinute, int ToMinute, int MinReplicas)
{
    /// <summary>Whether the window covers the local wall-clock time given by day (0 = Monday) and minute of day.</summary>
    public bool Covers(int day, double minute)
    {
        if (FromMinute < ToMinute)
        {
            return Days[day] && minute >= FromMinute && minute < ToMinute;
        }

        // Overnight: the part after From belongs to the start day, the part before To to the day after it.
        return (Days[day] && minute >= FromMinute) || (Days[(day + 6) % 7] && minute < ToMinute);
    }
}
