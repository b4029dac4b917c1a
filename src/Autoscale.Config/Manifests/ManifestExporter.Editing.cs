using System.Text.Json.Nodes;
using Autoscale.Policies.Knative;
using Autoscale.Policies.RayServe;

namespace Autoscale.Config.Manifests;

/// <summary>Where a candidate's settings came from: the manifest <c>policyFrom</c> named, the document and deployment picked in it, and the metric map.</summary>
/// <param name="Path">The manifest's full path.</param>
/// <param name="Document">The document picked by <c>metadata.name</c>, if any.</param>
/// <param name="Deployment">The Ray Serve deployment picked (<c>APP/DEPLOYMENT</c>), if any.</param>
/// <param name="MetricMap">The manifest's metric names and the stand-in signals they were read as.</param>
public sealed record ManifestSource(string Path, string? Document, string? Deployment, IReadOnlyDictionary<string, string> MetricMap);

/// <summary>Export by editing the manifest a candidate came from, so that a cluster gets back its own object with new settings.</summary>
public static partial class ManifestExporter
{
    /// <summary>KEDA's defaults: a field the manifest left out stays out while the candidate keeps its default.</summary>
    private static readonly Dictionary<string, int> KedaDefaults = new(StringComparer.Ordinal)
    {
        ["pollingInterval"] = 30, ["cooldownPeriod"] = 300, ["initialCooldownPeriod"] = 0, ["minReplicaCount"] = 0, ["maxReplicaCount"] = 100,
    };

    /// <summary>The Ray autoscaling_config keys this tool writes; any other key of the manifest stays as it was.</summary>
    private static readonly string[] RayKeys =
    [
        "min_replicas", "max_replicas", "initial_replicas", "target_ongoing_requests", "metrics_interval_s", "look_back_period_s",
        "smoothing_factor", "upscale_smoothing_factor", "downscale_smoothing_factor", "upscaling_factor", "downscaling_factor",
        "upscale_delay_s", "downscale_delay_s", "downscale_to_zero_delay_s", "aggregation_function", "target_num_ongoing_requests_per_replica",
    ];

    /// <summary>
    /// The document to write for <paramref name="fresh"/> given the manifest the candidate came from: that manifest edited
    /// when it is of the kind written (second item true), else <paramref name="fresh"/> with the source's identity.
    /// </summary>
    private static (JsonObject Document, bool Edited) FromSource(ManifestSource source, string kind, JsonObject fresh, List<string> notes, object? options)
    {
        var root = ManifestImporter.SourceDocument(source.Path, ManifestImporter.ReadFile(source.Path), source.Document);
        var sourceKind = (root["kind"] as JsonValue)?.ToString() switch
        {
            "HorizontalPodAutoscaler" when (root["apiVersion"] as JsonValue)?.ToString() == "autoscaling/v1" => "an autoscaling/v1 HPA",
            "HorizontalPodAutoscaler" => "hpa",
            "ScaledObject" => "keda",
            "Service" when (root["spec"]?["template"]?["metadata"]?["annotations"]?["autoscaling.knative.dev/class"] as JsonValue)?.ToString() is null or "kpa.autoscaling.knative.dev" => "knative",
            "RayService" => "ray-serve",
            null when root.ContainsKey("applications") => "ray-serve",
            _ => null,
        };
        var inverted = source.MetricMap.GroupBy(p => p.Value, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.First().Key, StringComparer.OrdinalIgnoreCase);
        if (sourceKind != kind)
        {
            LendIdentity(root, fresh, kind, inverted);
            notes.Add($"written afresh as {kind} (the source is {sourceKind ?? (root["kind"] as JsonValue)?.ToString() ?? "another kind"}); metadata, the scale target and metric names are the source's");
            return (fresh, false);
        }

        var edited = root.DeepClone().AsObject();
        switch (kind)
        {
            case "hpa":
                EditHpa(edited, fresh, inverted);
                break;
            case "keda":
                EditKeda(edited, fresh);
                break;
            case "knative":
                EditKnative(edited, fresh, options is KnativeOptions k ? KnativeManifest("x", k, all: true) : null);
                break;
            default:
                EditRay(edited, fresh, source.Deployment, options is RayServeOptions r ? RayServeConfig("x", r, all: true) : null);
                break;
        }

        return (edited, true);
    }

