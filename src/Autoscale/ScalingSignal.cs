using NodaTime;

namespace Autoscale;

/// <summary>
/// What an autoscaler can observe at one decision instant; the same value in a backtest and live.
/// </summary>
/// <param name="Now">The instant of the decision.</param>
/// <param name="Interval">Time since the previous decision (the decision interval).</param>
/// <param name="ReadyReplicas">Replicas loaded and serving.</param>
/// <param name="LoadingReplicas">Replicas started but not yet ready (billed, not serving).</param>
/// <param name="QueueDepth">Requests waiting, after the last interval's service.</param>
/// <param name="ArrivalsLastInterval">Requests that arrived during the last interval.</param>
/// <param name="CapacityPerReplica">Requests per second one ready replica serves.</param>
/// <param name="ExpectedLoadTime">The candidate's nominal load time: how far ahead to launch.</param>
/// <remarks>An immutable value; safe to share between threads.</remarks>
public readonly record struct ScalingSignal(
    Instant Now,
    Duration Interval,
    int ReadyReplicas,
    int LoadingReplicas,
    long QueueDepth,
    long ArrivalsLastInterval,
    double CapacityPerReplica,
    Duration ExpectedLoadTime)
{
    /// <summary>Requests that started service during the last interval.</summary>
    public long ServedLastInterval { get; init; }

    /// <summary>The most replicas the engine or host will run; decisions above it are clamped.</summary>
    public int MaxReplicas { get; init; } = int.MaxValue;

    /// <summary>Ready plus loading replicas: the count a decision is compared with.</summary>
    public int CurrentReplicas => ReadyReplicas + LoadingReplicas;

    /// <summary>Arrivals of the last interval as a rate in requests per second (0 when the interval is empty).</summary>
    public double ArrivalRate => Interval > Duration.Zero ? ArrivalsLastInterval / Interval.TotalSeconds : 0;
}
