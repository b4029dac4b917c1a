namespace Autoscale.Backtesting.Engine;

/// <summary>One downsampled point of a run: averages over a bucket of ticks (the queue's maximum).</summary>
/// <param name="StartSeconds">Bucket start, seconds from the start of the trace.</param>
/// <param name="DemandRps">Mean arrival rate.</param>
/// <param name="ReadyReplicas">Mean ready replicas.</param>
/// <param name="LoadingReplicas">Mean loading replicas.</param>
/// <param name="QueueMax">Largest queue at the end of a tick.</param>
/// <param name="Violations">Violations counted in the bucket.</param>
public readonly record struct TimelinePoint(double StartSeconds, double DemandRps, double ReadyReplicas, double LoadingReplicas, long QueueMax, long Violations);

/// <summary>A run's timeline, downsampled to at most a few thousand points; compared by value.</summary>
public sealed class Timeline : IEquatable<Timeline>
{
    /// <summary>Wraps the points.</summary>
    public Timeline(IReadOnlyList<TimelinePoint> points, double bucketSeconds)
    {
        Points = points;
        BucketSeconds = bucketSeconds;
    }

    /// <summary>No timeline (not recorded).</summary>
    public static Timeline Empty { get; } = new([], 0);

    /// <summary>The points, in time order.</summary>
    public IReadOnlyList<TimelinePoint> Points { get; }

    /// <summary>Seconds per point.</summary>
    public double BucketSeconds { get; }

    /// <summary>
    /// The candidate's worst hour (most violations; with none, the busiest) at a finer resolution, for traces
    /// longer than a day whose overview cannot show a spike; null otherwise.
    /// </summary>
    public Timeline? Zoom { get; init; }

    /// <inheritdoc />
    public bool Equals(Timeline? other) => other is not null && BucketSeconds.Equals(other.BucketSeconds) && Points.SequenceEqual(other.Points)
        && Equals(Zoom, other.Zoom);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Timeline);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Points.Count, BucketSeconds);
}

/// <summary>
/// Accumulates ticks into timeline buckets; allocates only when a bucket closes. With a zoom, it also keeps the
/// current hour (hours from the start of the trace, as the SLO ledger counts them) in 10-second buckets and
/// the worst hour so far, in two buffers swapped when an hour closes.
/// </summary>
internal sealed class TimelineRecorder
{
    private const double ZoomBucketSeconds = 10;

    private readonly long _bucketTicks;
    private readonly double _tickSeconds;
    private readonly List<TimelinePoint> _points = [];
    private Bucket _bucket;

    private readonly bool _zoom;
    private readonly long _tickNanos;
    private readonly long _fineTicks;
    private Bucket _fine;
    private TimelinePoint[] _hour = [];
    private TimelinePoint[] _worst = [];
    private int _hourCount;
    private int _worstCount;
    private long _hourIndex;
    private long _nextHourTick;
    private long _hourViolations;
    private double _hourPeak;
    private long _worstViolations = -1;
    private double _worstPeak = -1;

    public TimelineRecorder(long bucketTicks, double tickSeconds, bool zoomWorstHour = false, long tickNanos = 0)
    {
        _bucketTicks = Math.Max(1, bucketTicks);
        _tickSeconds = tickSeconds;
        _zoom = zoomWorstHour && tickNanos > 0;
        if (_zoom)
        {
            _tickNanos = tickNanos;
            _fineTicks = Math.Max(1, (long)Math.Round(ZoomBucketSeconds / tickSeconds));
            var perHour = (int)Math.Min(100_000, 3600.0 / tickSeconds / _fineTicks + 3);
            _hour = new TimelinePoint[perHour];
            _worst = new TimelinePoint[perHour];
            _nextHourTick = HourStart(1);
        }
    }

    public void Add(long tick, long arrivals, int ready, int loading, long queue, long violations)
    {
        if (_bucket.Add(tick, arrivals, ready, loading, queue, violations) == _bucketTicks)
        {
            _points.Add(_bucket.Close(_tickSeconds));
        }

        if (_zoom)
        {
            if (tick >= _nextHourTick)
            {
                CloseFine();
                CloseHour();
                while (tick >= _nextHourTick)
                {
                    _hourIndex++;
                    _nextHourTick = HourStart(_hourIndex + 1);
                }
            }

            _hourViolations += violations;
            if (_fine.Add(tick, arrivals, ready, loading, queue, violations) == _fineTicks)
            {
                CloseFine();
            }
        }
    }

    public Timeline Finish()
    {
        if (_bucket.Ticks > 0)
        {
            _points.Add(_bucket.Close(_tickSeconds));
        }

        Timeline? zoom = null;
        if (_zoom)
        {
            CloseFine();
            CloseHour();
            zoom = _worstCount > 0 ? new Timeline(_worst[.._worstCount], _fineTicks * _tickSeconds) : null;
        }

        return new Timeline(_points.ToArray(), _bucketTicks * _tickSeconds) { Zoom = zoom };
    }

    private void CloseFine()
    {
        if (_fine.Ticks == 0)
        {
            return;
        }

        var point = _fine.Close(_tickSeconds);
        _hourPeak = Math.Max(_hourPeak, point.DemandRps);
        if (_hourCount < _hour.Length)
        {
            _hour[_hourCount++] = point;
        }
    }

    private void CloseHour()
    {
        if (_hourCount > 0 && (_hourViolations > _worstViolations || (_hourViolations == _worstViolations && _hourPeak > _worstPeak)))
        {
            (_hour, _worst) = (_worst, _hour);
            _worstCount = _hourCount;
            _worstViolations = _hourViolations;
            _worstPeak = _hourPeak;
        }

        _hourCount = 0;
        _hourViolations = 0;
        _hourPeak = 0;
    }

    private long HourStart(long hour) => (long)Math.Min(long.MaxValue, Math.Ceiling(hour * 3_600_000_000_000.0 / _tickNanos));

    /// <summary>Sums over one bucket of ticks.</summary>
    private struct Bucket
    {
        public long Ticks;
        private long _start;
        private long _arrivals;
        private long _ready;
        private long _loading;
        private long _queueMax;
        private long _violations;

        /// <summary>Adds a tick; returns the ticks in the bucket now.</summary>
        public long Add(long tick, long arrivals, int ready, int loading, long queue, long violations)
        {
            if (Ticks == 0)
            {
                _start = tick;
            }

            Ticks++;
            _arrivals += arrivals;
            _ready += ready;
            _loading += loading;
            _violations += violations;
            if (queue > _queueMax)
            {
                _queueMax = queue;
            }

            return Ticks;
        }

        public TimelinePoint Close(double tickSeconds)
        {
            var point = new TimelinePoint(_start * tickSeconds, _arrivals / (Ticks * tickSeconds), _ready / (double)Ticks, _loading / (double)Ticks, _queueMax, _violations);
            this = default;
            return point;
        }
    }
}
