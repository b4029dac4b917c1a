using Autoscale.Policies.Reactive;
using NodaTime;

namespace Autoscale.Policies.ScheduledFloor;

/// <summary>
/// Options of <see cref="ScheduledFloorPolicy"/>: floors by local time in an IANA time zone, and every
/// reactive option for scaling above them. <see cref="ReactiveOptions.MinReplicas"/> (default 0 here)
/// is the reactive part's own floor; the schedule's floors apply on top of it.
/// </summary>
public sealed class ScheduledFloorOptions : ReactiveOptions
{
    /// <summary>Creates the options; the reactive part may scale to zero outside the windows.</summary>
    public ScheduledFloorOptions()
    {
        MinReplicas = 0;
    }

    /// <summary>The IANA time zone the schedule is written in, e.g. <c>Europe/Berlin</c>. Default UTC.</summary>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>The windows; where several cover an instant, the largest floor applies.</summary>
    public List<ScheduleWindow> Schedule { get; set; } = [];

    /// <summary>The floor outside every window. Default 0.</summary>
    public int DefaultMinReplicas { get; set; }

    /// <summary>Start loading ahead of each window by the expected load time (plus one interval). Default true.</summary>
    public bool PreWarm { get; set; } = true;

    /// <inheritdoc />
    public override IReadOnlyList<string> Validate()
    {
        var errors = base.Validate().ToList();
        if (DateTimeZoneProviders.Tzdb.GetZoneOrNull(TimeZone) is null)
        {
            errors.Add($"TimeZone (\"{TimeZone}\") must be an IANA time zone such as Europe/Berlin");
        }

        if (DefaultMinReplicas < 0)
        {
            errors.Add($"DefaultMinReplicas ({DefaultMinReplicas}) must be >= 0");
        }

        for (var i = 0; i < Schedule.Count; i++)
        {
            if (Schedule[i] is null)
            {
                errors.Add($"Schedule[{i}] must be a window object");
                continue;
            }

            errors.AddRange(Schedule[i].Validate(i));
            if (Schedule[i].MinReplicas > MaxReplicas)
            {
                errors.Add($"Schedule[{i}].MinReplicas ({Schedule[i].MinReplicas}) must be <= MaxReplicas ({MaxReplicas})");
            }
        }

        if (DefaultMinReplicas > MaxReplicas)
        {
            errors.Add($"DefaultMinReplicas ({DefaultMinReplicas}) must be <= MaxReplicas ({MaxReplicas})");
        }

        return errors;
    }
}