    /// <summary>The source's metadata (name, namespace, labels, annotations) and scale target on a manifest written afresh; stand-in metric names back to the source's.</summary>
    private static void LendIdentity(JsonObject root, JsonObject fresh, string kind, Dictionary<string, string> inverted)
    {
        if (root["metadata"] is JsonObject metadata && kind is "hpa" or "keda" or "knative")
        {
            var lent = new JsonObject();
            foreach (var key in new[] { "name", "namespace", "labels" })
            {
                if (metadata[key] is { } value)
                {
                    lent[key] = value.DeepClone();
                }
            }

            fresh["metadata"] = lent;
        }

        var target = root["spec"]?["scaleTargetRef"] as JsonObject;
        if (target is not null && fresh["spec"] is JsonObject spec && kind is "hpa" or "keda")
        {
            var lentTarget = target.DeepClone().AsObject();
            if (kind == "hpa")
            {
                // KEDA's scaleTargetRef defaults to an apps/v1 Deployment; an HPA's must say so.
                lentTarget.TryAdd("apiVersion", "apps/v1");
                lentTarget.TryAdd("kind", "Deployment");
                lentTarget.Remove("envSourceContainerName");
            }

            spec["scaleTargetRef"] = lentTarget;
        }

        foreach (var trigger in fresh["spec"]?["triggers"] as JsonArray ?? [])
        {
            if (trigger?["metadata"]?["query"] is JsonValue query && query.ToString() is ['s', 'u', 'm', '(', .. var inner, ')'] && inverted.TryGetValue(inner, out var metricName))
            {
                trigger["metadata"]!["query"] = $"sum({metricName})";
                trigger["name"] = Slug(metricName);
            }
        }

        foreach (var metric in fresh["spec"]?["metrics"] as JsonArray ?? [])
        {
            var body = metric?["pods"] ?? metric?["external"] ?? metric?["object"];
            if (body?["metric"]?["name"] is JsonValue name && inverted.TryGetValue(name.ToString(), out var original))
            {
                body["metric"]!["name"] = original;
            }
        }
    }

    private static void EditHpa(JsonObject root, JsonObject fresh, Dictionary<string, string> inverted)
    {
        var spec = root["spec"] as JsonObject ?? [];
        var freshSpec = fresh["spec"]!.AsObject();
        if (spec.ContainsKey("minReplicas") || freshSpec["minReplicas"]!.GetValue<int>() != 1)
        {
            spec["minReplicas"] = freshSpec["minReplicas"]!.DeepClone();
        }

        spec["maxReplicas"] = freshSpec["maxReplicas"]!.DeepClone();
        var metrics = spec["metrics"] as JsonArray;
        var freshMetrics = freshSpec["metrics"]!.AsArray();
        if (metrics is not null && metrics.Count == freshMetrics.Count
            && metrics.Zip(freshMetrics).All(m => (m.First?["type"] as JsonValue)?.ToString() == (m.Second?["type"] as JsonValue)?.ToString()))
        {
            // The same metrics: only each target moves; names, selectors and described objects stay.
            for (var i = 0; i < metrics.Count; i++)
            {
                var field = Field(metrics[i]!);
                metrics[i]![field]!["target"] = freshMetrics[i]![field]!["target"]!.DeepClone();
            }
        }
        else
        {
            LendIdentity(root, fresh, "hpa", inverted);
            spec["metrics"] = fresh["spec"]!["metrics"]!.DeepClone();
        }

        if (freshSpec["behavior"] is { } behavior)
        {
            spec["behavior"] = behavior.DeepClone();
        }
        else
        {
            spec.Remove("behavior");
        }
    }

    private static string Field(JsonNode metric) => (metric["type"] as JsonValue)?.ToString() switch
    {
        "Pods" => "pods",
        "Object" => "object",
        "External" => "external",
        _ => "resource",
    };

