using System.Text.Json;

namespace Autoscale.Config;

/// <summary>The <c>slo</c> section of a backtest config: the latency objective every candidate is judged by.</summary>
public sealed class SloConfig : IValidatableOptions
{
    /// <summary>A request is late when it waits strictly longer than this before its service starts.</summary>
    [Option(Unit = "s", Min = 0, Max = 31_536_000, Required = true)]
    public double? MaxWaitSeconds { get; set; }

    /// <summary>The share of requests that must start within <c>maxWaitSeconds</c> (and not be dropped) for a candidate to meet the SLO.</summary>
    [Option(Unit = "%", Min = 0, Max = 100)]
    public double TargetPercent { get; set; } = 99.0;

    /// <summary>Requests that have waited longer than this leave the queue and count as dropped (violations); none when absent.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 31_536_000)]
    public double? ClientTimeoutSeconds { get; set; }

    /// <summary>A price per violated request, added to a candidate's dollars in the ranking's cost.</summary>
    [Option(Unit = "$", Min = 0, Max = 1e9)]
    public double DollarsPerViolation { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>The <c>replica</c> section: what one replica serves and what it costs.</summary>
public sealed class ReplicaConfig : IValidatableOptions
{
    /// <summary>Requests per second one ready replica serves.</summary>
    [Option(Unit = "req/s", Min = 0, MinExclusive = true, Max = 1e9, Required = true)]
    public double? CapacityRps { get; set; }

    /// <summary>GPUs per replica.</summary>
    [Option(Unit = "GPUs", Min = 0, Max = 4096)]
    public int Gpus { get; set; } = 1;

    /// <summary>Price of one GPU for one hour; a replica costs gpus x this per hour from the start of its load until its release.</summary>
    [Option(Unit = "$/GPU-hour", Min = 0, Max = 1e6)]
    public double DollarsPerGpuHour { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>The <c>engine</c> section: the replay's clock and limits.</summary>
public sealed class EngineConfig : IValidatableOptions
{
    /// <summary>The length of one engine tick: arrivals, service and waits are counted in whole ticks.</summary>
    [Option(Unit = "s", Min = 0.001, Max = 86_400)]
    public double TickSeconds { get; set; } = 1;

    /// <summary>Every decision is clamped to at most this many replicas (a warning says when a candidate hits it).</summary>
    [Option(Unit = "replicas", Min = 0, Max = 1_000_000)]
    public int MaxReplicas { get; set; } = 10_000;

    /// <summary>Seed of every random draw (load-time jitter, empirical draws); <c>--seeds N</c> runs seed, seed + 1, ...</summary>
    [Option]
    public long Seed { get; set; } = 1;

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>The <c>billing</c> section: how a replica's lifetime turns into billed time.</summary>
public sealed class BillingConfig : IValidatableOptions
{
    /// <summary>Each replica's billed lifetime is rounded up to a multiple of this (60 for per-minute billing); 0 bills per tick, exactly.</summary>
    [Option(Unit = "s", Min = 0, Max = 31_536_000)]
    public double GranularitySeconds { get; set; }

    /// <summary>Each replica is billed for at least this long (a cloud's minimum charge); 0 for none.</summary>
    [Option(Unit = "s", Min = 0, Max = 31_536_000)]
    public double MinimumSeconds { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>The <c>report</c> section: how reports show time.</summary>
public sealed class ReportConfig : IValidatableOptions
{
    /// <summary>The IANA time zone the report's plots and tables show times in, e.g. <c>Europe/Berlin</c>.</summary>
    [Option]
    public string TimeZone { get; set; } = "UTC";

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() =>
        NodaTime.DateTimeZoneProviders.Tzdb.GetZoneOrNull(TimeZone) is null ? [$"timeZone (\"{TimeZone}\") must be an IANA time zone such as Europe/Berlin"] : [];
}

/// <summary>One entry of <c>candidates</c>: a policy with its options, on the load path of a load-time model.</summary>
public sealed class CandidateConfig : IValidatableOptions
{
    /// <summary>The candidate's name, unique in the config; shown in every table and plot.</summary>
    [Option(Required = true)]
    public string? Name { get; set; }

    /// <summary>The policy: a built-in name (<c>autoscale policy list</c>) or a class of <c>--policy-file</c>, <c>--project</c> or <c>--assembly</c>.</summary>
    [Option(Required = true)]
    public string? Policy { get; set; }

    /// <summary>The policy's options (each policy's are listed below).</summary>
    [Option]
    public JsonElement Options { get; set; }

    /// <summary>Options to sweep, beside <c>options</c>: <c>{"spares": [0, 2, 4]}</c> or <c>{"spares": {"from": 0, "to": 8, "step": 1}}</c>; one candidate per combination, named <c>NAME spares=3</c>.</summary>
    [Option]
    public JsonElement Sweep { get; set; }

    /// <summary>The load-time model of the candidate's load path: <c>{"fixedSeconds": 25}</c> or <c>{"model": "fixed" | "phased" | "empirical", ...}</c> (below).</summary>
    [Option(Required = true)]
    public JsonElement LoadTime { get; set; }

    /// <summary>The policy is asked every this many seconds (a whole number of ticks); the target stands in between, as the HPA syncs every 15 s. Default: every tick.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 86400)]
    public double? DecisionIntervalSeconds { get; set; }

    /// <summary>The signal shows the queue and arrivals of this many seconds earlier (a whole number of ticks, at most 1,048,576 of them), as scraped metrics lag.</summary>
    [Option(Unit = "s", Min = 0, Max = 3600)]
    public double? MetricsDelaySeconds { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>The shorthand load-time model <c>{"fixedSeconds": 25}</c>: every load takes the same time.</summary>
public sealed class FixedSecondsLoadTimeConfig : IValidatableOptions
{
    /// <summary>Seconds from the start of a load until the replica serves.</summary>
    [Option(Unit = "s", Min = 0, Max = 604_800, Required = true)]
    public double? FixedSeconds { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>The load-time model <c>{"model": "fixed", "seconds": 25}</c>.</summary>
public sealed class FixedLoadTimeConfig : IValidatableOptions
{
    /// <summary><c>fixed</c>.</summary>
    [Option(Required = true)]
    public string? Model { get; set; }

    /// <summary>Seconds from the start of a load until the replica serves.</summary>
    [Option(Unit = "s", Min = 0, Max = 604_800, Required = true)]
    public double? Seconds { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>
/// The load-time model <c>{"model": "phased", ...}</c>: T_load = S/B + T_shard + T_warm, with the store's bandwidth
/// shared by the loads in progress, streaming, snapshot restore, seeded jitter and a node-local cache
/// (docs/load-time-models.md).
/// </summary>
public sealed class PhasedLoadTimeConfig : IValidatableOptions
{
    /// <summary><c>phased</c>.</summary>
    [Option(Required = true)]
    public string? Model { get; set; }

    /// <summary>Model size S.</summary>
    [Option(Unit = "GB", Min = 0, MinExclusive = true, Max = 1e6, Required = true)]
    public double? ModelSizeGb { get; set; }

    /// <summary>Per-node pull bandwidth B.</summary>
    [Option(Unit = "GB/s", Min = 0.001, Max = 1e6, Required = true)]
    public double? NodeBandwidthGbps { get; set; }

    /// <summary>The store's aggregate bandwidth, shared by every pull in progress (a burst of starts is slower than one); unlimited when absent.</summary>
    [Option(Unit = "GB/s", Min = 0.001, Max = 1e6)]
    public double? StoreBandwidthGbps { get; set; }

    /// <summary>T_shard: loading and sharding the weights onto the GPUs.</summary>
    [Option(Unit = "s", Min = 0, Max = 604_800)]
    public double ShardSeconds { get; set; }

    /// <summary>T_warm: CUDA context, graph capture, compilation, cache warm-up.</summary>
    [Option(Unit = "s", Min = 0, Max = 604_800)]
    public double WarmSeconds { get; set; }

    /// <summary>Pull and shard overlap: weights are placed while later ones arrive.</summary>
    [Option]
    public bool Streaming { get; set; }

    /// <summary>A snapshot restore that replaces the warm-up; none when absent.</summary>
    [Option(Unit = "s", Min = 0, Max = 604_800)]
    public double? SnapshotRestoreSeconds { get; set; }

    /// <summary>Seeded per-load jitter.</summary>
    [Option]
    public JitterConfig? Jitter { get; set; }

    /// <summary>A node-local weight cache: nodes that held a replica keep the weights for a while after it is released.</summary>
    [Option]
    public NodeCacheConfig? Cache { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(JitterConfig))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(NodeCacheConfig))]
    public IReadOnlyList<string> Validate()
    {
        // One load alone, from the store, at the slowest the jitter makes it: at most a week.
        if (ModelSizeGb is not { } size || NodeBandwidthGbps is not { } node || !(size > 0) || !(node > 0))
        {
            return [];
        }

        var bandwidth = Math.Min(node, StoreBandwidthGbps ?? double.PositiveInfinity);
        var nominal = size / bandwidth + ShardSeconds + (SnapshotRestoreSeconds ?? WarmSeconds);
        var slowest = nominal * Math.Exp(Autoscale.Backtesting.LoadTime.Jitter.MaxDeviations * (Jitter?.Sigma ?? 0));
        return slowest > 604_800
            ? [$"a load would take up to {slowest:0} s (modelSizeGb / bandwidth + shardSeconds + warmSeconds, with jitter): at most 604800 s (a week)"]
            : [];
    }
}

/// <summary>The phased model's <c>jitter</c>: a log-normal factor of mean 1 per load, keyed by the load's ordinal.</summary>
public sealed class JitterConfig : IValidatableOptions
{
    /// <summary><c>lognormal</c>, the only distribution.</summary>
    [Option]
    public string Distribution { get; set; } = "lognormal";

    /// <summary>Log-space standard deviation of the factor.</summary>
    [Option(Min = 0, Max = 3, Required = true)]
    public double? Sigma { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => Distribution == "lognormal" ? [] : [$"distribution (\"{Distribution}\") must be \"lognormal\""];
}

/// <summary>The phased model's <c>cache</c>: a node-local cache of the weights.</summary>
public sealed class NodeCacheConfig : IValidatableOptions
{
    /// <summary>How long a released node keeps the weights.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 31_536_000, Required = true)]
    public double? RetentionSeconds { get; set; }

    /// <summary>Read bandwidth of the local disk.</summary>
    [Option(Unit = "GB/s", Min = 0.001, Max = 1e6, Required = true)]
    public double? BandwidthGbps { get; set; }

    /// <summary>What keeping such a node up costs (0 where the node serves other work anyway); billed while a node holds the cache.</summary>
    [Option(Unit = "$/h", Min = 0, Max = 1e6)]
    public double HoldDollarsPerHour { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>The load-time model <c>{"model": "empirical", "file": ...}</c>: loads drawn from measured cold starts.</summary>
public sealed class EmpiricalLoadTimeConfig : IValidatableOptions
{
    /// <summary><c>empirical</c>.</summary>
    [Option(Required = true)]
    public string? Model { get; set; }

    /// <summary>A CSV or Parquet file of measured load durations, relative to the config's folder.</summary>
    [Option(Required = true)]
    public string? File { get; set; }

    /// <summary>The column holding the durations, in seconds.</summary>
    [Option]
    public string Column { get; set; } = "seconds";

    /// <summary><c>none</c> draws the measurements themselves; <c>lognormal</c> draws from a log-normal fitted to them.</summary>
    [Option]
    public string Fit { get; set; } = "none";

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => Fit is "none" or "lognormal" ? [] : [$"fit (\"{Fit}\") must be \"none\" or \"lognormal\""];
}

/// <summary>A backtest config file: the sections every candidate shares, then the candidates.</summary>
public sealed class BacktestConfig : IValidatableOptions
{
    /// <summary>The latency objective.</summary>
    [Option(Required = true)]
    public SloConfig? Slo { get; set; }

    /// <summary>What one replica serves and costs.</summary>
    [Option(Required = true)]
    public ReplicaConfig? Replica { get; set; }

    /// <summary>The replay's clock and limits.</summary>
    [Option]
    public EngineConfig? Engine { get; set; }

    /// <summary>How replica lifetimes are billed.</summary>
    [Option]
    public BillingConfig? Billing { get; set; }

    /// <summary>How reports show time.</summary>
    [Option]
    public ReportConfig? Report { get; set; }

    /// <summary>The candidates, at least one.</summary>
    [Option(Required = true)]
    public List<CandidateConfig>? Candidates { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(SloConfig))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(ReplicaConfig))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(EngineConfig))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(BillingConfig))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(ReportConfig))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(CandidateConfig))]
    public IReadOnlyList<string> Validate() => Candidates is [] ? ["candidates must list at least one candidate"] : [];
}
