using NodaTime;
using Autoscale;

namespace Autoscale.Backtesting.Engine;

/// <summary>The <c>engine</c> section: the replay's clock and limits.</summary>
public sealed class EngineOptions : IValidatableOptions
{
    /// <summary>The length of one engine tick: arrivals, service and waits are counted in whole ticks.</summary>
    [Option(Unit = "s", Min = 0.001, Max = 86_400)]
    public Duration TickSeconds { get; set; } = Duration.FromSeconds(1);

    /// <summary>Every decision is clamped to at most this many replicas (a warning says when a candidate hits it).</summary>
    [Option(Unit = "replicas", Min = 0, Max = 1_000_000)]
    public int MaxReplicas { get; set; } = 10_000;

    /// <summary>Seed of every random draw (load-time jitter, empirical draws); <c>--seeds N</c> runs seed, seed + 1, ...</summary>
    [Option]
    public long Seed { get; set; } = 1;

    /// <summary>With a serving profile: <c>request</c> (every request through every step, the reference) or <c>fluid</c> (per-tick token totals, fast).</summary>
    [Option]
    public string Serving { get; set; } = "request";

    /// <summary>With a serving profile: how long the fleet may serve what is left once the trace ends, before the rest is dropped.</summary>
    [Option(Unit = "s", Min = 0, Max = 31_536_000)]
    public Duration DrainSeconds { get; set; } = Duration.FromSeconds(3600);

    /// <summary>With a serving profile replayed request by request: the most requests a trace may hold; a longer one is refused before the replay starts (the fluid replay has no such bound).</summary>
    [Option(Unit = "requests", Min = 1, Max = 1e12)]
    public long MaxRequests { get; set; } = DefaultMaxRequests;

    /// <summary>The default of <see cref="MaxRequests"/>: 20 million.</summary>
    public const long DefaultMaxRequests = 20_000_000;

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() =>
        Serving is "request" or "fluid" ? [] : [$"serving (\"{Serving}\") must be \"request\" or \"fluid\""];
}

/// <summary>The <c>billing</c> section: how a replica's lifetime turns into billed time.</summary>
public sealed class BillingOptions : IValidatableOptions
{
    /// <summary>Each replica's billed lifetime is rounded up to a multiple of this (60 for per-minute billing); 0 bills per tick, exactly.</summary>
    [Option(Unit = "s", Min = 0, Max = 31_536_000)]
    public Duration GranularitySeconds { get; set; }

    /// <summary>Each replica is billed for at least this long (a cloud's minimum charge); 0 for none.</summary>
    [Option(Unit = "s", Min = 0, Max = 31_536_000)]
    public Duration MinimumSeconds { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}