    private static void EditKeda(JsonObject root, JsonObject fresh)
    {
        var spec = root["spec"] as JsonObject ?? [];
        var freshSpec = fresh["spec"]!.AsObject();
        foreach (var (key, fallback) in KedaDefaults)
        {
            if (freshSpec[key] is JsonValue value && (spec.ContainsKey(key) || value.GetValue<int>() != fallback))
            {
                spec[key] = value.DeepClone();
            }
            else if (freshSpec[key] is null)
            {
                spec.Remove(key);
            }
        }

        foreach (var key in new[] { "idleReplicaCount", "fallback" })
        {
            if (freshSpec[key] is { } value)
            {
                spec[key] = value.DeepClone();
            }
            else
            {
                spec.Remove(key);
            }
        }

        // advanced: the behavior and the scaling modifiers move; its other fields (the HPA's name, restoreToOriginalReplicaCount) stay.
        var advanced = spec["advanced"] as JsonObject ?? [];
        var freshAdvanced = freshSpec["advanced"] as JsonObject;
        var hpaConfig = advanced["horizontalPodAutoscalerConfig"] as JsonObject ?? [];
        if (freshAdvanced?["horizontalPodAutoscalerConfig"]?["behavior"] is { } behavior)
        {
            hpaConfig["behavior"] = behavior.DeepClone();
        }
        else
        {
            hpaConfig.Remove("behavior");
        }

        Put(advanced, "horizontalPodAutoscalerConfig", hpaConfig.Count > 0 ? hpaConfig : null);
        var modifiers = freshAdvanced?["scalingModifiers"]?.DeepClone() as JsonObject;
        if (modifiers is not null && !modifiers.ContainsKey("metricType") && advanced["scalingModifiers"]?["metricType"]?.ToString() == "AverageValue")
        {
            modifiers["metricType"] = "AverageValue"; // KEDA's default, as the source wrote it
        }

        Put(advanced, "scalingModifiers", modifiers);
        Put(spec, "advanced", advanced.Count > 0 ? advanced : null);

        EditKedaTriggers(spec, freshSpec["triggers"]!.AsArray());
    }

    /// <summary>The same triggers as before: their metadata values and metric type move, names, authentication and the rest stay; other triggers replace them.</summary>
    private static void EditKedaTriggers(JsonObject spec, JsonArray freshTriggers)
    {
        var triggers = spec["triggers"] as JsonArray;
        if (triggers is not null && triggers.Count == freshTriggers.Count)
        {
            // The same triggers: metadata values and the metric type move; names, authentication and the rest stay.
            for (var i = 0; i < triggers.Count; i++)
            {
                var trigger = triggers[i] as JsonObject ?? [];
                var metadata = trigger["metadata"] as JsonObject ?? [];
                foreach (var (key, value) in freshTriggers[i]!["metadata"]!.AsObject())
                {
                    metadata[key] = value?.DeepClone();
                }

                trigger["metadata"] = metadata;
                if (freshTriggers[i]!["metricType"] is { } metricType)
                {
                    trigger["metricType"] = metricType.DeepClone();
                }
                else if ((trigger["metricType"] as JsonValue)?.ToString() is "Value")
                {
                    trigger.Remove("metricType");
                }
            }
        }
        else
        {
            spec["triggers"] = freshTriggers.DeepClone();
        }
    }

    /// <summary>
    /// The Service's autoscaling annotations become the candidate's. An annotation the Service wrote keeps its key (either
    /// spelling) and is written even at Knative's default (from <paramref name="full"/>, every annotation's value), so
    /// only values that changed move.
    /// </summary>
    private static void EditKnative(JsonObject root, JsonObject fresh, JsonObject? full)
    {
        const string prefix = "autoscaling.knative.dev/";
        var template = root["spec"]?["template"] as JsonObject ?? [];
        var metadata = template["metadata"] as JsonObject ?? [];
        var annotations = metadata["annotations"] as JsonObject ?? [];
        var hadClass = annotations.ContainsKey(prefix + "class");
        var hadMetric = annotations.ContainsKey(prefix + "metric");

        // The source's keys by the kebab-case name they stand for (Knative reads the kebab-case key first).
        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in annotations.Select(p => p.Key).Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            var name = key[prefix.Length..];
            var canonical = ManifestImporter.KnativeKebab(name);
            if (!given.ContainsKey(canonical) || canonical == name)
            {
                given[canonical] = key;
            }

            if (ManifestImporter.IsKnativeAnnotation(canonical))
            {
                annotations.Remove(key);
            }
        }

