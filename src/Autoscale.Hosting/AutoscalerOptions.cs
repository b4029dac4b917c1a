using NodaTime;

namespace Autoscale.Hosting;

/// <summary>
/// Options of the live autoscaler, bound from code (<c>AddAutoscaler(o =&gt; ...)</c>) or from a configuration section
/// (<c>AddAutoscaler(configuration.GetSection("Autoscaler"))</c>), where durations are written as seconds (<c>15</c>),
/// with a unit (<c>"15s"</c>, <c>"2m"</c>) or as ISO-8601 (<c>"PT15S"</c>).
/// </summary>
public sealed class AutoscalerOptions : IValidatableOptions
{
    /// <summary>How often the loop decides (the HPA's sync period is 15 s).</summary>
    [Option(Unit = "s", Min = 0.001, Max = 86_400)]
    public Duration Interval { get; set; } = Duration.FromSeconds(15);

    /// <summary>The most replicas the loop will ever ask for.</summary>
    [Option(Unit = "replicas", Min = 1, Max = 1_000_000)]
    public int MaxReplicas { get; set; } = 10;

    /// <summary>Requests per second one ready replica serves (the policies' <c>CapacityPerReplica</c>).</summary>
    [Option(Unit = "req/s", Min = 0, MinExclusive = true, Max = 1e9)]
    public double CapacityPerReplica { get; set; } = 1;

    /// <summary>The nominal load time of a replica on this load path (the policies' <c>ExpectedLoadTime</c>).</summary>
    [Option(Unit = "s", Min = 0, Max = 604_800)]
    public Duration ExpectedLoadTime { get; set; } = Duration.FromSeconds(60);

    /// <summary>Signals older than this are stale and the loop leaves the fleet as it is; three intervals when not set.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 604_800)]
    public Duration? StaleAfter { get; set; }

    /// <summary>Decide and record, never apply (shadow mode, to compare with the autoscaler in charge).</summary>
    [Option]
    public bool DryRun { get; set; }

    /// <summary>Attempts to apply a decision before giving up until the next interval.</summary>
    [Option(Min = 1, Max = 100)]
    public int ApplyAttempts { get; set; } = 3;

    /// <summary>Delay before the first retry of a failed apply; doubled for each further one.</summary>
    [Option(Unit = "s", Min = 0, Max = 3600)]
    public Duration ApplyRetryDelay { get; set; } = Duration.FromSeconds(1);

    /// <summary>The effective staleness limit.</summary>
    public Duration EffectiveStaleAfter => StaleAfter ?? Interval * 3;

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}
