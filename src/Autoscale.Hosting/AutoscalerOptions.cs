using NodaTime;

namespace Autoscale.Hosting;

/// <summary>Options of the live autoscaler.</summary>
public sealed class AutoscalerOptions
{
    /// <summary>How often the loop decides. Default 15 s (the HPA's sync period).</summary>
    public Duration Interval { get; set; } = Duration.FromSeconds(15);

    /// <summary>The most replicas the loop will ever ask for. Default 10.</summary>
    public int MaxReplicas { get; set; } = 10;

    /// <summary>Requests per second one ready replica serves (the policies' <c>CapacityPerReplica</c>).</summary>
    public double CapacityPerReplica { get; set; } = 1;

    /// <summary>The nominal load time of a replica on this load path (the policies' <c>ExpectedLoadTime</c>).</summary>
    public Duration ExpectedLoadTime { get; set; } = Duration.FromSeconds(60);

    /// <summary>Signals older than this are stale: the loop leaves the fleet as it is. Default three intervals.</summary>
    public Duration? StaleAfter { get; set; }

    /// <summary>Decide and record, never apply (shadow mode, to compare with the autoscaler in charge).</summary>
    public bool DryRun { get; set; }

    /// <summary>Attempts to apply a decision before giving up until the next interval. Default 3.</summary>
    public int ApplyAttempts { get; set; } = 3;

    /// <summary>Delay before the first retry of a failed apply; doubled for each further one. Default 1 s.</summary>
    public TimeSpan ApplyRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The effective staleness limit.</summary>
    public Duration EffectiveStaleAfter => StaleAfter ?? Interval * 3;

    /// <summary>Every rule the options break, one message each; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Interval <= Duration.Zero)
        {
            errors.Add($"Interval ({Interval}) must be > 0");
        }

        if (MaxReplicas < 1)
        {
            errors.Add($"MaxReplicas ({MaxReplicas}) must be >= 1");
        }

        if (!(CapacityPerReplica > 0) || !double.IsFinite(CapacityPerReplica))
        {
            errors.Add($"CapacityPerReplica ({CapacityPerReplica}) must be > 0");
        }

        if (ExpectedLoadTime < Duration.Zero)
        {
            errors.Add($"ExpectedLoadTime ({ExpectedLoadTime}) must be >= 0");
        }

        if (StaleAfter is { } stale && stale <= Duration.Zero)
        {
            errors.Add($"StaleAfter ({stale}) must be > 0");
        }

        if (ApplyAttempts < 1)
        {
            errors.Add($"ApplyAttempts ({ApplyAttempts}) must be >= 1");
        }

        if (ApplyRetryDelay < TimeSpan.Zero)
        {
            errors.Add($"ApplyRetryDelay ({ApplyRetryDelay}) must be >= 0");
        }

        return errors;
    }
}
