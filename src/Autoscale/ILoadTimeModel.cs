using NodaTime;

namespace Autoscale;

/// <summary>
/// How long a replica of one candidate takes from the start of its load until it can serve.
/// </summary>
/// <remarks>
/// Policies only ever see <see cref="ExpectedLoadTime"/>, the nominal time (one load alone, cache
/// miss). A backtest asks the model for the duration of each individual load through
/// <see cref="LoadDuration"/>, keyed by the start's ordinal so that one more start does not
/// reshuffle the others. Implementations are immutable and thread-safe.
/// </remarks>
public interface ILoadTimeModel
{
    /// <summary>The nominal load time a policy plans with.</summary>
    Duration ExpectedLoadTime { get; }

    /// <summary>The duration of the load with the given ordinal (0 for the first load of a run).</summary>
    Duration LoadDuration(long startOrdinal);
}

/// <summary>A load path that always takes the same time (the textbook's 25 s).</summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed class FixedLoadTime : ILoadTimeModel
{
    /// <summary>Creates a model whose every load takes <paramref name="duration"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The duration is negative.</exception>
    public FixedLoadTime(Duration duration)
    {
        if (duration < Duration.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(duration), $"load time ({duration.TotalSeconds} s) must be >= 0");
        }

        ExpectedLoadTime = duration;
    }

    /// <inheritdoc />
    public Duration ExpectedLoadTime { get; }

    /// <inheritdoc />
    public Duration LoadDuration(long startOrdinal) => ExpectedLoadTime;

    /// <inheritdoc />
    public override string ToString() => $"fixed {ExpectedLoadTime.TotalSeconds} s";
}
