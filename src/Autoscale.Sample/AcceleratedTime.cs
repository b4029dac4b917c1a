using System.Diagnostics;
using NodaTime;

namespace Autoscale.Sample;

/// <summary>
/// A clock that runs <see cref="Speed"/> times faster than the wall clock from a chosen start, as both the NodaTime
/// <see cref="IClock"/> the autoscaler reads and the <see cref="TimeProvider"/> its waits use, so a replayed day
/// passes in minutes with every interval and staleness rule intact.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class AcceleratedTime : TimeProvider, IClock
{
    private readonly Instant _start;
    private readonly long _started = Stopwatch.GetTimestamp();

    public AcceleratedTime(Instant start, double speed)
    {
        _start = start;
        Speed = speed;
    }

    /// <summary>Replay seconds per wall-clock second.</summary>
    public double Speed { get; }

    public Instant GetCurrentInstant() => _start + Duration.FromTimeSpan(Stopwatch.GetElapsedTime(_started) * Speed);

    public override DateTimeOffset GetUtcNow() => GetCurrentInstant().ToDateTimeOffset();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        new ScaledTimer(System.CreateTimer(callback, state, Scale(dueTime), Scale(period)), this);

    private TimeSpan Scale(TimeSpan span) => span == Timeout.InfiniteTimeSpan ? span : span / Speed;

    private sealed class ScaledTimer(ITimer inner, AcceleratedTime time) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(time.Scale(dueTime), time.Scale(period));

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
