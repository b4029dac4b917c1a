using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Policies.Catalog;
using Autoscale.Policies.Common;

namespace Autoscale.Config.Manifests;

/// <summary>KEDA ScaledObjects: the HPA KEDA creates, its triggers (metrics, cpu and memory, cron) and KEDA's own fields.</summary>
public static partial class ManifestImporter
{
    private static JsonObject Keda(string file, JsonObject root, IReadOnlyDictionary<string, string> metricMap, PolicyCatalog catalog, List<string> notes)
    {
        var spec = root["spec"] as JsonObject ?? throw new ConfigException(file, "spec", "must be given");
        var options = new JsonObject();
        foreach (var field in new[] { "pollingInterval", "cooldownPeriod", "initialCooldownPeriod", "minReplicaCount", "maxReplicaCount", "idleReplicaCount" })
        {
            if (spec[field] is { } value)
            {
                options[field] = value.DeepClone();
            }
        }

        if (spec["fallback"] is JsonObject fallback)
        {
            options["fallback"] = fallback.DeepClone();
        }

        var advanced = new JsonObject();
        if (spec["advanced"]?["horizontalPodAutoscalerConfig"]?["behavior"] is JsonObject behavior)
        {
            advanced["horizontalPodAutoscalerConfig"] = new JsonObject { ["behavior"] = Behavior(file, behavior) };
        }

        if (spec["advanced"]?["horizontalPodAutoscalerConfig"]?["name"] is not null)
        {
            notes.Add("spec.advanced.horizontalPodAutoscalerConfig.name only names the HPA KEDA creates; it is kept in no replay");
        }

        if (spec["advanced"]?["restoreToOriginalReplicaCount"] is not null)
        {
            notes.Add("spec.advanced.restoreToOriginalReplicaCount acts when the ScaledObject is deleted; it is not replayed");
        }

        if (spec["advanced"]?["scalingModifiers"] is JsonObject modifiers)
        {
            var copied = new JsonObject();
            foreach (var key in new[] { "formula", "target", "activationTarget", "metricType" })
            {
                if (modifiers[key] is JsonValue value)
                {
                    copied[key] = value.ToString();
                }
            }

            advanced["scalingModifiers"] = copied;
        }

        if (advanced.Count > 0)
        {
            options["advanced"] = advanced;
        }

        if (spec["triggers"] is not JsonArray triggers || triggers.Count == 0)
        {
            throw new ConfigException(file, "spec.triggers", "must hold at least one trigger");
        }

        var read = new JsonArray();
        var ordinals = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < triggers.Count; i++)
        {
            var type = (triggers[i]?["type"] as JsonValue)?.ToString() ?? "";
            var ordinal = ordinals.GetValueOrDefault(type);
            ordinals[type] = ordinal + 1;
            read.Add((JsonNode)Trigger(file, $"spec.triggers[{i}]", triggers[i] as JsonObject, $"{type}[{ordinal}]", metricMap, notes));
        }

        options["triggers"] = read;
        var name = (root["metadata"]?["name"] as JsonValue)?.ToString() ?? Path.GetFileNameWithoutExtension(file);
        Check(file, catalog, "keda", options);
        return new JsonObject { ["name"] = name, ["policy"] = "keda", ["options"] = options };
    }

    private static JsonObject Trigger(string file, string path, JsonObject? trigger, string ordinalKey, IReadOnlyDictionary<string, string> metricMap, List<string> notes)
    {
        var type = (trigger?["type"] as JsonValue)?.ToString() ?? throw new ConfigException(file, path + ".type", "must be given");
        var metadata = trigger!["metadata"] as JsonObject ?? throw new ConfigException(file, path + ".metadata", "must be given");
        var isCron = string.Equals(type, "cron", StringComparison.OrdinalIgnoreCase);
        var isResource = type.ToLowerInvariant() is "cpu" or "memory";
        var result = new JsonObject { ["type"] = type };
        if (type.ToLowerInvariant() is "external" or "external-push")
        {
            throw new ConfigException(file, path + ".type", $"an {type} trigger asks the user's own scaler service ({Shown((metadata["scalerAddress"] as JsonValue)?.ToString() ?? "scalerAddress")}) for its metric and target: that is the user's code and cannot be replayed; use the trigger of the metric it reads, or a candidate of your own policy class");
        }

        if (!isCron)
        {
            // The metric map is looked up by the trigger's name, its metricName or query, the resource (cpu, memory), then type[ordinal] (prometheus[0]).
            var keys = new[] { (trigger["name"] as JsonValue)?.ToString(), (metadata["metricName"] as JsonValue)?.ToString(), (metadata["query"] as JsonValue)?.ToString(), isResource ? type.ToLowerInvariant() : null, ordinalKey }
                .OfType<string>().ToList();
            var signal = keys.Select(k => metricMap.TryGetValue(k, out var s) ? s : isResource ? null : StandInSignals.Canonical(k)).FirstOrDefault(s => s is not null);
            if (signal is null || StandInSignals.Canonical(signal) is null)
            {
                var problem = signal is null
                    ? $"the {type} trigger's metric has no stand-in in a replay; map it with --metric-map NAME=SIGNAL or a candidate's metricMap, NAME being {string.Join(" or ", keys.Select(k => $"\"{Shown(k)}\""))}, SIGNAL one of {string.Join(", ", StandInSignals.Names)}"
                    : StandInSignals.Problem(signal)!;
                throw new ConfigException(file, path, problem);
            }

            result["signal"] = StandInSignals.Canonical(signal);
        }

        if (trigger["name"] is { } name)
        {
            result["name"] = name.DeepClone();
        }

        if (trigger["metricType"] is { } metricType)
        {
            result["metricType"] = metricType.DeepClone();
        }
        else if (isResource)
        {
            // KEDA before 2.13 wrote the resource trigger's target type as metadata.type.
            result["metricType"] = (metadata["type"] as JsonValue)?.ToString() ?? "Utilization";
        }

        foreach (var unreplayed in new[] { "useCachedMetrics", "authenticationRef" })
        {
            if (trigger[unreplayed] is not null)
            {
                notes.Add($"{path}.{unreplayed} is not replayed (a replay reads its stand-in signal directly)");
            }
        }

        var copied = new JsonObject();
        foreach (var (key, value) in metadata)
        {
            copied[key] = value is null ? null : JsonValue.Create(value.ToString());
        }

        result["metadata"] = copied;
        return result;
    }
}
