namespace Autoscale.Backtesting.Cluster;

/// <summary>
/// What a replay on a cluster (the config's <c>cluster</c> section) adds to a candidate's result: node dollars by pool
/// and kind, GPUs paid for and unused, provisioning waits, stockouts, reclaims and crashes.
/// </summary>
/// <remarks>Immutable.</remarks>
public sealed record ClusterMetrics
{
    /// <summary>Every node's dollars: from its provision request until removal, committed nodes for the whole span.</summary>
    public double NodeDollars { get; init; }

    /// <summary>Node dollars of the GPUs no replica held (partly used, empty, warm and provisioning nodes).</summary>
    public double IdleGpuDollars { get; init; }

    /// <summary>Replica dollars: each replica's GPUs at its node's price per GPU while it held them (never above <see cref="NodeDollars"/>).</summary>
    public double ReplicaDollars { get; init; }

    /// <summary>Node dollars of on-demand pools, committed nodes left out.</summary>
    public double OnDemandDollars { get; init; }

    /// <summary>Node dollars of spot pools.</summary>
    public double SpotDollars { get; init; }

    /// <summary>Dollars of committed nodes (the whole span, used or not).</summary>
    public double CommittedDollars { get; init; }

    /// <summary>Node dollars of empty nodes kept as warm nodes.</summary>
    public double WarmNodeDollars { get; init; }

    /// <summary>Median wait of a replica for a node (0 when it found room on a ready node), seconds.</summary>
    public double ProvisionWaitP50Seconds { get; init; }

    /// <summary>99th percentile wait for a node, seconds.</summary>
    public double ProvisionWaitP99Seconds { get; init; }

    /// <summary>The longest wait for a node, seconds.</summary>
    public double ProvisionWaitMaxSeconds { get; init; }

    /// <summary>Replica-seconds spent waiting for a node (pending; the signal shows them as loading).</summary>
    public double PendingSeconds { get; init; }

    /// <summary>Loads the policy asked for that began on a node: the run's cold starts on a cluster (a replica that never got a node never loaded).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    internal long LoadsStarted { get; init; }

    /// <summary>The most replicas held on nodes at once (loading or ready): the run's peak on a cluster.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    internal int PeakPlacedReplicas { get; init; }

    /// <summary>Replicas that never got a node: cancelled while pending, or pending when the replay ended.</summary>
    public long UnplacedReplicas { get; init; }

    /// <summary>Nodes reclaimed (spot notices).</summary>
    public long Preemptions { get; init; }

    /// <summary>Replicas lost to reclaims.</summary>
    public long PreemptedReplicas { get; init; }

    /// <summary>Replica crashes (each reloads on its node).</summary>
    public long Crashes { get; init; }

    /// <summary>Requests dropped because their replica was reclaimed or crashed.</summary>
    public long RequestsLost { get; init; }

    /// <summary>Requests put back at the head of the queue because their replica was reclaimed or crashed.</summary>
    public long RequestsRetried { get; init; }

    /// <summary>Minutes of stockout, summed over pools.</summary>
    public double StockoutMinutes { get; init; }

    /// <summary>Provision requests refused by a stockout.</summary>
    public long ProvisionFailures { get; init; }

    /// <summary>The most nodes up at once, all pools together.</summary>
    public int PeakNodes { get; init; }

    /// <summary>Per pool, in config order.</summary>
    public IReadOnlyList<NodePoolResult> Pools { get; init; } = [];

    /// <summary>Nodes and replicas per pool over time, downsampled like the replay's timeline; empty when none was recorded.</summary>
    public IReadOnlyList<ClusterPoint> Timeline { get; init; } = [];
}

/// <summary>One pool's share of a cluster replay.</summary>
/// <remarks>Immutable.</remarks>
public sealed record NodePoolResult
{
    /// <summary>The pool's name.</summary>
    public required string Name { get; init; }

    /// <summary>"on-demand" or "spot".</summary>
    public required string Kind { get; init; }

    /// <summary>The pool's node dollars, committed ones included.</summary>
    public double Dollars { get; init; }

    /// <summary>Node-seconds billed (committed nodes for the whole span).</summary>
    public double NodeSeconds { get; init; }

    /// <summary>Nodes provisioned during the replay (committed and initial ones left out).</summary>
    public long NodesProvisioned { get; init; }

    /// <summary>The most nodes of the pool up at once.</summary>
    public int PeakNodes { get; init; }

    /// <summary>Nodes of the pool reclaimed.</summary>
    public long Preemptions { get; init; }

    /// <summary>Minutes the pool was stocked out.</summary>
    public double StockoutMinutes { get; init; }
}

/// <summary>The cluster over one timeline bucket: the most at any tick of it.</summary>
/// <param name="Tick">The first tick of the bucket.</param>
/// <param name="Nodes">The most nodes up per pool (provisioning, ready or under notice, committed included), in config order.</param>
/// <param name="Replicas">The most replicas holding GPUs per pool (pending on a provisioning node, loading or ready), in config order.</param>
public sealed record ClusterPoint(long Tick, IReadOnlyList<int> Nodes, IReadOnlyList<int> Replicas);