        var written = fresh["spec"]!["template"]!["metadata"]!["annotations"]!.AsObject().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        foreach (var (canonical, key) in given)
        {
            if (!written.ContainsKey(prefix + canonical) && ManifestImporter.IsKnativeAnnotation(canonical)
                && full?["spec"]?["template"]?["metadata"]?["annotations"]?[prefix + canonical] is { } fallback)
            {
                written[prefix + canonical] = fallback;
            }
        }

        foreach (var (key, value) in written)
        {
            var keep = key switch
            {
                prefix + "class" => hadClass,
                prefix + "metric" => hadMetric || (value as JsonValue)?.ToString() != "concurrency",
                _ => true,
            };
            if (keep)
            {
                annotations[given.GetValueOrDefault(key[prefix.Length..]) ?? key] = value?.DeepClone();
            }
        }

        metadata["annotations"] = annotations;
        template["metadata"] = metadata;
        var podSpec = template["spec"] as JsonObject ?? [];
        var concurrency = fresh["spec"]!["template"]!["spec"]!["containerConcurrency"]!.GetValue<int>();
        if (podSpec.ContainsKey("containerConcurrency") || concurrency != 0)
        {
            podSpec["containerConcurrency"] = concurrency;
        }

        template["spec"] = podSpec;
    }

    private static void EditRay(JsonObject root, JsonObject fresh, string? deployment, JsonObject? full)
    {
        var fullConfig = full?["applications"]?[0]?["deployments"]?[0]?["autoscaling_config"] as JsonObject;
        var freshDeployment = fresh["applications"]![0]!["deployments"]![0]!.AsObject();
        if ((root["kind"] as JsonValue)?.ToString() == "RayService")
        {
            // KubeRay keeps the Serve config as a YAML string: edit it and write it back as one.
            var text = (root["spec"]?["serveConfigV2"] as JsonValue)?.ToString() ?? "";
            var serve = YamlTree.Read("serveConfigV2", text)!.AsObject();
            EditServeConfig(serve, freshDeployment, deployment, fullConfig);
            root["spec"]!["serveConfigV2"] = Yaml(serve);
            return;
        }

        EditServeConfig(root, freshDeployment, deployment, fullConfig);
    }

    private static void EditServeConfig(JsonObject serve, JsonObject freshDeployment, string? deployment, JsonObject? fullConfig)
    {
        var target = ManifestImporter.RayDeploymentNode(serve, deployment);
        var config = target["autoscaling_config"] as JsonObject ?? [];
        var freshConfig = freshDeployment["autoscaling_config"]!.AsObject();
        var had = config.Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var key in RayKeys)
        {
            config.Remove(key);
        }

        foreach (var (key, value) in freshConfig)
        {
            config[key] = value?.DeepClone();
        }

        // A key the config wrote stays, at Ray's default where the candidate has it (only values that changed move); an
        // older name is written as the one Ray reads now.
        foreach (var key in RayKeys.Where(had.Contains))
        {
            var current = ManifestImporter.RayDeprecated.GetValueOrDefault(key) ?? key;
            if (!config.ContainsKey(current) && fullConfig?[current] is { } value)
            {
                config[current] = value.DeepClone();
            }
        }

        target["autoscaling_config"] = config;

        // max_ongoing_requests is written where the config had it (either name) or where it is not the default it had.
        var limit = freshDeployment["max_ongoing_requests"]!.GetValue<int>();
        if (target.ContainsKey("max_ongoing_requests") || target.ContainsKey("max_concurrent_queries") || limit is not (5 or 1_000_000_000))
        {
            target.Remove("max_concurrent_queries");
            target["max_ongoing_requests"] = limit;
        }
    }

    private static void Put(JsonObject o, string key, JsonNode? value)
    {
        if (value is null)
        {
            o.Remove(key);
        }
        else
        {
            o[key] = value;
        }
    }
}
