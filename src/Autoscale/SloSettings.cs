using NodaTime;

namespace Autoscale;

/// <summary>The latency objective a candidate is judged by.</summary>
/// <param name="MaxWait">A request is late when it waits strictly longer than this before service starts; null for no bound on the wait (a serving SLO judged by its latencies alone).</param>
/// <param name="TargetPercent">The share of requests (percent) that must meet the objective.</param>
/// <param name="ClientTimeout">Requests that wait longer than this leave the queue (dropped); null for never.</param>
/// <param name="DollarsPerViolation">Optional price of one violated request, folding risk into dollars.</param>
/// <remarks>
/// Immutable; safe to share between threads. Times are <see cref="Duration"/>s, as in the options; each replay converts
/// them once, when it starts, to its own clock (ticks, nanoseconds or seconds).
/// </remarks>
public sealed record SloSettings(
    Duration? MaxWait,
    double TargetPercent,
    Duration? ClientTimeout = null,
    double DollarsPerViolation = 0)
{
    /// <summary>With a serving profile: the longest time to first token that meets the SLO; null for none.</summary>
    public Duration? MaxTtft { get; init; }

    /// <summary>With a serving profile: the longest mean time per output token after the first; null for none.</summary>
    public Duration? MaxTpot { get; init; }

    /// <summary>With a serving profile: the longest time from arrival to the last token; null for none.</summary>
    public Duration? MaxE2e { get; init; }

    /// <summary>Whether <see cref="MaxWait"/> is an objective.</summary>
    public bool HasMaxWait => MaxWait is not null;

    /// <summary>Every rule the settings break, by the rules of <see cref="SloOptions"/> (the config's <c>slo</c> section); empty when valid.</summary>
    public IReadOnlyList<OptionError> Validate() => OptionRules.Validate(ToOptions(), typeof(SloOptions));

    /// <summary>The settings as the options class that declares their rules.</summary>
    public SloOptions ToOptions() => new()
    {
        MaxWaitSeconds = MaxWait,
        MaxTtftSeconds = MaxTtft,
        MaxTpotSeconds = MaxTpot,
        MaxE2eSeconds = MaxE2e,
        TargetPercent = TargetPercent,
        ClientTimeoutSeconds = ClientTimeout,
        DollarsPerViolation = DollarsPerViolation,
    };
}

/// <summary>What one replica serves and what it costs.</summary>
/// <param name="CapacityRps">Requests per second one ready replica serves.</param>
/// <param name="Gpus">GPUs per replica.</param>
/// <param name="DollarsPerGpuHour">Price of one GPU-hour.</param>
/// <remarks>Immutable; safe to share between threads.</remarks>
public sealed record ReplicaSettings(double CapacityRps, int Gpus, double DollarsPerGpuHour)
{
    /// <summary>Price of one replica for one second.</summary>
    public double DollarsPerReplicaSecond => Gpus * DollarsPerGpuHour / 3600.0;

    /// <summary>Every rule the settings break, by the rules of <see cref="ReplicaOptions"/> (the config's <c>replica</c> section); empty when valid.</summary>
    public IReadOnlyList<OptionError> Validate() => OptionRules.Validate(ToOptions(), typeof(ReplicaOptions));

    /// <summary>The settings as the options class that declares their rules.</summary>
    public ReplicaOptions ToOptions() => new()
    {
        CapacityRps = CapacityRps,
        Gpus = Gpus,
        DollarsPerGpuHour = DollarsPerGpuHour,
    };
}
