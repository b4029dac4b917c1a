using NodaTime;

namespace Autoscale.Backtesting.Cluster;

/// <summary>
/// The fleet's nodes (the config's <c>cluster</c> section, checked): pools of GPU nodes that take time to provision, may
/// run out, may be reclaimed (spot), may be committed for the whole span; how replicas are placed on them; how often
/// replicas crash. Without one a replay bills replicas and starts their loads at once (today's model).
/// </summary>
/// <param name="Pools">The node pools, in config order.</param>
/// <param name="Placement">How a new node's pool is chosen.</param>
/// <param name="Priority">With <see cref="PlacementKind.Priority"/>: pool indices, most preferred first.</param>
/// <param name="OnDemandBase">With <see cref="PlacementKind.OnDemandBase"/>: on-demand nodes before any spot one.</param>
/// <param name="OnDemandPercentAboveBase">With <see cref="PlacementKind.OnDemandBase"/>: the on-demand share of the nodes above the base, percent.</param>
/// <param name="DropOnPreemption">Whether requests running on a reclaimed or crashed replica are dropped (else retried at the head of the queue).</param>
/// <param name="ReplicaFailuresPerHour">Crashes per ready replica-hour (Poisson, seeded).</param>
/// <remarks>
/// Immutable; safe to share between threads. The config's <c>cluster</c> section builds one with every rule checked and
/// each error at its config path; one built in code is checked by <see cref="Validate"/> when a replay starts.
/// </remarks>
public sealed record ClusterSpec(
    IReadOnlyList<NodePoolSpec> Pools,
    PlacementKind Placement,
    IReadOnlyList<int> Priority,
    int OnDemandBase,
    double OnDemandPercentAboveBase,
    bool DropOnPreemption,
    double ReplicaFailuresPerHour)
{
    /// <summary>
    /// Every rule the cluster breaks, each at its path under <c>cluster</c> (<c>nodePools[0].gpusPerNode</c>): at least
    /// one pool, unique names, whole positive GPUs and node counts within the pool's maximum, prices and durations finite
    /// and not negative, a priority list of distinct pool indices, an on-demand share in [0, 100].
    /// </summary>
    public IReadOnlyList<OptionError> Validate()
    {
        var errors = new List<OptionError>();
        if (Pools is null || Pools.Count == 0)
        {
            errors.Add(new OptionError("nodePools", "must list at least one pool"));
            return errors;
        }

        for (var i = 0; i < Pools.Count; i++)
        {
            errors.AddRange(Pools[i] is { } pool ? pool.Validate().Select(e => e.Under($"nodePools[{i}]")) : [new OptionError($"nodePools[{i}]", "must be a pool, not null")]);
            if (Pools[i] is { } named && IndexOf(named.Name) != i)
            {
                errors.Add(new OptionError($"nodePools[{i}].name", $"\"{named.Name}\" is already the name of another pool"));
            }
        }

        var priority = Priority ?? [];
        if (priority.Any(p => p < 0 || p >= Pools.Count) || priority.Distinct().Count() != priority.Count || (Placement == PlacementKind.Priority && priority.Count == 0))
        {
            errors.Add(new OptionError("placement", $"a priority list names each of the {Pools.Count} pools by index at most once, and at least one"));
        }

        if (OnDemandBase < 0 || !(OnDemandPercentAboveBase is >= 0 and <= 100))
        {
            errors.Add(new OptionError("placement", "onDemandBase must be >= 0 and onDemandPercentAboveBase in [0, 100]"));
        }

        if (!(ReplicaFailuresPerHour >= 0 && double.IsFinite(ReplicaFailuresPerHour)))
        {
            errors.Add(new OptionError("replicaFailuresPerHour", $"must be a finite number >= 0 (was {ReplicaFailuresPerHour})"));
        }

        return errors;
    }

    /// <summary>The index of the pool named <paramref name="name"/>, or -1.</summary>
    public int IndexOf(string name)
    {
        for (var i = 0; i < Pools.Count; i++)
        {
            if (string.Equals(Pools[i].Name, name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>How a replica that finds no room on a ready node chooses the pool of the node it asks for.</summary>
public enum PlacementKind
{
    /// <summary>The pool with the lowest price per GPU-hour that can provision (config order on ties).</summary>
    CheapestFirst,

    /// <summary>A list of pools, the first that can provision (Karpenter's weighted NodePools).</summary>
    Priority,

    /// <summary>An on-demand base, then a percentage of on-demand nodes above it, the rest spot (AWS's mixed-instances policy).</summary>
    OnDemandBase,
}

/// <summary>One node pool.</summary>
/// <param name="Name">Unique name.</param>
/// <param name="GpusPerNode">GPUs on each node.</param>
/// <param name="DollarsPerNodeHour">Price of one node-hour while it exists (from its provision request until removal).</param>
/// <param name="ProvisionSeconds">From a provision request until the node is schedulable.</param>
/// <param name="MaxNodes">At most this many nodes at once (committed ones included).</param>
/// <param name="WarmNodes">Empty ready nodes kept up (billed) and replenished when a replica takes one.</param>
/// <param name="EmptyNodeScaleDownSeconds">An empty node (beyond the warm and committed ones) is removed after this long.</param>
/// <param name="Spot">Whether the pool is spot (preemptible) capacity.</param>
/// <param name="PreemptionsPerNodeHour">Reclaims per ready node-hour (Poisson, seeded).</param>
/// <param name="NoticeSeconds">From a reclaim notice until the node is gone.</param>
/// <param name="CommittedNodes">Nodes up for the whole span, billed for all of it at <paramref name="CommittedDollarsPerNodeHour"/>, used first.</param>
/// <param name="CommittedDollarsPerNodeHour">The committed price of a node-hour.</param>
/// <param name="Stockouts">When the pool cannot provision; null when it always can.</param>
public sealed record NodePoolSpec(
    string Name,
    int GpusPerNode,
    double DollarsPerNodeHour,
    double ProvisionSeconds,
    int MaxNodes,
    int WarmNodes,
    double EmptyNodeScaleDownSeconds,
    bool Spot,
    double PreemptionsPerNodeHour,
    double NoticeSeconds,
    int CommittedNodes,
    double CommittedDollarsPerNodeHour,
    StockoutSpec? Stockouts)
{
    /// <summary>The price of one GPU-hour on this pool's nodes.</summary>
    public double DollarsPerGpuHour => DollarsPerNodeHour / GpusPerNode;

    /// <summary>Every rule the pool breaks, each at its field's path; empty when valid.</summary>
    public IReadOnlyList<OptionError> Validate()
    {
        var errors = new List<OptionError>();
        if (string.IsNullOrEmpty(Name))
        {
            errors.Add(new OptionError("name", "is required"));
        }

        if (GpusPerNode < 1)
        {
            errors.Add(new OptionError("gpusPerNode", $"must be >= 1 (was {GpusPerNode})"));
        }

        if (MaxNodes < 1 || CommittedNodes < 0 || WarmNodes < 0 || CommittedNodes + WarmNodes > MaxNodes)
        {
            errors.Add(new OptionError("maxNodes", $"must be >= 1 and hold the committed ({CommittedNodes}) and warm ({WarmNodes}) nodes, none negative (was {MaxNodes})"));
        }

        (string Name, double Value)[] figures = [("dollarsPerNodeHour", DollarsPerNodeHour), ("provisionSeconds", ProvisionSeconds), ("emptyNodeScaleDownSeconds", EmptyNodeScaleDownSeconds),
            ("preemptionsPerNodeHour", PreemptionsPerNodeHour), ("noticeSeconds", NoticeSeconds), ("committedDollarsPerNodeHour", CommittedDollarsPerNodeHour)];
        foreach (var (name, value) in figures.Where(f => !(f.Value >= 0 && double.IsFinite(f.Value))))
        {
            errors.Add(new OptionError(name, $"must be a finite number >= 0 (was {value})"));
        }

        if (Stockouts is { } s && (s.Windows is null || s.Windows.Any(w => w.To <= w.From) || !(s.MeanSecondsBetween >= 0 && double.IsFinite(s.MeanSecondsBetween))
            || !(s.MeanSeconds >= 0 && double.IsFinite(s.MeanSeconds)) || !(s.RetrySeconds > 0 && double.IsFinite(s.RetrySeconds))))
        {
            errors.Add(new OptionError("stockouts", "windows must end after they start, mean durations be finite and >= 0, and the retry > 0"));
        }

        return errors;
    }
}

/// <summary>When a pool has no capacity: fixed windows, a seeded alternating process, or both.</summary>
/// <param name="Windows">Stockout windows, [from, to).</param>
/// <param name="MeanSecondsBetween">The mean time between random stockouts (exponential); 0 for none.</param>
/// <param name="MeanSeconds">The mean length of a random stockout (exponential).</param>
/// <param name="RetrySeconds">A provision request that meets a stockout is tried again after this long.</param>
public sealed record StockoutSpec(IReadOnlyList<(Instant From, Instant To)> Windows, double MeanSecondsBetween, double MeanSeconds, double RetrySeconds);
