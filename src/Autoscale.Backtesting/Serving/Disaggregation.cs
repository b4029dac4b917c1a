using Autoscale.Backtesting.Engine;

namespace Autoscale.Backtesting.Serving;

/// <summary>
/// A disaggregated fleet (<c>replica.serving.disaggregation</c>): the prefill pool's replicas and profile, the decode
/// pool's, and the KV cache transfer between them.
/// </summary>
/// <param name="Prefill">The prefill pool's serving profile.</param>
/// <param name="PrefillReplica">A prefill replica's GPUs and price.</param>
/// <param name="Decode">The decode pool's serving profile.</param>
/// <param name="DecodeReplica">A decode replica's GPUs and price.</param>
/// <param name="Transfer">The KV cache transfer.</param>
public sealed record Disaggregation(ServingProfile Prefill, ReplicaSettings PrefillReplica, ServingProfile Decode, ReplicaSettings DecodeReplica, KvTransfer Transfer);

/// <summary>The candidates of a disaggregated fleet's two pools: each its own policy, load-time model and cadence.</summary>
/// <param name="Prefill">The prefill pool's.</param>
/// <param name="Decode">The decode pool's.</param>
public sealed record PoolCandidates(CandidateSpec Prefill, CandidateSpec Decode);
