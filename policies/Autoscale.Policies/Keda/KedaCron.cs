using System.Globalization;
using NodaTime;

namespace Autoscale.Policies.Keda;

/// <summary>
/// A five-field cron expression as KEDA's cron scaler reads it (robfig/cron's standard parser: minute, hour, day of
/// month, month, day of week; <c>*</c>, <c>?</c>, ranges, lists, steps, month and weekday names, the <c>@hourly</c>
/// family), evaluated in an IANA time zone.
/// </summary>
internal sealed class KedaCron
{
    private static readonly string[] Months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    private static readonly string[] Days = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

    private readonly ulong _minute;
    private readonly uint _hour;
    private readonly uint _dom;
    private readonly uint _month;
    private readonly uint _dow;
    private readonly bool _domStar;
    private readonly bool _dowStar;

    private KedaCron(ulong minute, uint hour, uint dom, uint month, uint dow, bool domStar, bool dowStar)
    {
        (_minute, _hour, _dom, _month, _dow, _domStar, _dowStar) = (minute, hour, dom, month, dow, domStar, dowStar);
    }

    /// <summary>Parses <paramref name="spec"/>; on failure returns null and says why in <paramref name="problem"/>.</summary>
    public static KedaCron? TryParse(string? spec, out string? problem)
    {
        problem = null;
        var text = (spec ?? "").Trim();
        text = text switch
        {
            "@yearly" or "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" or "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            _ => text,
        };
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 5)
        {
            problem = $"\"{spec}\" must have five fields (minute hour day-of-month month day-of-week), as KEDA's cron scaler reads it";
            return null;
        }

        try
        {
            var minute = Field(fields[0], 0, 59, null, "minute");
            var hour = Field(fields[1], 0, 23, null, "hour");
            var dom = Field(fields[2], 1, 31, null, "day of month");
            var month = Field(fields[3], 1, 12, Months, "month");
            var dow = Field(fields[4], 0, 7, Days, "day of week");
            if ((dow & (1UL << 7)) != 0)
            {
                dow |= 1; // 7 is Sunday too
            }

            return new KedaCron(minute, (uint)hour, (uint)dom, (uint)month, (uint)dow, IsStar(fields[2]), IsStar(fields[4]));
        }
        catch (FormatException e)
        {
            problem = $"\"{spec}\": {e.Message}";
            return null;
        }
    }

    private static bool IsStar(string field) => field.StartsWith('*') || field.StartsWith('?');

    private static ulong Field(string field, int min, int max, string[]? names, string what)
    {
        ulong bits = 0;
        foreach (var part in field.Split(','))
        {
            var (range, step) = part.Split('/') switch
            {
                [var r] => (r, 1),
                [var r, var s] when int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 => (r, n),
                _ => throw new FormatException($"the {what} field \"{field}\" has a bad step"),
            };
            int from, to;
            if (range is "*" or "?")
            {
                (from, to) = (min, max);
            }
            else
            {
                var ends = range.Split('-');
                if (ends.Length > 2)
                {
                    throw new FormatException($"the {what} field \"{field}\" has a bad range");
                }

                from = Value(ends[0], min, max, names, what, field);
                to = ends.Length == 2 ? Value(ends[1], min, max, names, what, field) : step > 1 ? max : from;
                if (from > to)
                {
                    throw new FormatException($"the {what} field \"{field}\" has a range that ends before it starts");
                }
            }

            for (var v = from; v <= to; v += step)
            {
                bits |= 1UL << v;
            }
        }

        return bits;
    }

    private static int Value(string text, int min, int max, string[]? names, string what, string field)
    {
        if (names is not null)
        {
            var index = Array.FindIndex(names, n => string.Equals(n, text, StringComparison.OrdinalIgnoreCase));
            if (index >= 0)
            {
                return names == Months ? index + 1 : index;
            }
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new FormatException($"the {what} field \"{field}\" must hold values from {min} to {max}");
        }

        return value;
    }

    private bool DayMatches(LocalDateTime t)
    {
        var dom = (_dom & (1u << t.Day)) != 0;
        var dow = (_dow & (1u << ((int)t.DayOfWeek % 7))) != 0;
        return _domStar || _dowStar ? dom && dow : dom || dow;
    }

    /// <summary>The first instant strictly after <paramref name="after"/> at which the expression fires in <paramref name="zone"/>; null when none within five years (robfig's bound).</summary>
    public Instant? Next(Instant after, DateTimeZone zone)
    {
        var local = after.InZone(zone).LocalDateTime;
        var t = new LocalDateTime(local.Year, local.Month, local.Day, local.Hour, local.Minute).PlusMinutes(1);
        var limit = t.Year + 5;
        while (t.Year <= limit)
        {
            if ((_month & (1u << t.Month)) == 0)
            {
                t = new LocalDateTime(t.Year, t.Month, 1, 0, 0).PlusMonths(1);
            }
            else if (!DayMatches(t))
            {
                t = t.Date.PlusDays(1).AtMidnight();
            }
            else if ((_hour & (1u << t.Hour)) == 0)
            {
                t = new LocalDateTime(t.Year, t.Month, t.Day, t.Hour, 0).PlusHours(1);
            }
            else if ((_minute & (1UL << t.Minute)) == 0)
            {
                t = t.PlusMinutes(1);
            }
            else
            {
                var at = t.InZoneLeniently(zone).ToInstant();
                if (at > after)
                {
                    return at;
                }

                t = t.PlusMinutes(1);
            }
        }

        return null;
    }
}
