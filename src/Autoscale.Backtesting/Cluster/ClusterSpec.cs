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
/// <remarks>Immutable; safe to share between threads.</remarks>
internal sealed record ClusterSpec(
    IReadOnlyList<NodePoolSpec> Pools,
    PlacementKind Placement,
    IReadOnlyList<int> Priority,
    int OnDemandBase,
    double OnDemandPercentAboveBase,
    bool DropOnPreemption,
    double ReplicaFailuresPerHour)
{
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
internal enum PlacementKind
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
internal sealed record NodePoolSpec(
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
}

/// <summary>When a pool has no capacity: fixed windows, a seeded alternating process, or both.</summary>
/// <param name="Windows">Stockout windows, [from, to).</param>
/// <param name="MeanSecondsBetween">The mean time between random stockouts (exponential); 0 for none.</param>
/// <param name="MeanSeconds">The mean length of a random stockout (exponential).</param>
/// <param name="RetrySeconds">A provision request that meets a stockout is tried again after this long.</param>
internal sealed record StockoutSpec(IReadOnlyList<(Instant From, Instant To)> Windows, double MeanSecondsBetween, double MeanSeconds, double RetrySeconds);
