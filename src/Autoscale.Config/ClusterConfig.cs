using System.Text.Json;
using Autoscale.Backtesting.Cluster;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;
using NodaTime.Text;

namespace Autoscale.Config;

/// <summary>The <c>cluster</c> section: the nodes replicas run on (docs/cluster.md).</summary>
internal sealed class ClusterConfig : IValidatableOptions
{
    /// <summary>The node pools, at least one.</summary>
    [Option(Required = true)]
    public List<NodePoolConfig>? NodePools { get; set; }

    /// <summary><c>"cheapest-first"</c> (default), a list of pool names (first that can provision), or <c>{"onDemandBase": N, "onDemandPercentAboveBase": P}</c>.</summary>
    [Option]
    public JsonElement Placement { get; set; }

    /// <summary>What happens to requests running on a reclaimed or crashed replica: <c>retry</c> (back at the head of the queue) or <c>drop</c>.</summary>
    [Option]
    public string OnPreemption { get; set; } = "retry";

    /// <summary>Crashes per ready replica-hour (seeded Poisson); a crashed replica reloads on its node.</summary>
    [Option(Unit = "1/replica-hour", Min = 0, Max = 3600)]
    public double ReplicaFailuresPerHour { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(NodePoolConfig))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(StockoutConfig))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(StockoutWindowConfig))]
    public IReadOnlyList<string> Validate()
    {
        if (NodePools is [])
        {
            return ["nodePools must list at least one pool"];
        }

        return OnPreemption is "retry" or "drop" ? [] : [$"onPreemption (\"{OnPreemption}\") must be \"retry\" or \"drop\""];
    }

    /// <summary>The checked cluster, or a <see cref="ConfigException"/> naming the field.</summary>
    public ClusterSpec ToSpec(string file, ReplicaOptions replica, string at)
    {
        var pools = new List<NodePoolSpec>();
        for (var i = 0; i < NodePools!.Count; i++)
        {
            var path = $"{at}.nodePools[{i}]";
            var pool = NodePools[i];
            if (pools.Any(p => p.Name == pool.Name))
            {
                throw new ConfigException(file, path + ".name", $"\"{pool.Name}\" is already the name of another pool");
            }

            pools.Add(pool.ToSpec(file, path, replica));
        }

        var spec = new ClusterSpec(pools, PlacementKind.CheapestFirst, [], 0, 0, OnPreemption == "drop", ReplicaFailuresPerHour);
        switch (Placement.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return spec;
            case JsonValueKind.String when Placement.GetString() == "cheapest-first":
                return spec;
            case JsonValueKind.Array:
                var priority = new List<int>();
                var index = 0;
                foreach (var item in Placement.EnumerateArray())
                {
                    var where = $"{at}.placement[{index++}]";
                    var name = item.ValueKind == JsonValueKind.String ? item.GetString()! : throw new ConfigException(file, where, $"must be a pool's name, not {JsonFields.Kind(item)}");
                    var p = spec.IndexOf(name);
                    if (p < 0)
                    {
                        throw new ConfigException(file, where, $"names no pool: \"{name}\" (pools: {string.Join(", ", pools.Select(x => x.Name))})");
                    }

                    if (priority.Contains(p))
                    {
                        throw new ConfigException(file, where, $"\"{name}\" is listed twice");
                    }

                    priority.Add(p);
                }

                if (priority.Count == 0)
                {
                    throw new ConfigException(file, at + ".placement", "a priority list must name at least one pool");
                }

                return spec with { Placement = PlacementKind.Priority, Priority = priority };
            case JsonValueKind.Object:
                var mixed = (MixedPlacementConfig)ConfigLoader.Bind(typeof(MixedPlacementConfig), Placement, at + ".placement", file);
                if (!pools.Any(p => p.Spot) || pools.All(p => p.Spot))
                {
                    throw new ConfigException(file, at + ".placement", "onDemandBase and onDemandPercentAboveBase need both an on-demand pool and a spot one (\"spot\": true)");
                }

                return spec with { Placement = PlacementKind.OnDemandBase, OnDemandBase = mixed.OnDemandBase, OnDemandPercentAboveBase = mixed.OnDemandPercentAboveBase };
            default:
                throw new ConfigException(file, at + ".placement", $"must be \"cheapest-first\", a list of pool names, or {{\"onDemandBase\": N, \"onDemandPercentAboveBase\": P}}, not {JsonFields.Kind(Placement)}");
        }
    }
}

