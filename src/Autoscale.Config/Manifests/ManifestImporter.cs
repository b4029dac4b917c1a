using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Policies.Catalog;
using Autoscale.Policies.Common;

namespace Autoscale.Config.Manifests;

/// <summary>
/// Reads the config of an autoscaler users run today into a candidate of the emulating policy: a Kubernetes
/// HorizontalPodAutoscaler (autoscaling/v2) into <c>hpa</c>, a KEDA ScaledObject into <c>keda</c>, a Ray Serve config's
/// autoscaled deployment into <c>ray-serve</c>. Metric names that are not stand-in signals need a mapping
/// (<c>--metric-map NAME=SIGNAL</c>). Every problem is a <see cref="ConfigException"/> naming the manifest's field.
/// </summary>
public static partial class ManifestImporter
{
    /// <summary>The candidates of one document: one, or for a Ray Serve config (or a RayService) one per autoscaled deployment.</summary>
    private static List<JsonObject> ImportDocument(string file, JsonObject root, IReadOnlyDictionary<string, string> metricMap, PolicyCatalog catalog, List<string> notes)
    {
        var kind = (root["kind"] as JsonValue)?.ToString();
        if (kind is null && root.ContainsKey("applications"))
        {
            return RayServe(file, root, catalog, notes);
        }

        if (kind == "RayService" && ((root["apiVersion"] as JsonValue)?.ToString() ?? "").StartsWith("ray.io/", StringComparison.Ordinal))
        {
            // KubeRay holds the Serve config as a YAML string; its paths are named under spec.serveConfigV2.
            var text = (root["spec"]?["serveConfigV2"] as JsonValue)?.ToString() ?? throw new ConfigException(file, "spec.serveConfigV2", "must be given (the Serve config, as a YAML string)");
            JsonObject serve;
            try
            {
                serve = YamlTree.Read(file, text) as JsonObject ?? throw new ConfigException(file, "spec.serveConfigV2", "must hold a Serve config (a mapping with applications)");
            }
            catch (ConfigException e) when (!e.Path.StartsWith("spec.serveConfigV2", StringComparison.Ordinal))
            {
                throw new ConfigException(file, "spec.serveConfigV2" + (e.Path.Length > 0 ? "." + e.Path : ""), e.Problem, e);
            }

            try
            {
                var candidates = RayServe(file, serve, catalog, notes);
                var service = (root["metadata"]?["name"] as JsonValue)?.ToString();
                if (candidates.Count == 1 && service is not null)
                {
                    candidates[0]["name"] = service;
                }

                return candidates;
            }
            catch (ConfigException e)
            {
                throw new ConfigException(file, "spec.serveConfigV2." + e.Path, e.Problem, e);
            }
        }

        var one = ImportOne(file, root, metricMap, catalog, notes);
        NoteUnreachableTargets(one, notes);
        return [one];
    }

    /// <summary>A note for each target its signal can never reach: KV cache use per replica is a fraction, at most 1.</summary>
    private static void NoteUnreachableTargets(JsonObject candidate, List<string> notes)
    {
        var options = candidate["options"] as JsonObject;
        IEnumerable<(string Path, string? Signal, double? PerReplica)> targets = candidate["policy"]?.ToString() switch
        {
            "hpa" => (options?["metrics"] as JsonArray ?? []).Select((m, i) =>
            {
                var source = m?["pods"] ?? m?["external"] ?? m?["object"];
                var target = source?["target"];
                var perReplica = (target?["type"] as JsonValue)?.ToString() == "AverageValue" ? target?["averageValue"]?.GetValue<double>() : null;
                return ($"spec.metrics[{i}]", (source?["metric"]?["name"] as JsonValue)?.ToString(), perReplica);
            }),
            "keda" => (options?["triggers"] as JsonArray ?? []).Select((t, i) =>
            {
                var metricType = (t?["metricType"] as JsonValue)?.ToString() ?? "AverageValue";
                double? perReplica = metricType == "AverageValue" && (t?["metadata"]?["threshold"] as JsonValue)?.ToString() is { } text
                    && Autoscale.Policies.Common.KubernetesQuantity.TryParse(text, out var v) ? v : null;
                return ($"spec.triggers[{i}]", (t?["signal"] as JsonValue)?.ToString(), perReplica);
            }),
            _ => [],
        };
        foreach (var (path, signal, perReplica) in targets)
        {
            if (StandInSignals.Canonical(signal) == StandInSignals.KvCacheUtilization && perReplica > 1)
            {
                notes.Add($"{path}: the target {Format(perReplica.Value)} per replica is mapped to kvCacheUtilization, a fraction from 0 to 1, so it is never reached (a percentage? write {Format(perReplica.Value / 100)})");
            }
        }
    }

