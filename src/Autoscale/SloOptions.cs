using NodaTime;
namespace Autoscale;

/// <summary>The <c>slo</c> section of a backtest config: the latency objective every candidate is judged by.</summary>
public sealed class SloOptions : IValidatableOptions
{
    /// <summary>A request is late when it waits strictly longer than this before its service starts.</summary>
    [Option(Unit = "s", Min = 0, Max = 31_536_000)]
    public Duration? MaxWaitSeconds { get; set; }

    /// <summary>With a serving profile: the longest time to first token (arrival to the end of the step that completes the prompt) that meets the SLO.</summary>
    [Option(Unit = "s", Min = 0, Max = 31_536_000)]
    public Duration? MaxTtftSeconds { get; set; }

    /// <summary>With a serving profile: the longest mean time per output token after the first that meets the SLO.</summary>
    [Option(Unit = "s", Min = 0, Max = 31_536_000)]
    public Duration? MaxTpotSeconds { get; set; }

    /// <summary>With a serving profile: the longest time from arrival to the last token that meets the SLO.</summary>
    [Option(Unit = "s", Min = 0, Max = 31_536_000)]
    public Duration? MaxE2eSeconds { get; set; }

    /// <summary>The share of requests that must start within <c>maxWaitSeconds</c> (and not be dropped) for a candidate to meet the SLO.</summary>
    [Option(Unit = "%", Min = 0, Max = 100)]
    public double TargetPercent { get; set; } = 99.0;

    /// <summary>Requests that have waited longer than this leave the queue and count as dropped (violations); none when absent.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 31_536_000)]
    public Duration? ClientTimeoutSeconds { get; set; }

    /// <summary>A price per violated request, added to a candidate's dollars in the ranking's cost.</summary>
    [Option(Unit = "$", Min = 0, Max = 1e9)]
    public double DollarsPerViolation { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() =>
        MaxWaitSeconds is null && MaxTtftSeconds is null && MaxTpotSeconds is null && MaxE2eSeconds is null
            ? ["maxWaitSeconds is required (with replica.serving, maxTtftSeconds, maxTpotSeconds or maxE2eSeconds may take its place)"]
            : [];
}

/// <summary>The <c>replica</c> section: what one replica serves and what it costs.</summary>
public sealed class ReplicaOptions : IValidatableOptions
{
    /// <summary>Requests per second one ready replica serves.</summary>
    [Option(Unit = "req/s", Min = 0, MinExclusive = true, Max = 1e9)]
    public double? CapacityRps { get; set; }

    /// <summary>GPUs per replica.</summary>
    [Option(Unit = "GPUs", Min = 0, Max = 4096)]
    public int Gpus { get; set; } = 1;

    /// <summary>Price of one GPU for one hour; a replica costs gpus x this per hour from the start of its load until its release.</summary>
    [Option(Unit = "$/GPU-hour", Min = 0, Max = 1e6)]
    public double DollarsPerGpuHour { get; set; }

    /// <summary>The serving profile: replays model tokens, continuous batching and the KV cache instead of <see cref="CapacityRps"/>.</summary>
    [Option]
    public ServingOptions? Serving { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(ServingOptions))]
    public IReadOnlyList<string> Validate() =>
        CapacityRps is null && Serving is null ? ["capacityRps is required (or a serving profile, replica.serving)"] : [];
}
