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

    /// <inheritdoc />
    public bool Equals(Timeline? other) => other is not null && BucketSeconds.Equals(other.BucketSeconds) && Points.SequenceEqual(other.Points);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Timeline);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Points.Count, BucketSeconds);
}

/// <summary>Accumulates ticks into timeline buckets; allocates only when a bucket closes.</summary>
internal sealed class TimelineRecorder
{
    private readonly long _bucketTicks;
    private readonly double _tickSeconds;
    private readonly List<TimelinePoint> _points = [];
    private long _ticks;
    private long _bucketStart;
    private long _arrivals;
    private long _ready;
    private long _loading;
    private long _queueMax;
    private long _violations;

    public TimelineRecorder(long bucketTicks, double tickSeconds)
    {
        _bucketTicks = Math.Max(1, bucketTicks);
        _tickSeconds = tickSeconds;
    }

    public void Add(long tick, long arrivals, int ready, int loading, long queue, long violations)
    {
        if (_ticks == 0)
        {
            _bucketStart = tick;
        }

        _ticks++;
        _arrivals += arrivals;
        _ready += ready;
        _loading += loading;
        _violations += violations;
        if (queue > _queueMax)
        {
            _queueMax = queue;
        }

        if (_ticks == _bucketTicks)
        {
            Close();
        }
    }

    public Timeline Finish()
    {
        if (_ticks > 0)
        {
            Close();
        }

        return new Timeline(_points.ToArray(), _bucketTicks * _tickSeconds);
    }

    private void Close()
    {
        _points.Add(new TimelinePoint(
            _bucketStart * _tickSeconds,
            _arrivals / (_ticks * _tickSeconds),
            _ready / (double)_ticks,
            _loading / (double)_ticks,
            _queueMax,
            _violations));
        _ticks = 0;
        _arrivals = 0;
        _ready = 0;
        _loading = 0;
        _queueMax = 0;
        _violations = 0;
    }
}
