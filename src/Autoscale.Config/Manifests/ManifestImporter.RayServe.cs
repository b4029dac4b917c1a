using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Policies.Catalog;
using Autoscale.Policies.Common;

namespace Autoscale.Config.Manifests;

/// <summary>Ray Serve configs (and KubeRay RayServices): one candidate per autoscaled deployment.</summary>
public static partial class ManifestImporter
{
    /// <summary>Ray's <c>num_replicas: auto</c> (Ray 2.49, serve/config.py): these autoscaling defaults, under what autoscaling_config gives.</summary>
    private static readonly (string Key, double Value)[] RayAutoDefaults = [("min_replicas", 1), ("max_replicas", 100), ("target_ongoing_requests", 2)];

    /// <summary>Ray's pre-2.32 names, still read with a deprecation warning, and the names that replaced them.</summary>
    internal static readonly Dictionary<string, string> RayDeprecated = new(StringComparer.Ordinal)
    {
        ["target_num_ongoing_requests_per_replica"] = "target_ongoing_requests",
        ["max_concurrent_queries"] = "max_ongoing_requests",
    };

    /// <summary>Ray's own default policy, which the <c>ray-serve</c> policy replays; any other policy function is the user's code.</summary>
    private static readonly string[] RayDefaultPolicies =
    [
        "ray.serve.autoscaling_policy:default_autoscaling_policy",
        "ray.serve.autoscaling_policy:replica_queue_length_autoscaling_policy",
        "ray.serve.autoscaling_policy.replica_queue_length_autoscaling_policy",
        "ray.serve.autoscaling_policy.default_autoscaling_policy",
    ];

    /// <summary>
    /// Every autoscaled deployment of a Ray Serve config (a deployment with <c>autoscaling_config</c> or
    /// <c>num_replicas: auto</c>, and each of a Ray Serve LLM application's <c>llm_configs</c>): one candidate each, named
    /// by the deployment alone when it is the only one, else <c>APP/DEPLOYMENT</c>.
    /// </summary>
    private static List<JsonObject> RayServe(string file, JsonObject root, PolicyCatalog catalog, List<string> notes)
    {
        var found = new List<(string Path, string App, string Name, JsonObject Deployment)>();
        var applications = root["applications"] as JsonArray ?? throw new ConfigException(file, "applications", "must be a list of applications");
        for (var a = 0; a < applications.Count; a++)
        {
            var application = applications[a] as JsonObject;
            var app = (application?["name"] as JsonValue)?.ToString() ?? $"app{a}";
            if (application?["autoscaling_policy"] is JsonObject appPolicy && !IsRayDefaultPolicy(appPolicy))
            {
                throw new ConfigException(file, $"applications[{a}].autoscaling_policy", $"an application-level policy ({Shown((appPolicy["policy_function"] as JsonValue)?.ToString() ?? "custom")}) is the user's own code and cannot be replayed; remove it to replay Ray's default policy per deployment");
            }

            if (application?["deployments"] is JsonArray deployments)
            {
                for (var d = 0; d < deployments.Count; d++)
                {
                    if (deployments[d] is JsonObject deployment && IsAutoscaled(deployment))
                    {
                        found.Add(($"applications[{a}].deployments[{d}]", app, (deployment["name"] as JsonValue)?.ToString() ?? $"deployment{d}", deployment));
                    }
                }
            }

            // Ray Serve LLM: build_openai_app's args hold one LLMConfig per model, each with its deployment_config.
            if (application?["args"]?["llm_configs"] is JsonArray llms)
            {
                for (var l = 0; l < llms.Count; l++)
                {
                    if (llms[l]?["deployment_config"] is JsonObject deployment && IsAutoscaled(deployment))
                    {
                        var model = (llms[l]?["model_loading_config"]?["model_id"] as JsonValue)?.ToString() ?? $"llm{l}";
                        found.Add(($"applications[{a}].args.llm_configs[{l}].deployment_config", app, model, deployment));
                    }
                }
            }
        }

        if (found.Count == 0)
        {
            throw new ConfigException(file, "applications", "holds no deployment with an autoscaling_config or num_replicas: auto");
        }

        var candidates = new List<JsonObject>();
        foreach (var (path, app, name, deployment) in found)
        {
            var options = RayDeployment(file, path, deployment, notes);
            Check(file, catalog, "ray-serve", options, $"{path}.autoscaling_config", SnakeCase);
            var candidate = new JsonObject { ["name"] = found.Count == 1 ? name : $"{app}/{name}", ["policy"] = "ray-serve", ["options"] = options };
            candidate[DeploymentKey] = $"{app}/{name}";
            candidates.Add(candidate);
        }

        return candidates;
    }

