namespace Autoscale.Backtesting.Cluster;

/// <summary>Where a node of the cluster replay stands.</summary>
internal enum NodeState
{
    /// <summary>Asked of the cloud; not yet joined.</summary>
    Provisioning,

    /// <summary>Joined; takes replicas.</summary>
    Ready,

    /// <summary>A spot node whose reclaim notice came: takes nothing new, gone at the notice's end.</summary>
    Noticed,
}

/// <summary>Where a replica of the cluster replay stands.</summary>
internal enum ReplicaState
{
    /// <summary>Waiting for a node with room.</summary>
    Pending,

    /// <summary>On a node, loading its weights.</summary>
    Loading,

    /// <summary>Loaded and serving.</summary>
    Up,

    /// <summary>Released: finishing its work, then gone.</summary>
    Draining,
}
