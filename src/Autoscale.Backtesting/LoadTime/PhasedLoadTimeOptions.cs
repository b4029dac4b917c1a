using NodaTime;
namespace Autoscale.Backtesting.LoadTime;

/// <summary>
/// The load-time model <c>{"model": "phased", ...}</c>: T_load = S/B + T_shard + T_warm, with the store's bandwidth
/// shared by the loads in progress, streaming, snapshot restore, seeded jitter and a node-local cache
/// (docs/load-time-models.md).
/// </summary>
public sealed class PhasedLoadTimeOptions : IValidatableOptions
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
    public Duration ShardSeconds { get; set; }

    /// <summary>T_warm: CUDA context, graph capture, compilation, cache warm-up.</summary>
    [Option(Unit = "s", Min = 0, Max = 604_800)]
    public Duration WarmSeconds { get; set; }

    /// <summary>Pull and shard overlap: weights are placed while later ones arrive.</summary>
    [Option]
    public bool Streaming { get; set; }

    /// <summary>A snapshot restore that replaces the warm-up; none when absent.</summary>
    [Option(Unit = "s", Min = 0, Max = 604_800)]
    public Duration? SnapshotRestoreSeconds { get; set; }

    /// <summary>Seeded per-load jitter.</summary>
    [Option]
    public JitterOptions? Jitter { get; set; }

    /// <summary>A node-local weight cache: nodes that held a replica keep the weights for a while after it is released.</summary>
    [Option]
    public NodeCacheOptions? Cache { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(JitterOptions))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(NodeCacheOptions))]
    public IReadOnlyList<string> Validate()
    {
        // One load alone, from the store, at the slowest the jitter makes it: at most a week.
        if (ModelSizeGb is not { } size || NodeBandwidthGbps is not { } node || !(size > 0) || !(node > 0))
        {
            return [];
        }

        var bandwidth = Math.Min(node, StoreBandwidthGbps ?? double.PositiveInfinity);
        var nominal = size / bandwidth + ShardSeconds.TotalSeconds + (SnapshotRestoreSeconds ?? WarmSeconds).TotalSeconds;
        var slowest = nominal * Math.Exp(LoadTime.Jitter.MaxDeviations * (Jitter?.Sigma ?? 0));
        return slowest > 604_800
            ? [$"a load would take up to {slowest:0} s (modelSizeGb / bandwidth + shardSeconds + warmSeconds, with jitter): at most 604800 s (a week)"]
            : [];
    }
}

/// <summary>The phased model's <c>jitter</c>: a log-normal factor of mean 1 per load, keyed by the load's ordinal.</summary>
public sealed class JitterOptions : IValidatableOptions
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
public sealed class NodeCacheOptions : IValidatableOptions
{
    /// <summary>How long a released node keeps the weights.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 31_536_000, Required = true)]
    public Duration? RetentionSeconds { get; set; }

    /// <summary>Read bandwidth of the local disk.</summary>
    [Option(Unit = "GB/s", Min = 0.001, Max = 1e6, Required = true)]
    public double? BandwidthGbps { get; set; }

    /// <summary>What keeping such a node up costs (0 where the node serves other work anyway); billed while a node holds the cache.</summary>
    [Option(Unit = "$/h", Min = 0, Max = 1e6)]
    public double HoldDollarsPerHour { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}
