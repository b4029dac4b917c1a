using System.Text.Json;
using Autoscale.Backtesting.Engine;

namespace Autoscale.Config;

/// <summary>Reading a candidate of a disaggregated fleet: a policy per pool.</summary>
public sealed partial class ConfigLoader
{
    private static bool PoolOnly(string policy) =>
        policy.Equals("pd-ratio", StringComparison.OrdinalIgnoreCase) || policy.Equals("dynamo-sla", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A candidate of a disaggregated fleet: each pool's policy read as a candidate of its own (its loadTime and cadence,
    /// else the candidate's), the two joined under the candidate's name.
    /// </summary>
    private CandidateSpec ReadPools(CandidateConfig candidate, PoolPoliciesConfig policies, string file, string path, ReplaySettings settings, Measurements measurements)
    {
        if (settings.Serving?.Disaggregation is null)
        {
            throw new ConfigException(file, path + ".policies", "scales a disaggregated fleet's pools, and the config has none: give replica.serving.disaggregation (or a single policy)");
        }

        if (settings.FluidServing)
        {
            throw new ConfigException(file, "engine.serving", $"candidate \"{candidate.Name}\" scales disaggregated pools, which are replayed request by request: engine.serving must be \"request\"");
        }

        if (settings.Cluster is not null)
        {
            throw new ConfigException(file, "cluster", $"candidate \"{candidate.Name}\" scales disaggregated pools, which are not replayed on a cluster yet: leave cluster out");
        }

        if (candidate.Replica is not null || candidate.Cluster is not null)
        {
            throw new ConfigException(file, path + (candidate.Replica is not null ? ".replica" : ".cluster"), "a candidate with policies runs on replica.serving.disaggregation's pools: leave replica and cluster out");
        }

        CandidateSpec Pool(PoolPolicyConfig pool, string name)
        {
            var one = new CandidateConfig
            {
                Name = candidate.Name,
                Policy = pool.Policy,
                Options = pool.Options,
                LoadTime = pool.LoadTime.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? candidate.LoadTime : pool.LoadTime,
                DecisionIntervalSeconds = pool.DecisionIntervalSeconds ?? candidate.DecisionIntervalSeconds,
                MetricsDelaySeconds = pool.MetricsDelaySeconds ?? candidate.MetricsDelaySeconds,
            };
            var at = $"{path}.policies.{name}";
            if (one.LoadTime.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            {
                throw new ConfigException(file, at + ".loadTime", "is required (or give the candidate a loadTime both pools take)");
            }

            return ReadCandidate(one, file, at, settings, 1, measurements, false, _ => null).Single().Spec;
        }

        if (policies.Prefill!.Policy is { } first && first.Equals("pd-ratio", StringComparison.OrdinalIgnoreCase))
        {
            throw new ConfigException(file, path + ".policies.prefill.policy", "\"pd-ratio\" scales the decode pool from the prefill pool: the prefill pool needs a policy of its own");
        }

        var prefill = Pool(policies.Prefill!, "prefill");
        var decode = Pool(policies.Decode!, "decode");
        return prefill with
        {
            PolicyName = $"{prefill.PolicyName} (prefill) + {decode.PolicyName} (decode)",
            Options = null,
            Pools = new Autoscale.Backtesting.Serving.PoolCandidates(prefill, decode),
        };
    }
}