/// <summary>Placement by AWS's mixed-instances rule: an on-demand base, then a share of on-demand nodes above it, the rest spot.</summary>
internal sealed class MixedPlacementConfig : IValidatableOptions
{
    /// <summary>On-demand nodes before any spot one.</summary>
    [Option(Unit = "nodes", Min = 0, Max = 1_000_000)]
    public int OnDemandBase { get; set; }

    /// <summary>The share of on-demand nodes above the base.</summary>
    [Option(Unit = "%", Min = 0, Max = 100)]
    public double OnDemandPercentAboveBase { get; set; } = 100;

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>One entry of <c>cluster.nodePools</c>.</summary>
internal sealed class NodePoolConfig : IValidatableOptions
{
    /// <summary>The pool's name (placement and replica shapes refer to it).</summary>
    [Option(Required = true)]
    public string? Name { get; set; }

    /// <summary>GPUs on each node; a replica needs all of its GPUs on one node.</summary>
    [Option(Unit = "GPUs", Min = 1, Max = 4096)]
    public int GpusPerNode { get; set; } = 1;

    /// <summary>Price of a node-hour (or give dollarsPerGpuHour; with neither, the replica's price per GPU-hour).</summary>
    [Option(Unit = "$/node-hour", Min = 0, Max = 1e7)]
    public double? DollarsPerNodeHour { get; set; }

    /// <summary>Price of one of the node's GPUs for an hour (the node costs gpusPerNode x this).</summary>
    [Option(Unit = "$/GPU-hour", Min = 0, Max = 1e6)]
    public double? DollarsPerGpuHour { get; set; }

    /// <summary>From a provision request until the node is schedulable (boot, join, drivers, image pull).</summary>
    [Option(Unit = "s", Min = 0, Max = 604_800)]
    public Duration ProvisionSeconds { get; set; }

    /// <summary>At most this many nodes at once, committed ones included; none for no limit.</summary>
    [Option(Unit = "nodes", Min = 1, Max = 1_000_000)]
    public int? MaxNodes { get; set; }

    /// <summary>Empty nodes kept up and idle (billed), replenished when a replica takes one.</summary>
    [Option(Unit = "nodes", Min = 0, Max = 100_000)]
    public int WarmNodes { get; set; }

    /// <summary>An empty node beyond the warm and committed ones is removed after this long: 600 is the cluster autoscaler's scale-down-unneeded time; 0 (the default) removes it at once.</summary>
    [Option(Unit = "s", Min = 0, Max = 604_800)]
    public Duration EmptyNodeScaleDownSeconds { get; set; }

    /// <summary>Spot (preemptible) capacity.</summary>
    [Option]
    public bool Spot { get; set; }

    /// <summary>Reclaims per ready node-hour (seeded Poisson); spot pools only.</summary>
    [Option(Unit = "1/node-hour", Min = 0, Max = 3600)]
    public double PreemptionsPerNodeHour { get; set; }

    /// <summary>From a reclaim notice until the node is gone (120 s on AWS, 30 s on GCP).</summary>
    [Option(Unit = "s", Min = 0, Max = 86_400)]
    public Duration NoticeSeconds { get; set; } = Duration.FromSeconds(120);

    /// <summary>Nodes reserved for the whole span, billed for all of it whether used or not, used first.</summary>
    [Option(Unit = "nodes", Min = 0, Max = 100_000)]
    public int CommittedNodes { get; set; }

    /// <summary>The committed price of a node-hour (default: the pool's price).</summary>
    [Option(Unit = "$/node-hour", Min = 0, Max = 1e7)]
    public double? CommittedDollarsPerNodeHour { get; set; }

    /// <summary>When the pool cannot provision.</summary>
    [Option]
    public StockoutConfig? Stockouts { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(StockoutConfig))]
    public IReadOnlyList<string> Validate()
    {
        if (DollarsPerNodeHour is not null && DollarsPerGpuHour is not null)
        {
            return ["give dollarsPerNodeHour or dollarsPerGpuHour, not both"];
        }

        if (MaxNodes is { } max && CommittedNodes + WarmNodes > max)
        {
            return [$"committedNodes ({CommittedNodes}) plus warmNodes ({WarmNodes}) must be at most maxNodes ({max})"];
        }

        if (PreemptionsPerNodeHour > 0 && !Spot)
        {
            return ["preemptionsPerNodeHour needs \"spot\": true (on-demand nodes are not reclaimed)"];
        }

        return [];
    }

