namespace Autoscale;

/// <summary>
/// A policy whose autoscaler also limits the requests one replica holds at once, in its queue and in service: Ray
/// Serve's <c>max_ongoing_requests</c>, Knative's <c>containerConcurrency</c>. Serving replays route no more to a
/// replica at the limit; the rest wait at the router until one has room. The count replay, whose replicas serve a rate,
/// does not model it.
/// </summary>
public interface IReplicaRequestLimit
{
    /// <summary>The most requests a replica holds at once; 0 for no limit.</summary>
    int MaxRequestsPerReplica { get; }
}
