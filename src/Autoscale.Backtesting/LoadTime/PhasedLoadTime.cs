using NodaTime;

namespace Autoscale.Backtesting.LoadTime;

/// <summary>Which term of T_load = S/B + T_shard + T_warm is the largest.</summary>
public enum LoadTerm
{
    /// <summary>Pulling the weights (S/B): remedy with local caches, streaming, more bandwidth.</summary>
    Pull,

    /// <summary>Loading and sharding onto the GPUs: remedy with parallel loading, better layouts.</summary>
    Shard,

    /// <summary>Engine warm-up (CUDA context, graphs, compilation): remedy with snapshots, warm pools.</summary>
    Warm,
}

/// <summary>A node-local weight cache: nodes that held a replica keep the weights for a while after it is released.</summary>
/// <param name="RetentionSeconds">How long a released node keeps the weights.</param>
/// <param name="BandwidthGbps">Read bandwidth of the local disk, gigabytes per second.</param>
/// <param name="HoldDollarsPerHour">What keeping such a node up costs per hour (0 where the node serves other work anyway).</param>
public sealed record NodeCache(double RetentionSeconds, double BandwidthGbps, double HoldDollarsPerHour = 0);

/// <summary>
/// The cold start as its phases: pull <see cref="ModelSizeGb"/> at the node's bandwidth, limited by the
/// store's aggregate bandwidth shared by every pull in progress; then shard; then warm. Streaming
/// overlaps pull and shard; a snapshot restore replaces the warm-up; an optional node cache serves
/// reloads from local disk; a seeded log-normal jitter (mean 1) varies each load, keyed by its ordinal.
/// </summary>
/// <remarks>Immutable; the engine makes the per-run state (loads in progress, the store's bandwidth, the cache) from it.</remarks>
public sealed record PhasedLoadTime : ISimulatedLoadTime, ISeededLoadTime
{
    /// <summary>Model size S, gigabytes (1e9 bytes).</summary>
    public required double ModelSizeGb { get; init; }

    /// <summary>Per-node pull bandwidth B, gigabytes per second.</summary>
    public required double NodeBandwidthGbps { get; init; }

    /// <summary>The store's aggregate bandwidth, shared by the pulls in progress (null: unlimited).</summary>
    public double? StoreBandwidthGbps { get; init; }

    /// <summary>T_shard: loading and sharding onto the GPUs, seconds.</summary>
    public double ShardSeconds { get; init; }

    /// <summary>T_warm: CUDA context, graph capture, compilation, cache warm-up, seconds.</summary>
    public double WarmSeconds { get; init; }

    /// <summary>Pull and shard overlap (weights are placed while later ones arrive).</summary>
    public bool Streaming { get; init; }

    /// <summary>A snapshot restore that replaces the warm-up, seconds (null: no snapshot).</summary>
    public double? SnapshotRestoreSeconds { get; init; }

    /// <summary>Log-space standard deviation of the per-load jitter (0: none).</summary>
    public double JitterSigma { get; init; }

    /// <summary>The node-local cache (null: none).</summary>
    public NodeCache? Cache { get; init; }

    /// <summary>
    /// The seed of the jitter <see cref="LoadDuration"/> draws: a config's model carries its backtest's seed, so a load
    /// with a given ordinal takes the same time here as in the replay's own simulation of that run.
    /// </summary>
    public long Seed { get; init; } = 1;

    /// <summary>Seconds of each phase for one load alone, from the store (or from the cache when <paramref name="fromCache"/>).</summary>
    public (double Pull, double Shard, double Warm) Breakdown(bool fromCache = false)
    {
        var bandwidth = fromCache && Cache is { } cache ? cache.BandwidthGbps : Math.Min(NodeBandwidthGbps, StoreBandwidthGbps ?? double.PositiveInfinity);
        return (ModelSizeGb / bandwidth, ShardSeconds, SnapshotRestoreSeconds ?? WarmSeconds);
    }

    /// <summary>The term that binds for one load alone (from the cache when <paramref name="fromCache"/>).</summary>
    public LoadTerm BindingTerm(bool fromCache = false)
    {
        var (pull, shard, warm) = Breakdown(fromCache);
        return pull >= shard && pull >= warm ? LoadTerm.Pull : shard >= warm ? LoadTerm.Shard : LoadTerm.Warm;
    }

