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

    /// <summary>The IANA time zone the schedule is written in, e.g. <c>Europe/Berlin</c>.</summary>
    [Option]
    public string TimeZone { get; set; } = "UTC";

    /// <summary>The windows (each: <c>days</c>, <c>from</c>, <c>to</c>, <c>minReplicas</c>); where several cover an instant, the largest floor applies.</summary>
    [Option]
    public List<ScheduleWindow> Schedule { get; set; } = [];

    /// <summary>The floor outside every window.</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int DefaultMinReplicas { get; set; }

    /// <summary>Start loading ahead of each window by the expected load time plus one decision interval, so the floor is ready when the window opens.</summary>
    [Option]
    public bool PreWarm { get; set; } = true;

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(ScheduleWindow))]
    public override IReadOnlyList<string> Validate()
    {
        var errors = base.Validate().ToList();
        if (DateTimeZoneProviders.Tzdb.GetZoneOrNull(TimeZone) is null)
        {
            errors.Add($"timeZone (\"{TimeZone}\") must be an IANA time zone such as Europe/Berlin");
        }

        for (var i = 0; i < Schedule.Count; i++)
        {
            if (Schedule[i] is { } window && window.MinReplicas > MaxReplicas)
            {
                errors.Add($"schedule[{i}].minReplicas ({window.MinReplicas}) must be <= maxReplicas ({MaxReplicas})");
            }
        }

        if (DefaultMinReplicas > MaxReplicas)
        {
            errors.Add($"defaultMinReplicas ({DefaultMinReplicas}) must be <= maxReplicas ({MaxReplicas})");
        }

        return errors;
    }
}
