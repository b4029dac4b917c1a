using Autoscale.Policies.Common;
using Autoscale.Policies.Reactive;
using NodaTime;
using NodaTime.TimeZones;

namespace Autoscale.Policies.ScheduledFloor;

/// <summary>
/// Floors by local time (KEDA's cron scaler, the textbook's "two replicas from 7am to 9pm") with
/// reactive scaling above them. It launches ahead of each window by the candidate's expected load
/// time plus one decision interval, so the floor is ready when the window opens.
/// </summary>
/// <remarks>
/// Daylight-saving time is resolved by the wall clock: an instant is in a window when its local time
/// in the zone is. On a spring-forward day a window that starts inside the skipped hour opens when the
/// clock jumps (its first existing local time), and one that ends inside it closes at the jump; on a
/// fall-back day the repeated hour is in a window both times it occurs. One instance per run; not thread-safe.
/// </remarks>
public sealed class ScheduledFloorPolicy : IScalingPolicy, IPolicyDiagnostics
{
    private const string ScheduleReason = "scheduled floor";
    private const string PreWarmReason = "pre-warming for a scheduled window";

    private readonly ScheduledFloorOptions _o;
    private readonly ReactivePolicy _reactive;
    private readonly DateTimeZone _zone;
    private readonly CompiledWindow[] _windows;
    private ZoneInterval? _zoneInterval;
    private readonly DecisionLog _log = new("the schedule", "the reactive part");

    /// <summary>Creates the policy; throws <see cref="InvalidOptionsException"/> for invalid options.</summary>
    public ScheduledFloorPolicy(ScheduledFloorOptions options)
    {
        // A copy of its own: the caller's object (or a factory's, shared by every run) may change later.
        options = OptionRules.Adopt(options);
        _o = options;
        _reactive = new ReactivePolicy(options);
        _zone = DateTimeZoneProviders.Tzdb[options.TimeZone];
        _windows = options.Schedule.Select(w => w.Compile()).ToArray();
    }

    /// <summary>The scheduled floor at <paramref name="instant"/> (the largest window covering its local time, or the default).</summary>
    public int FloorAt(Instant instant)
    {
        if (_zoneInterval is null || !_zoneInterval.Contains(instant))
        {
            _zoneInterval = _zone.GetZoneInterval(instant);
        }

        var local = instant.ToUnixTimeTicks() + _zoneInterval.WallOffset.Seconds * NodaConstants.TicksPerSecond;
        var days = Math.Floor(local / (double)NodaConstants.TicksPerDay);
        var minute = (local - (long)days * NodaConstants.TicksPerDay) / (double)NodaConstants.TicksPerMinute;
        var day = (int)(((long)days + 3) % 7 + 7) % 7; // 1970-01-01 was a Thursday (index 3 from Monday)
        var floor = _o.DefaultMinReplicas;
        foreach (var window in _windows)
        {
            if (window.MinReplicas > floor && window.Covers(day, minute))
            {
                floor = window.MinReplicas;
            }
        }

        return floor;
    }

    /// <inheritdoc />
    public ScalingDecision Decide(in ScalingSignal signal)
    {
        var reactive = _reactive.Decide(signal);
        var now = FloorAt(signal.Now);
        var ahead = _o.PreWarm ? FloorAt(signal.Now + signal.ExpectedLoadTime + signal.Interval) : 0;
        var floor = Math.Min(Math.Max(now, ahead), Math.Min(_o.MaxReplicas, signal.MaxReplicas));
        _log.Decided(floor > reactive.DesiredReplicas ? 0 : floor < reactive.DesiredReplicas ? 1 : -1);
        if (reactive.DesiredReplicas >= floor)
        {
            return reactive;
        }

        return new ScalingDecision(floor, ahead > now ? PreWarmReason : ScheduleReason);
    }

    /// <inheritdoc />
    public void Report(IDictionary<string, double> metrics)
    {
    }

    /// <inheritdoc />
    public void Warn(ICollection<string> warnings)
    {
        _reactive.Warn(warnings);
        _log.WarnUnusedParts(warnings, "scheduled-floor");
    }
}