    private static string Format(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);

    private static JsonObject ImportOne(string file, JsonObject root, IReadOnlyDictionary<string, string> metricMap, PolicyCatalog catalog, List<string> notes)
    {
        var kind = (root["kind"] as JsonValue)?.ToString();
        var apiVersion = (root["apiVersion"] as JsonValue)?.ToString() ?? "";
        return kind switch
        {
            "HorizontalPodAutoscaler" when apiVersion is "autoscaling/v2" or "autoscaling/v2beta2" => Hpa(file, root, metricMap, catalog),
            "HorizontalPodAutoscaler" when apiVersion == "autoscaling/v1" => Hpa(file, HpaV1AsV2(file, root, notes), metricMap, catalog),
            "HorizontalPodAutoscaler" => throw new ConfigException(file, "apiVersion", $"\"{apiVersion}\" is not read; write the HPA as autoscaling/v2 (or v1)"),
            "ScaledObject" when apiVersion.StartsWith("keda.sh/", StringComparison.Ordinal) => Keda(file, root, metricMap, catalog, notes),
            "ScaledObject" when apiVersion.StartsWith("keda.k8s.io/", StringComparison.Ordinal) => throw new ConfigException(file, "apiVersion",
                $"\"{apiVersion}\" is KEDA 1's, which KEDA 2.0 replaced and no cluster serves now; write it as keda.sh/v1alpha1 (spec.scaleTargetRef.name in place of deploymentName)"),
            "Service" when apiVersion.StartsWith("serving.knative.dev/", StringComparison.Ordinal) => Knative(file, root, metricMap, catalog, notes),
            "Service" => throw new ConfigException(file, "apiVersion", $"\"{apiVersion}\": a Service this tool reads is a Knative Service (serving.knative.dev/v1)"),
            "RayService" => throw new ConfigException(file, "apiVersion", $"\"{apiVersion}\": a RayService this tool reads is KubeRay's (ray.io/v1)"),
            null when root.ContainsKey("applications") => throw new InvalidOperationException("a Ray Serve config is read by RayServe"),
            null => throw new ConfigException(file, "kind", "must be given (HorizontalPodAutoscaler)"),
            _ => throw new ConfigException(file, "kind", $"\"{kind}\" is not an autoscaler this tool reads (known: HorizontalPodAutoscaler, ScaledObject, Knative Service, a Ray Serve config, RayService){EmbeddedServeConfig(root, "")}"),
        };
    }

    /// <summary>
    /// An autoscaling/v1 HPA as the API server converts it to v2: its targetCPUUtilizationPercentage (80 when left out)
    /// becomes one Resource metric on cpu utilization.
    /// </summary>
    private static JsonObject HpaV1AsV2(string file, JsonObject root, List<string> notes)
    {
        var v2 = root.DeepClone().AsObject();
        var spec = v2["spec"] as JsonObject ?? throw new ConfigException(file, "spec", "must be given");
        var percent = spec["targetCPUUtilizationPercentage"]?.DeepClone() ?? JsonValue.Create(80);
        spec.Remove("targetCPUUtilizationPercentage");
        spec["metrics"] = new JsonArray(new JsonObject
        {
            ["type"] = "Resource",
            ["resource"] = new JsonObject { ["name"] = "cpu", ["target"] = new JsonObject { ["type"] = "Utilization", ["averageUtilization"] = percent } },
        });
        notes.Add("apiVersion autoscaling/v1: read as the autoscaling/v2 object Kubernetes converts it to (spec.targetCPUUtilizationPercentage as a cpu Utilization metric; export writes autoscaling/v2)");
        return v2;
    }