    public NodePoolSpec ToSpec(string file, string path, ReplicaOptions replica)
    {
        var perNode = DollarsPerNodeHour ?? (DollarsPerGpuHour ?? replica.DollarsPerGpuHour) * GpusPerNode;
        StockoutSpec? stockouts = null;
        if (Stockouts is { } s)
        {
            var windows = new List<(Instant, Instant)>();
            for (var i = 0; i < (s.Windows?.Count ?? 0); i++)
            {
                var at = $"{path}.stockouts.windows[{i}]";
                var from = ParseInstant(s.Windows![i].From!, file, at + ".from");
                var to = ParseInstant(s.Windows[i].To!, file, at + ".to");
                if (to <= from)
                {
                    throw new ConfigException(file, at + ".to", $"must be after from ({s.Windows[i].From})");
                }

                windows.Add((from, to));
            }

            stockouts = new StockoutSpec(windows, OptionDuration.Seconds(s.MeanSecondsBetween) ?? 0, OptionDuration.Seconds(s.MeanSeconds) ?? 0, s.RetrySeconds.TotalSeconds);
        }

        return new NodePoolSpec(Name!, GpusPerNode, perNode, ProvisionSeconds.TotalSeconds, MaxNodes ?? int.MaxValue, WarmNodes,
            EmptyNodeScaleDownSeconds.TotalSeconds, Spot, PreemptionsPerNodeHour, NoticeSeconds.TotalSeconds, CommittedNodes,
            CommittedDollarsPerNodeHour ?? perNode, stockouts);
    }

    private static Instant ParseInstant(string text, string file, string path)
    {
        var parsed = InstantPattern.ExtendedIso.Parse(text);
        if (!parsed.Success)
        {
            var offset = OffsetDateTimePattern.ExtendedIso.Parse(text);
            if (offset.Success)
            {
                return offset.Value.ToInstant();
            }

            throw new ConfigException(file, path, $"must be an ISO-8601 instant such as \"2026-01-05T10:00:00Z\" (was \"{text}\")");
        }

        return parsed.Value;
    }
}

/// <summary>A pool's stockouts: fixed windows, a seeded random process, or both.</summary>
internal sealed class StockoutConfig : IValidatableOptions
{
    /// <summary>Windows with no capacity, <c>[{"from": "2026-01-05T10:00:00Z", "to": "2026-01-05T12:00:00Z"}]</c>.</summary>
    [Option]
    public List<StockoutWindowConfig>? Windows { get; set; }

    /// <summary>The mean time between random stockouts (exponential, seeded); leave out for none.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 31_536_000)]
    public Duration? MeanSecondsBetween { get; set; }

    /// <summary>The mean length of a random stockout (exponential, seeded).</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 31_536_000)]
    public Duration? MeanSeconds { get; set; }

    /// <summary>A provision request refused by a stockout is tried again after this long.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 86_400)]
    public Duration RetrySeconds { get; set; } = Duration.FromSeconds(60);

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(StockoutWindowConfig))]
    public IReadOnlyList<string> Validate() =>
        (MeanSecondsBetween is null) != (MeanSeconds is null) ? ["give meanSecondsBetween and meanSeconds together"] : [];
}

/// <summary>One stockout window.</summary>
internal sealed class StockoutWindowConfig : IValidatableOptions
{
    /// <summary>The window's start, an ISO-8601 instant.</summary>
    [Option(Required = true)]
    public string? From { get; set; }

