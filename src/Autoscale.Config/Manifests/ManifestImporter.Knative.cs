using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Policies.Catalog;
using Autoscale.Policies.Common;

namespace Autoscale.Config.Manifests;

/// <summary>Knative Services: the KPA class with its annotations (both spellings Knative reads), and the HPA class.</summary>
public static partial class ManifestImporter
{
    private static readonly Dictionary<string, string> KnativeAnnotations = new(StringComparer.Ordinal)
    {
        ["metric"] = "metric",
        ["target"] = "target",
        ["target-utilization-percentage"] = "targetUtilizationPercentage",
        ["window"] = "stableWindow",
        ["panic-window-percentage"] = "panicWindowPercentage",
        ["panic-threshold-percentage"] = "panicThresholdPercentage",
        ["min-scale"] = "minScale",
        ["max-scale"] = "maxScale",
        ["initial-scale"] = "initialScale",
        ["scale-down-delay"] = "scaleDownDelay",
        ["target-burst-capacity"] = "targetBurstCapacity",
        ["activation-scale"] = "activationScale",
        ["scale-to-zero-pod-retention-period"] = "scaleToZeroPodRetentionPeriod",
        ["metric-aggregation-algorithm"] = "metricAggregationAlgorithm",
    };

    /// <summary>The annotation keys Knative (v1.16, pkg/apis/autoscaling/register.go) still reads under their older camelCase spelling, after the kebab-case one.</summary>
    private static readonly Dictionary<string, string> KnativeLegacyKeys = new(StringComparer.Ordinal)
    {
        ["minScale"] = "min-scale",
        ["maxScale"] = "max-scale",
        ["initialScale"] = "initial-scale",
        ["targetUtilizationPercentage"] = "target-utilization-percentage",
        ["panicWindowPercentage"] = "panic-window-percentage",
        ["panicThresholdPercentage"] = "panic-threshold-percentage",
        ["scaleDownDelay"] = "scale-down-delay",
        ["targetBurstCapacity"] = "target-burst-capacity",
        ["scaleToZeroPodRetentionPeriod"] = "scale-to-zero-pod-retention-period",
        ["metricAggregationAlgorithm"] = "metric-aggregation-algorithm",
    };

    /// <summary>The kebab-case name an annotation key stands for (its own name when it has no older spelling).</summary>
    internal static string KnativeKebab(string name) => KnativeLegacyKeys.GetValueOrDefault(name) ?? name;

    /// <summary>Whether a kebab-case name is an autoscaling annotation this tool reads and writes.</summary>
    internal static bool IsKnativeAnnotation(string kebab) => kebab == "class" || KnativeAnnotations.ContainsKey(kebab);