    /// <summary>Seconds of one load alone from the given source, with the phases combined as configured.</summary>
    public double NominalSeconds(bool fromCache = false)
    {
        var (pull, shard, warm) = Breakdown(fromCache);
        return (Streaming ? Math.Max(pull, shard) : pull + shard) + warm;
    }

    /// <inheritdoc />
    public Duration ExpectedLoadTime => OptionDuration.FromSeconds(NominalSeconds());

    /// <inheritdoc />
    public Duration LoadDuration(long startOrdinal) =>
        OptionDuration.FromSeconds(NominalSeconds() * Jitter.LogNormalFactor(JitterSigma, Seed, startOrdinal, RandomStream.LoadJitter));

    /// <summary>The model of bound and checked options (the config's <c>{"model": "phased", ...}</c>).</summary>
    /// <exception cref="InvalidOptionsException">The options break a rule.</exception>
    public static PhasedLoadTime From(PhasedLoadTimeOptions options) => From(options, 1);

    /// <summary>The model of bound and checked options whose <see cref="LoadDuration"/> draws its jitter with <paramref name="seed"/>.</summary>
    /// <exception cref="InvalidOptionsException">The options break a rule.</exception>
    public static PhasedLoadTime From(PhasedLoadTimeOptions options, long seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        OptionRules.ThrowIfInvalid(options);
        return new PhasedLoadTime
        {
            ModelSizeGb = options.ModelSizeGb!.Value,
            NodeBandwidthGbps = options.NodeBandwidthGbps!.Value,
            StoreBandwidthGbps = options.StoreBandwidthGbps,
            ShardSeconds = options.ShardSeconds.TotalSeconds,
            WarmSeconds = options.WarmSeconds.TotalSeconds,
            Streaming = options.Streaming,
            SnapshotRestoreSeconds = OptionDuration.Seconds(options.SnapshotRestoreSeconds),
            JitterSigma = options.Jitter?.Sigma ?? 0,
            Cache = options.Cache is { } cache ? new NodeCache(cache.RetentionSeconds!.Value.TotalSeconds, cache.BandwidthGbps!.Value, cache.HoldDollarsPerHour) : null,
            Seed = seed,
        };
    }

    /// <summary>The model as the options class that declares its rules.</summary>
    public PhasedLoadTimeOptions ToOptions() => new()
    {
        Model = "phased",
        ModelSizeGb = ModelSizeGb,
        NodeBandwidthGbps = NodeBandwidthGbps,
        StoreBandwidthGbps = StoreBandwidthGbps,
        ShardSeconds = OptionDuration.FromSeconds(ShardSeconds),
        WarmSeconds = OptionDuration.FromSeconds(WarmSeconds),
        Streaming = Streaming,
        SnapshotRestoreSeconds = OptionDuration.FromSeconds(SnapshotRestoreSeconds),
        Jitter = JitterSigma == 0 ? null : new JitterOptions { Sigma = JitterSigma },
        Cache = Cache is { } cache ? new NodeCacheOptions { RetentionSeconds = OptionDuration.FromSeconds(cache.RetentionSeconds), BandwidthGbps = cache.BandwidthGbps, HoldDollarsPerHour = cache.HoldDollarsPerHour } : null,
    };

    /// <summary>Every rule the parameters break, by the rules of <see cref="PhasedLoadTimeOptions"/>, each at its path; empty when valid.</summary>
    public IReadOnlyList<OptionError> Validate() => OptionRules.Validate(ToOptions());

    /// <summary>The per-run state of loads in progress, for the engine and tests.</summary>
    internal ILoadSimulation CreateSimulation(double tickSeconds, long seed)
    {
        InvalidOptionsException.ThrowIfAny(Validate());
        return new PhasedLoadSimulation(this, tickSeconds, seed);
    }

    ILoadSimulation ISimulatedLoadTime.CreateSimulation(double tickSeconds, long seed) => CreateSimulation(tickSeconds, seed);

    ILoadTimeModel ISeededLoadTime.WithSeed(long seed) => this with { Seed = seed };
}