    /// <summary>Where a document of another kind holds a Ray Serve config as KubeRay does (a <c>serveConfigV2</c> string), as advice; "" when it holds none.</summary>
    private static string EmbeddedServeConfig(JsonNode? node, string path, int depth = 0)
    {
        if (node is not JsonObject o || depth > 4)
        {
            return "";
        }

        foreach (var (key, value) in o)
        {
            var at = path.Length == 0 ? key : $"{path}.{key}";
            if (key == "serveConfigV2" && value is JsonValue)
            {
                return $"; it holds a Ray Serve config at {at}: save that text as a file and import it";
            }

            if (EmbeddedServeConfig(value, at, depth + 1) is { Length: > 0 } found)
            {
                return found;
            }
        }

        return "";
    }

    private static JsonObject Hpa(string file, JsonObject root, IReadOnlyDictionary<string, string> metricMap, PolicyCatalog catalog)
    {
        var spec = root["spec"] as JsonObject ?? throw new ConfigException(file, "spec", "must be given");
        var options = new JsonObject();
        if (spec["minReplicas"] is { } min)
        {
            options["minReplicas"] = min.DeepClone();
        }

        options["maxReplicas"] = spec["maxReplicas"]?.DeepClone() ?? throw new ConfigException(file, "spec.maxReplicas", "must be given");
        var metrics = new JsonArray();
        if (spec["metrics"] is not JsonArray given || given.Count == 0)
        {
            throw new ConfigException(file, "spec.metrics", "must be given: without metrics the HPA scales on CPU at 80 %, which has no stand-in in a replay");
        }

        for (var i = 0; i < given.Count; i++)
        {
            metrics.Add((JsonNode)Metric(file, $"spec.metrics[{i}]", given[i] as JsonObject, metricMap));
        }

        options["metrics"] = metrics;
        if (spec["behavior"] is JsonObject behavior)
        {
            options["behavior"] = Behavior(file, behavior);
        }

        var name = (root["metadata"]?["name"] as JsonValue)?.ToString() ?? Path.GetFileNameWithoutExtension(file);
        Check(file, catalog, "hpa", options);
        return new JsonObject { ["name"] = name, ["policy"] = "hpa", ["options"] = options };
    }

    /// <summary>A finite decimal number (Knative reads annotations with Go's ParseFloat and refuses NaN and infinities where a count or percentage is meant).</summary>
    internal static double FiniteNumber(string file, string path, string text)
    {
        if (!double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var number))
        {
            throw new ConfigException(file, path, $"must be a number (was \"{Shown(text)}\")");
        }