    private static JsonObject Knative(string file, JsonObject root, IReadOnlyDictionary<string, string> metricMap, PolicyCatalog catalog, List<string> notes)
    {
        const string prefix = "autoscaling.knative.dev/";
        var options = new JsonObject();
        var given = new Dictionary<string, string>(StringComparer.Ordinal); // option name -> the annotation key the manifest wrote
        var annotations = root["spec"]?["template"]?["metadata"]?["annotations"] as JsonObject ?? [];

        if (root["metadata"]?["annotations"] is JsonObject own)
        {
            foreach (var (key, _) in own.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)))
            {
                notes.Add($"metadata.annotations.{key} is on the Service, not on spec.template: Knative's autoscaler reads a revision's annotations, so it is not replayed (move it to spec.template.metadata.annotations)");
            }
        }

        var settings = KnativeSettings(annotations, prefix, notes);
        var cls = settings.TryGetValue("class", out var c) ? c.Text : "kpa.autoscaling.knative.dev";
        if (cls == "hpa.autoscaling.knative.dev")
        {
            return KnativeHpaClass(file, root, settings, metricMap, catalog);
        }

        if (cls != "kpa.autoscaling.knative.dev")
        {
            throw new ConfigException(file, "spec.template.metadata.annotations." + prefix + "class", $"\"{Shown(cls)}\": the classes replayed are kpa.autoscaling.knative.dev and hpa.autoscaling.knative.dev");
        }

        foreach (var (name, (key, text)) in settings)
        {
            if (name != "class" && KnativeOption(file, name, key, text, notes) is var (option, value))
            {
                options[option] = value;
                given[option] = key;
            }
        }

        if (root["spec"]?["template"]?["spec"]?["containerConcurrency"] is { } concurrency)
        {
            options["containerConcurrency"] = concurrency.DeepClone();
        }

        var serviceName = (root["metadata"]?["name"] as JsonValue)?.ToString() ?? Path.GetFileNameWithoutExtension(file);
        Check(file, catalog, "knative", options, "spec.template", option => given.TryGetValue(option, out var key) ? "metadata.annotations." + key : KnativeName(option));
        return new JsonObject { ["name"] = serviceName, ["policy"] = "knative", ["options"] = options };
    }

    /// <summary>Each autoscaling annotation once, by its kebab-case key where both spellings are given (Knative's kmap.KeyPriority order); the other spelling noted.</summary>
    private static Dictionary<string, (string Key, string Text)> KnativeSettings(JsonObject annotations, string prefix, List<string> notes)
    {
        var settings = new Dictionary<string, (string Key, string Text)>(StringComparer.Ordinal);
        foreach (var (key, value) in annotations)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var name = key[prefix.Length..];
            var canonical = KnativeLegacyKeys.GetValueOrDefault(name) ?? name;
            var text = (value as JsonValue)?.ToString() ?? "";
            if (settings.TryGetValue(canonical, out var earlier))
            {
                var (kept, dropped) = canonical == name ? (key, earlier.Key) : (earlier.Key, key);
                notes.Add($"spec.template.metadata.annotations.{dropped} is not read: {kept} is given too, and Knative reads the kebab-case key first");
                if (canonical == name)
                {
                    settings[canonical] = (key, text);
                }

                continue;
            }

            settings[canonical] = (key, text);
        }

        return settings;
    }

    /// <summary>The option an annotation sets and its value, checked as Knative validates it; null (noted) for one Knative does not read.</summary>
    private static (string Option, JsonValue Value)? KnativeOption(string file, string name, string key, string text, List<string> notes)
    {
        var path = $"spec.template.metadata.annotations.{key}";
        if (name == "metric-aggregation-algorithm" && text is not ("linear" or "weighted-exponential" or "weightedExponential"))
        {
            // Knative's validateAlgorithm takes these three spellings, case and all.
            throw new ConfigException(file, path, $"must be linear, weighted-exponential or weightedExponential (was \"{Shown(text)}\")");
        }

        if (!KnativeAnnotations.TryGetValue(name, out var option))
        {
            // Knative validates the annotations it knows and passes over the rest, so the Service runs without it.
            var hint = name switch
            {
                "stable-window" or "stableWindow" => " (the stable window is autoscaling.knative.dev/window)",
                "scale-up-rate" or "scale-down-rate" or "max-scale-up-rate" or "max-scale-down-rate" => " (the rates are config-autoscaler's max-scale-up-rate and max-scale-down-rate, options maxScaleUpRate and maxScaleDownRate here)",
                "scale-to-zero-grace-period" or "enable-scale-to-zero" => " (a cluster setting in config-autoscaler; options scaleToZeroGracePeriod and enableScaleToZero here)",
                _ => "",
            };
            notes.Add($"{path} is not an annotation Knative reads, so Knative ignores it and so does the replay{hint}");
            return null;
        }

        var value = option switch
        {
            "metric" or "metricAggregationAlgorithm" => JsonValue.Create(text),
            "stableWindow" or "scaleDownDelay" or "scaleToZeroPodRetentionPeriod" => JsonValue.Create(GoDuration(file, path, text)),
            _ => JsonValue.Create(FiniteNumber(file, path, text)),
        };
        if (option is "stableWindow" or "scaleDownDelay" && value.GetValue<double>() is var seconds && seconds != Math.Round(seconds))
        {
            // Knative's validateWindow and validateScaleDownDelay.
            throw new ConfigException(file, path, $"must be specified with at most second precision (was \"{Shown(text)}\")");
        }

        return (option, value);
    }

    /// <summary>
    /// A Knative Service of the HPA class: Knative creates an HPA on cpu or memory utilization (the target annotation, a
    /// percentage), between min-scale (at least 1) and max-scale (0: unbounded), which is replayed as an <c>hpa</c> candidate.
    /// </summary>
    private static JsonObject KnativeHpaClass(string file, JsonObject root, Dictionary<string, (string Key, string Text)> settings, IReadOnlyDictionary<string, string> metricMap, PolicyCatalog catalog)
    {
        const string at = "spec.template.metadata.annotations.";
        var metric = settings.TryGetValue("metric", out var m) ? m.Text : "cpu";
        if (metric is not ("cpu" or "memory"))
        {
            throw new ConfigException(file, at + (settings.TryGetValue("metric", out var mk) ? mk.Key : "autoscaling.knative.dev/metric"), $"\"{Shown(metric)}\": the HPA class scales on cpu or memory");
        }

        if (!metricMap.TryGetValue(metric, out var signal))
        {
            throw new ConfigException(file, at + "autoscaling.knative.dev/metric", $"the HPA class scales on {metric}, which has no stand-in in a replay; map it with --metric-map {metric}=SIGNAL (SIGNAL one of {string.Join(", ", StandInSignals.Names)})");
        }

        if (!settings.TryGetValue("target", out var target))
        {
            throw new ConfigException(file, at + "autoscaling.knative.dev/target", $"must be given for the HPA class (the {metric} utilization percentage to hold)");
        }

        var min = settings.TryGetValue("min-scale", out var minText) ? FiniteNumber(file, at + minText.Key, minText.Text) : 1;
        var max = settings.TryGetValue("max-scale", out var maxText) ? FiniteNumber(file, at + maxText.Key, maxText.Text) : 0;
        var options = new JsonObject
        {
            ["minReplicas"] = Math.Max(1, min),
            ["maxReplicas"] = max > 0 ? max : int.MaxValue,
            ["metrics"] = new JsonArray(new JsonObject
            {
                ["type"] = "Resource",
                ["resource"] = new JsonObject
                {
                    ["name"] = metric,
                    ["signal"] = signal,
                    ["target"] = new JsonObject { ["type"] = "Utilization", ["averageUtilization"] = (int)Math.Round(FiniteNumber(file, at + target.Key, target.Text)) },
                },
            }),
        };
        foreach (var (name, (key, _)) in settings)
        {
            if (name is not ("class" or "metric" or "target" or "min-scale" or "max-scale"))
            {
                throw new ConfigException(file, at + key, "has no effect on Knative's HPA class and is not replayed; remove it or use the KPA class");
            }
        }

        var serviceName = (root["metadata"]?["name"] as JsonValue)?.ToString() ?? Path.GetFileNameWithoutExtension(file);
        Check(file, catalog, "hpa", options);
        return new JsonObject { ["name"] = serviceName, ["policy"] = "hpa", ["options"] = options };
    }

    /// <summary>An option's name as the annotation a Service writes, for messages.</summary>
    private static string KnativeName(string option)
    {
        if (option == "containerConcurrency")
        {
            return "spec.containerConcurrency";
        }

        var key = KnativeAnnotations.FirstOrDefault(p => p.Value == option && p.Key.Contains('-', StringComparison.Ordinal)).Key
            ?? KnativeAnnotations.FirstOrDefault(p => p.Value == option).Key;
        return key is null ? option : $"metadata.annotations.autoscaling.knative.dev/{key}";
    }
}