    /// <summary>The window's end (not included).</summary>
    [Option(Required = true)]
    public string? To { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>One entry of <c>replicas</c>: a replica shape a candidate names with <c>"replica": "name"</c>.</summary>
internal sealed class ReplicaShapeConfig : IValidatableOptions
{
    /// <summary>GPUs per replica, all on one node.</summary>
    [Option(Unit = "GPUs", Min = 1, Max = 4096)]
    public int Gpus { get; set; } = 1;

    /// <summary>Requests per second one ready replica of this shape serves (default: the replica section's).</summary>
    [Option(Unit = "req/s", Min = 0, MinExclusive = true, Max = 1e9)]
    public double? CapacityRps { get; set; }

    /// <summary>Price of a GPU-hour without a cluster (default: the replica section's).</summary>
    [Option(Unit = "$/GPU-hour", Min = 0, Max = 1e6)]
    public double? DollarsPerGpuHour { get; set; }

    /// <summary>On a cluster: the only pool this shape's replicas run on (default: any that fits).</summary>
    [Option]
    public string? Pool { get; set; }

    /// <summary>The shape's own serving profile (step times, sequences, KV cache on its GPUs); needs <c>replica.serving</c>, whose tokens the trace is read with.</summary>
    [Option]
    public ServingOptions? Serving { get; set; }

    /// <summary>The shape's load path, for candidates that give no <c>loadTime</c> of their own.</summary>
    [Option]
    public JsonElement LoadTime { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(ServingOptions))]
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>A checked replica shape.</summary>
/// <param name="Replica">Its GPUs, capacity and price.</param>
/// <param name="Pool">The only pool it runs on; null for any.</param>
/// <param name="Serving">Its own serving profile; null for the config's.</param>
/// <param name="LoadTime">Its load path (JSON), for candidates without one; undefined when it has none.</param>
internal sealed record ReplicaShape(ReplicaSettings Replica, string? Pool, Autoscale.Backtesting.Serving.ServingProfile? Serving, JsonElement LoadTime);

/// <summary>Checks a candidate's replicas against the cluster.</summary>
internal static class ClusterRules
{
    /// <summary>The shapes of <c>replicas</c>, checked (their pools are checked against the cluster of each candidate that names them).</summary>
    public static Dictionary<string, ReplicaShape> Shapes(JsonElement replicas, ReplicaOptions replica, string file)
    {
        var shapes = new Dictionary<string, ReplicaShape>(StringComparer.Ordinal);
        if (replicas.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return shapes;
        }

        if (replicas.ValueKind != JsonValueKind.Object)
        {
            throw new ConfigException(file, "replicas", $"must be an object of replica shapes by name, not {JsonFields.Kind(replicas)}");
        }

        foreach (var member in replicas.EnumerateObject())
        {
            var path = $"replicas.{member.Name}";
            var shape = (ReplicaShapeConfig)ConfigLoader.Bind(typeof(ReplicaShapeConfig), member.Value, path, file);
            if (shape.Serving is { Hardware: not null } withHardware)
            {
                var serving0 = member.Value.TryGetProperty("serving", out var given) ? given : default;
                var tp = Hardware.HardwareProfiles.Apply(withHardware, serving0, file, path + ".serving").Hardware.TensorParallel;
                if (!member.Value.TryGetProperty("gpus", out _))
                {
                    shape.Gpus = tp;
                }
                else if (shape.Gpus != tp)
                {
                    throw new ConfigException(file, path + ".gpus", $"({shape.Gpus}) must equal the shape's serving.hardware.tensorParallel ({tp}) (or leave it out)");
                }
            }

            var capacity = shape.CapacityRps ?? replica.CapacityRps ?? 1;
            var settings = new ReplicaSettings(capacity, shape.Gpus, shape.DollarsPerGpuHour ?? replica.DollarsPerGpuHour);
            if (shape.Serving is not null && replica.Serving is null)
            {
                throw new ConfigException(file, path + ".serving", "a shape's serving profile needs one in replica.serving too (the trace's tokens are read with it)");
            }

            if (shape.Serving?.Tokens is not null)
            {
                throw new ConfigException(file, path + ".serving.tokens", "every candidate replays the same requests, whose tokens are drawn once with replica.serving.tokens: give them there, not per shape");
            }

            var serving = shape.Serving is { } own ? Autoscale.Backtesting.Serving.ServingProfile.From(own) : null;
            shapes[member.Name] = new ReplicaShape(settings, shape.Pool, serving, shape.LoadTime.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? default : shape.LoadTime.Clone());
        }

        return shapes;
    }

    /// <summary>A candidate's shape on the cluster it runs on: its pool is one of the cluster's, and its replicas fit on a node.</summary>
    public static void ShapeFits(ClusterSpec cluster, int gpus, string? pool, string file, string poolPath, string gpusPath)
    {
        if (pool is not null && cluster.IndexOf(pool) < 0)
        {
            throw new ConfigException(file, poolPath, $"names no pool: \"{pool}\" (pools: {string.Join(", ", cluster.Pools.Select(p => p.Name))})");
        }

        Fits(cluster, gpus, pool, file, gpusPath);
    }

    /// <summary>A replica of <paramref name="gpus"/> GPUs must fit on one node of a pool it may use.</summary>
    public static void Fits(ClusterSpec cluster, int gpus, string? pool, string file, string path)
    {
        if (gpus < 1)
        {
            throw new ConfigException(file, path, "must be at least 1 on a cluster (a replica holds its GPUs on one node)");
        }

        var pools = cluster.Pools.Where(p => pool is null || p.Name == pool).ToList();
        if (pools.All(p => p.GpusPerNode < gpus))
        {
            var largest = pools.MaxBy(p => p.GpusPerNode)!;
            throw new ConfigException(file, path, $"a replica needs {gpus} GPUs on one node, more than any node of {(pool is null ? "any pool" : $"pool \"{pool}\"")} has (the largest: {largest.GpusPerNode}, pool \"{largest.Name}\")");
        }
    }
}