        return double.IsFinite(number) ? number : throw new ConfigException(file, path, $"must be a finite number (was \"{Shown(text)}\")");
    }

    /// <summary>A value as an error line shows it: at most 60 characters, control characters escaped.</summary>
    internal static string Shown(string text)
    {
        var cut = text.Length > 60 ? text[..60] + "..." : text;
        return string.Concat(cut.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
    }

    /// <summary>A Go duration (<c>60s</c>, <c>1m30s</c>, <c>1h</c>, <c>500ms</c>) in seconds.</summary>
    internal static double GoDuration(string file, string path, string text)
    {
        var total = 0.0;
        var rest = text.Trim();
        var matched = rest.Length > 0;
        while (rest.Length > 0 && matched)
        {
            var m = System.Text.RegularExpressions.Regex.Match(rest, @"^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)");
            matched = m.Success;
            if (matched)
            {
                var value = double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                total += value * m.Groups[2].Value switch { "h" => 3600, "m" => 60, "s" => 1, "ms" => 1e-3, "us" or "µs" => 1e-6, _ => 1e-9 };
                rest = rest[m.Length..];
            }
        }

        return matched && text.Trim() != "0" && double.IsFinite(total) ? total
            : text.Trim() == "0" ? 0
            : throw new ConfigException(file, path, $"must be a duration such as 60s, 1m30s or 2h (was \"{Shown(text)}\")");
    }

    private static JsonObject Metric(string file, string path, JsonObject? metric, IReadOnlyDictionary<string, string> metricMap)
    {
        var type = (metric?["type"] as JsonValue)?.ToString();
        if (type == "Resource")
        {
            return ResourceMetric(file, path, metric!, metricMap);
        }

        var field = type switch
        {
            "Pods" => "pods",
            "External" => "external",
            "Object" => "object",
            "ContainerResource" => throw new ConfigException(file, path + ".type", $"a ContainerResource metric ({metric?["containerResource"]?["name"]}) has no stand-in in a replay; write it as a Resource metric and map the resource with --metric-map NAME=SIGNAL"),
            _ => throw new ConfigException(file, path + ".type", $"must be Pods, Object, External or Resource (was {(type is null ? "missing" : $"\"{type}\"")})"),
        };
        var source = metric![field] as JsonObject ?? throw new ConfigException(file, $"{path}.{field}", $"must be given for a {type} metric");
        var metricName = (source["metric"]?["name"] as JsonValue)?.ToString() ?? throw new ConfigException(file, $"{path}.{field}.metric.name", "must be given");
        var signal = metricMap.TryGetValue(metricName, out var mapped) ? mapped : metricName;
        if (StandInSignals.Canonical(signal) is not { } canonical)
        {
            var hint = metricMap.ContainsKey(metricName)
                ? StandInSignals.Problem(signal)
                : $"the metric \"{metricName}\" has no stand-in in a replay; map it with --metric-map {metricName}=SIGNAL or a candidate's metricMap (SIGNAL one of {string.Join(", ", StandInSignals.Names)})";
            throw new ConfigException(file, $"{path}.{field}.metric.name", hint!);
        }

        var target = source["target"] as JsonObject ?? throw new ConfigException(file, $"{path}.{field}.target", "must be given");
        var targetType = (target["type"] as JsonValue)?.ToString() ?? throw new ConfigException(file, $"{path}.{field}.target.type", "must be given");
        var key = targetType switch
        {
            "AverageValue" => "averageValue",
            "Value" => "value",
            _ => throw new ConfigException(file, $"{path}.{field}.target.type", $"must be AverageValue or Value (was \"{targetType}\")"),
        };
        var quantity = Quantity(file, $"{path}.{field}.target.{key}", target[key]);
        var body = new JsonObject
        {
            ["metric"] = new JsonObject { ["name"] = canonical },
            ["target"] = new JsonObject { ["type"] = targetType, [key] = quantity },
        };
        if (source["describedObject"] is JsonObject described)
        {
            body["describedObject"] = new JsonObject
            {
                ["apiVersion"] = (described["apiVersion"] as JsonValue)?.ToString() ?? "",
                ["kind"] = (described["kind"] as JsonValue)?.ToString() ?? "",
                ["name"] = (described["name"] as JsonValue)?.ToString() ?? "",
            };
        }

        return new JsonObject { ["type"] = type, [field] = body };
    }

    /// <summary>A Resource metric (cpu at 80 %, say), read from the stand-in signal the resource is mapped to.</summary>
    private static JsonObject ResourceMetric(string file, string path, JsonObject metric, IReadOnlyDictionary<string, string> metricMap)
    {
        var resource = metric["resource"] as JsonObject ?? throw new ConfigException(file, path + ".resource", "must be given for a Resource metric");
        var name = (resource["name"] as JsonValue)?.ToString() ?? throw new ConfigException(file, path + ".resource.name", "must be given");
        if (!metricMap.TryGetValue(name, out var signal))
        {
            throw new ConfigException(file, path + ".resource.name",
                $"the resource \"{name}\" has no stand-in in a replay; map it with --metric-map {name}=SIGNAL or a candidate's metricMap (SIGNAL one of {string.Join(", ", StandInSignals.Names)}; 100 % is then one replica at replica.capacityRps)");
        }

        if (StandInSignals.Canonical(signal) is not { } canonical)
        {
            throw new ConfigException(file, path + ".resource.name", StandInSignals.Problem(signal)!);
        }

        var target = resource["target"] as JsonObject ?? throw new ConfigException(file, path + ".resource.target", "must be given");
        if ((target["type"] as JsonValue)?.ToString() != "Utilization" || target["averageUtilization"] is not JsonValue utilization)
        {
            throw new ConfigException(file, path + ".resource.target", "must be of type Utilization with averageUtilization (a Resource metric's AverageValue is a raw quantity of cpu or memory, which a replay has not)");
        }

        return new JsonObject
        {
            ["type"] = "Resource",
            ["resource"] = new JsonObject
            {
                ["name"] = name,
                ["signal"] = canonical,
                ["target"] = new JsonObject { ["type"] = "Utilization", ["averageUtilization"] = utilization.DeepClone() },
            },
        };
    }

    private static JsonObject Behavior(string file, JsonObject behavior)
    {
        var result = new JsonObject();
        foreach (var direction in new[] { "scaleUp", "scaleDown" })
        {
            if (behavior[direction] is not JsonObject rules)
            {
                continue;
            }

            var copy = new JsonObject();
            foreach (var (name, value) in rules)
            {
                copy[name] = name == "tolerance" ? Quantity(file, $"spec.behavior.{direction}.tolerance", value) : value?.DeepClone();
            }

            result[direction] = copy;
        }

        return result;
    }

    /// <summary>A Kubernetes quantity (<c>20</c>, <c>500m</c>, <c>1.5k</c>, <c>2Gi</c>) as a number.</summary>
    internal static double Quantity(string file, string path, JsonNode? node)
    {
        if (node is JsonValue value && value.TryGetValue<double>(out var number))
        {
            return number;
        }

        var text = (node as JsonValue)?.ToString();
        if (!KubernetesQuantity.TryParse(text, out var parsed))
        {
            throw new ConfigException(file, path, $"must be a quantity such as 20, 500m or 1.5k (was {(text is null ? "missing" : $"\"{text}\"")})");
        }

        return parsed;
    }

    /// <summary>Binds and builds the options as a backtest would, so a value out of its range is named at its manifest field.</summary>
    private static void Check(string file, PolicyCatalog catalog, string policy, JsonObject options, string at = "spec", Func<string, string>? rename = null)
    {
        rename ??= name => name;
        catalog.TryGet(policy, out var descriptor);
        using var document = JsonDocument.Parse(options.ToJsonString());
        try
        {
            descriptor!.Create(OptionsBinder.Bind(descriptor.OptionsType, document.RootElement, at));
        }
        catch (OptionsBindingException e)
        {
            throw new ConfigException(file, e.Path.StartsWith(at + ".", StringComparison.Ordinal) ? at + "." + rename(e.Path[(at.Length + 1)..]) : e.Path, e.Problem, e);
        }
        catch (InvalidOptionsException e)
        {
            var error = e.Errors[0];
            var (path, problem) = (error.Path, error.Problem);
            if (path.Length == 0 && System.Text.RegularExpressions.Regex.Match(problem, "^([a-z][A-Za-z0-9]*) \\(([^)]*)\\) ") is { Success: true } named
                && rename(named.Groups[1].Value) != named.Groups[1].Value)
            {
                // A rule across options the manifest names otherwise ("minScale (5) must be <= maxScale (2)" of a Knative
                // Service): the first option named is the field, and every option is written as the manifest writes it.
                path = named.Groups[1].Value;
                problem = named.Groups[2].Value + " " + System.Text.RegularExpressions.Regex.Replace(problem[named.Length..], "\\b[a-z][A-Za-z0-9]*\\b",
                    m => rename(m.Value) is var renamed && renamed != m.Value ? renamed.Replace("metadata.annotations.", "", StringComparison.Ordinal) : m.Value);
            }

            throw new ConfigException(file, path.Length == 0 ? at : $"{at}.{rename(path)}", problem, e);
        }
    }
}
