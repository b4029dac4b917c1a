using System.Globalization;
using NodaTime;

namespace Autoscale.Policies.Keda;

/// <summary>
/// One cron trigger's metric over time, as KEDA's cron scaler reports it: desiredReplicas while active (the next end
/// comes no later than the next start), 1 otherwise; the next start and end are cached until passed.
/// </summary>
internal sealed class KedaCronTrigger
{
    private readonly KedaCron _start;
    private readonly KedaCron _end;
    private readonly DateTimeZone _zone;
    private readonly int _desired;
    private Instant _computedAt = Instant.MinValue;
    private Instant? _nextStart;
    private Instant? _nextEnd;

    public KedaCronTrigger(KedaTrigger trigger)
    {
        _start = KedaCron.TryParse(trigger.Metadata.GetValueOrDefault("start"), out _)!;
        _end = KedaCron.TryParse(trigger.Metadata.GetValueOrDefault("end"), out _)!;
        _zone = DateTimeZoneProviders.Tzdb[trigger.Metadata["timezone"]];
        _desired = int.Parse(trigger.Metadata["desiredReplicas"], NumberStyles.Integer, CultureInfo.InvariantCulture);
    }

    /// <summary>Whether the window is open at <paramref name="now"/>.</summary>
    public bool IsActive(Instant now)
    {
        // The cached next fire times stay right until now reaches the nearer of them; go back in time (a new run) recomputes.
        if (now < _computedAt || (_nextStart is { } s && now >= s) || (_nextEnd is { } e && now >= e) || _computedAt == Instant.MinValue)
        {
            _nextStart = _start.Next(now, _zone);
            _nextEnd = _end.Next(now, _zone);
            _computedAt = now;
        }

        if (_nextEnd is not { } end)
        {
            return false;
        }

        return _nextStart is not { } start || end <= start;
    }

    /// <summary>The metric KEDA reports at <paramref name="now"/>.</summary>
    public double Value(Instant now) => IsActive(now) ? _desired : 1;
}