    /// <summary>The deployment (or LLM deployment_config) <paramref name="deployment"/> names in a Serve config, or its only autoscaled one.</summary>
    public static JsonObject RayDeploymentNode(JsonObject serve, string? deployment)
    {
        var found = new List<(string Id, JsonObject Node)>();
        var applications = serve["applications"] as JsonArray ?? [];
        for (var a = 0; a < applications.Count; a++)
        {
            var app = (applications[a]?["name"] as JsonValue)?.ToString() ?? $"app{a}";
            var deployments = applications[a]?["deployments"] as JsonArray ?? [];
            for (var d = 0; d < deployments.Count; d++)
            {
                if (deployments[d] is JsonObject node && IsAutoscaled(node))
                {
                    found.Add(($"{app}/{(node["name"] as JsonValue)?.ToString() ?? $"deployment{d}"}", node));
                }
            }

            var llms = applications[a]?["args"]?["llm_configs"] as JsonArray ?? [];
            for (var l = 0; l < llms.Count; l++)
            {
                if (llms[l]?["deployment_config"] is JsonObject node && IsAutoscaled(node))
                {
                    found.Add(($"{app}/{(llms[l]?["model_loading_config"]?["model_id"] as JsonValue)?.ToString() ?? $"llm{l}"}", node));
                }
            }
        }

        var matches = deployment is null ? found : found.Where(f => f.Id == deployment || f.Id[(f.Id.IndexOf('/', StringComparison.Ordinal) + 1)..] == deployment).ToList();
        return matches.Count == 1
            ? matches[0].Node
            : throw new ConfigException("", "", $"the Serve config holds {matches.Count} autoscaled deployments{(deployment is null ? "" : $" named \"{deployment}\"")}; name the one with \"deployment\"");
    }

    /// <summary>The key a Ray candidate carries its <c>APP/DEPLOYMENT</c> under while being imported (removed before it is shown).</summary>
    internal const string DeploymentKey = "$deployment";

    private static bool IsAutoscaled(JsonObject deployment) =>
        deployment["autoscaling_config"] is JsonObject || (deployment["num_replicas"] as JsonValue)?.ToString() == "auto";

    private static bool IsRayDefaultPolicy(JsonObject policy) =>
        (policy["policy_function"] as JsonValue)?.ToString() is not { } function || RayDefaultPolicies.Contains(function, StringComparer.Ordinal);

    private static JsonObject RayDeployment(string file, string path, JsonObject deployment, List<string> notes)
    {
        var options = new JsonObject();
        var auto = (deployment["num_replicas"] as JsonValue)?.ToString() == "auto";
        if (auto)
        {
            foreach (var (key, value) in RayAutoDefaults)
            {
                options[CamelCase(key)] = value;
            }
        }

        if (!auto && deployment["num_replicas"] is JsonValue fixedCount && deployment["autoscaling_config"] is JsonObject)
        {
            // Ray's DeploymentSchema: num_replicas and autoscaling_config are mutually exclusive.
            throw new ConfigException(file, $"{path}.num_replicas", $"({Shown(fixedCount.ToJsonString())}) cannot be given beside autoscaling_config: Ray refuses the config (\"Manually setting num_replicas is not allowed when autoscaling_config is provided\"); remove it, or set it to auto");
        }

        if (deployment["autoscaling_config"] is JsonObject config)
        {
            RayAutoscalingConfig(file, path, config, options, notes);
        }

        // max_ongoing_requests sits on the deployment (and, before Ray 2.32, as max_concurrent_queries).
        var limitKey = deployment.ContainsKey("max_ongoing_requests") ? "max_ongoing_requests" : deployment.ContainsKey("max_concurrent_queries") ? "max_concurrent_queries" : null;
        if (limitKey is not null)
        {
            if (limitKey == "max_concurrent_queries")
            {
                notes.Add($"{path}.max_concurrent_queries is deprecated (Ray reads it as max_ongoing_requests)");
            }

            options["maxOngoingRequests"] = deployment[limitKey]!.DeepClone();
        }
        else if (path.Contains(".llm_configs[", StringComparison.Ordinal))
        {
            // Ray Serve LLM leaves its replicas unlimited unless told (DEFAULT_MAX_ONGOING_REQUESTS, 1e9, in
            // ray/llm/_internal/serve/configs/constants.py); vLLM's own scheduler bounds what runs.
            options["maxOngoingRequests"] = 1_000_000_000;
        }

        foreach (var key in new[] { "ray_actor_options", "placement_group_bundles", "graceful_shutdown_timeout_s", "health_check_period_s", "health_check_timeout_s", "user_config", "request_router_config" })
        {
            if (deployment.ContainsKey(key))
            {
                notes.Add($"{path}.{key} is not replayed (it does not change how the deployment scales)");
            }
        }

        return options;
    }

    /// <summary>A deployment's autoscaling_config as options: deprecated names read as Ray reads them (noted), Ray's default policy only.</summary>
    private static void RayAutoscalingConfig(string file, string path, JsonObject config, JsonObject options, List<string> notes)
    {
        foreach (var (given, value) in config)
        {
            var key = given;
            if (RayDeprecated.TryGetValue(given, out var renamed))
            {
                if (config.ContainsKey(renamed))
                {
                    notes.Add($"{path}.autoscaling_config.{given} is deprecated and not read: {renamed} is given too");
                    continue;
                }

                notes.Add($"{path}.autoscaling_config.{given} is deprecated (Ray reads it as {renamed})");
                key = renamed;
            }

            if (key == "policy")
            {
                if (value is JsonObject policy && IsRayDefaultPolicy(policy))
                {
                    continue;
                }

                throw new ConfigException(file, $"{path}.autoscaling_config.policy", "a custom autoscaling policy is the user's own code and cannot be replayed; remove it to replay Ray's default policy");
            }

            if (key == "aggregation_function")
            {
                options["aggregationFunction"] = (value as JsonValue)?.ToString()?.ToLowerInvariant();
                continue;
            }

            options[CamelCase(key)] = value?.DeepClone();
        }
    }

    /// <summary><c>lookBackPeriodS</c> as <c>look_back_period_s</c> (Ray's names, for messages).</summary>
    private static string SnakeCase(string camel) =>
        camel == "maxOngoingRequests" ? "max_ongoing_requests" : string.Concat(camel.Select(c => char.IsUpper(c) ? "_" + char.ToLowerInvariant(c) : c.ToString()));

    /// <summary><c>look_back_period_s</c> as <c>lookBackPeriodS</c>.</summary>
    private static string CamelCase(string snake)
    {
        var parts = snake.Split('_', StringSplitOptions.RemoveEmptyEntries);
        return string.Concat(parts.Select((p, i) => i == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..]));
    }
}
