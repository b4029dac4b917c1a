using System.Globalization;
using Autoscale.Policies.Common;
using System.Text;
using System.Text.Json.Nodes;
using Autoscale.Backtesting.Engine;
using Autoscale.Policies.Hpa;
using Autoscale.Policies.Keda;
using Autoscale.Policies.Knative;
using Autoscale.Policies.Predictive;
using Autoscale.Policies.RayServe;
using Autoscale.Policies.Reactive;
using Autoscale.Policies.ScheduledFloor;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Autoscale.Config.Manifests;

/// <summary>
/// Writes a candidate back as the config of an autoscaler users run: exactly for the four emulated policies (import
/// then export gives the same settings), and for the project's own policies the closest faithful form, with a comment
/// saying what it cannot carry. Stand-in signals are written as metric names; map them back to your metrics.
/// </summary>
public static partial class ManifestExporter
{
    /// <summary>The kinds a candidate can be written as.</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["hpa", "keda", "knative", "ray-serve"];

    /// <summary>The manifest (YAML, with leading comments) of <paramref name="candidate"/> as <paramref name="kind"/>.</summary>
    /// <remarks>
    /// With <paramref name="source"/> (the candidate came from a manifest through <c>policyFrom</c>) a manifest of the same
    /// kind is edited, not written afresh: only the autoscaling fields the candidate sets move, and its metadata, target,
    /// metric names and selectors, trigger names and everything unknown to this tool stay. A manifest of another kind
    /// lends its metadata and scale target to the one written.
    /// </remarks>
    public static string Export(CandidateSpec candidate, ReplaySettings settings, string kind, string file, ManifestSource? source = null)
    {
        var notes = new List<string>();
        var name = Slug(candidate.SweepGroup ?? candidate.Name);
        JsonObject document = (kind, candidate.Options) switch
        {
            ("hpa", HpaOptions o) => HpaManifest(name, o, notes),
            ("hpa", KedaOptions o) => HpaManifest(name, KedaPolicy.HpaFor(o), Note(notes, "KEDA's own part (scaling to and from zero, cooldownPeriod, activation) has no HPA form; the HPA is the one KEDA creates")),
            ("hpa" or "knative" or "ray-serve", PredictiveOptions or ScheduledFloorOptions) => throw new ConfigException(file, "--as",
                $"a {candidate.PolicyName} candidate has no {kind} form: its {(candidate.Options is PredictiveOptions ? "forecast" : "schedule")} needs --as keda"),
            ("hpa", ReactiveOptions o) => HpaManifest(name, FromReactive(o, settings, notes, forHpa: true), notes),
            ("keda", KedaOptions o) => KedaManifest(name, o),
            ("keda", HpaOptions o) => KedaManifest(name, FromHpa(o, notes)),
            ("keda", ScheduledFloorOptions o) => CronScaledObject(name, o, settings, notes),
            ("keda", ReactiveOptions o) when o is not PredictiveOptions => KedaManifest(name, FromHpa(FromReactive(o, settings, notes), notes)),
            ("keda", _) => ExternalScaledObject(name, candidate, settings, notes),
            ("knative", KnativeOptions o) => KnativeManifest(name, o),
            ("ray-serve", RayServeOptions o) => RayServeConfig(name, o),
            ("knative", ReactiveOptions o) => KnativeManifest(name, new KnativeOptions { MinScale = o.MinReplicas, MaxScale = o.MaxReplicas },
                Note(notes, $"only the floor and ceiling carry over from {candidate.PolicyName}; set the target (containerConcurrency) for your server")),
            ("ray-serve", ReactiveOptions o) => RayServeConfig(name, new RayServeOptions { MinReplicas = o.MinReplicas, MaxReplicas = o.MaxReplicas },
                Note(notes, $"only min_replicas and max_replicas carry over from {candidate.PolicyName}; set target_ongoing_requests for your server")),
            _ => throw new ConfigException(file, "--as", $"a {candidate.PolicyName} candidate has no {kind} form (known: {string.Join(", ", Kinds)}; --as keda points a ScaledObject at the KEDA scaler of `autoscale live`)"),
        };

        var edited = false;
        if (source is not null)
        {
            (document, edited) = FromSource(source, kind, document, notes, candidate.Options);
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# Exported by autoscale from the candidate \"{Comment(candidate.Name)}\" ({Comment(candidate.PolicyName)}).\n");
        text.Append(edited
            ? $"# Edited from {Comment(Path.GetFileName(source!.Path))}: only the autoscaling settings moved; names, selectors and the rest are as they were.\n"
            : $"# Metric names are the replay's stand-in signals ({string.Join(", ", StandInSignals.Names)}): map them to your metrics.\n");
        foreach (var note in notes)
        {
            text.Append(CultureInfo.InvariantCulture, $"# {Comment(note)}\n");
        }

        text.Append(Yaml(document));
        return text.ToString();
    }

    private static List<string> Note(List<string> notes, string note)
    {
        notes.Add(note);
        return notes;
    }

    private static JsonObject HpaManifest(string name, HpaOptions o, List<string> notes)
    {
        var defaults = new HpaOptions();
        if (o.SyncPeriodSeconds != defaults.SyncPeriodSeconds || o.Tolerance != defaults.Tolerance || o.DownscaleStabilizationSeconds != defaults.DownscaleStabilizationSeconds)
        {
            notes.Add($"the replay used controller flags a manifest cannot carry: --horizontal-pod-autoscaler-sync-period={o.SyncPeriodSeconds.TotalSeconds}s, -tolerance={o.Tolerance}, -downscale-stabilization={o.DownscaleStabilizationSeconds.TotalSeconds}s");
        }

        foreach (var resource in o.Metrics.Where(m => m.IsResource).Select(m => m.Resource!))
        {
            notes.Add($"the replay read {resource.Name} from its stand-in {resource.Signal} (100 % = one replica at its capacity); import this file again with --metric-map {resource.Name}={resource.Signal}");
        }

        var spec = new JsonObject
        {
            ["scaleTargetRef"] = new JsonObject { ["apiVersion"] = "apps/v1", ["kind"] = "Deployment", ["name"] = name },
            ["minReplicas"] = o.MinReplicas,
            ["maxReplicas"] = o.MaxReplicas,
            ["metrics"] = new JsonArray(o.Metrics.Select(Metric).ToArray()),
        };
        if (o.Behavior is { } behavior)
        {
            spec["behavior"] = Behavior(behavior);
        }

        return new JsonObject { ["apiVersion"] = "autoscaling/v2", ["kind"] = "HorizontalPodAutoscaler", ["metadata"] = new JsonObject { ["name"] = name }, ["spec"] = spec };
    }

    private static JsonNode Metric(HpaMetricSpec m)
    {
        if (m.IsResource)
        {
            var resource = m.Resource!;
            return new JsonObject
            {
                ["type"] = "Resource",
                ["resource"] = new JsonObject
                {
                    ["name"] = resource.Name,
                    ["target"] = new JsonObject { ["type"] = "Utilization", ["averageUtilization"] = resource.Target.AverageUtilization },
                },
            };
        }

        var source = m.Source!;
        var field = m.Field;
        var target = new JsonObject { ["type"] = source.Target.IsAverageValue ? "AverageValue" : "Value" };
        target[source.Target.IsAverageValue ? "averageValue" : "value"] = Quantity(source.Target.IsAverageValue ? source.Target.AverageValue!.Value : source.Target.Value!.Value);
        var body = new JsonObject { ["metric"] = new JsonObject { ["name"] = source.Metric.Name }, ["target"] = target };
        if (source.DescribedObject is { } described)
        {
            body["describedObject"] = new JsonObject { ["apiVersion"] = described.ApiVersion, ["kind"] = described.Kind, ["name"] = described.Name };
        }

        return new JsonObject
        {
            ["type"] = m.IsPods ? "Pods" : m.IsObject ? "Object" : "External",
            [field] = body,
        };
    }

    private static JsonObject Behavior(HpaBehavior behavior)
    {
        var result = new JsonObject();
        foreach (var (key, rules) in new[] { ("scaleUp", behavior.ScaleUp), ("scaleDown", behavior.ScaleDown) })
        {
            if (rules is null)
            {
                continue;
            }

            var r = new JsonObject();
            if (rules.StabilizationWindowSeconds is { } window)
            {
                r["stabilizationWindowSeconds"] = window;
            }

            if (rules.SelectPolicy is { } select)
            {
                r["selectPolicy"] = select;
            }

            if (rules.Policies is { } policies)
            {
                r["policies"] = new JsonArray(policies.Select(p => (JsonNode)new JsonObject { ["type"] = p.Type, ["value"] = p.Value, ["periodSeconds"] = p.PeriodSeconds }).ToArray());
            }

            if (rules.Tolerance is { } tolerance)
            {
                r["tolerance"] = Quantity(tolerance);
            }

            result[key] = r;
        }

        return result;
    }

    /// <summary>The reactive policy as the HPA closest to it: arrivals per replica at the utilization target, its windows and limits.</summary>
    private static HpaOptions FromReactive(ReactiveOptions o, ReplaySettings settings, List<string> notes, bool forHpa = false)
    {
        var capacity = settings.Replica.CapacityRps;
        var perReplica = o.Metric == ReactiveMetric.InFlightPerReplica ? o.TargetInFlightPerReplica : capacity * o.TargetUtilization;
        notes.Add(o.Metric == ReactiveMetric.InFlightPerReplica
            ? $"the target is {o.TargetInFlightPerReplica} requests in flight per replica"
            : $"the target is {Format(perReplica)} requests per second per replica ({Format(capacity)} capacity x {Format(o.TargetUtilization)} utilization); the backlog term of the policy's demand has no HPA form");
        if (o.PanicThresholdPercent > 0)
        {
            notes.Add("Knative-style panic mode has no HPA form and is dropped");
        }

        if (o.MinReplicas == 0 && forHpa)
        {
            notes.Add("scaling to zero needs KEDA: export --as keda");
        }

        return new HpaOptions
        {
            MinReplicas = Math.Max(o.MinReplicas, 1),
            MaxReplicas = o.MaxReplicas,
            Tolerance = o.Tolerance,
            Metrics =
            [
                o.Metric == ReactiveMetric.InFlightPerReplica
                    ? new HpaMetricSpec { Type = "Pods", Pods = new HpaMetricSource { Metric = new() { Name = "inFlight" }, Target = new() { Type = "AverageValue", AverageValue = perReplica } } }
                    : new HpaMetricSpec { Type = "External", External = new HpaMetricSource { Metric = new() { Name = "arrivalRps" }, Target = new() { Type = "AverageValue", AverageValue = perReplica } } },
            ],
            Behavior = new HpaBehavior
            {
                ScaleUp = new HpaScalingRules
                {
                    StabilizationWindowSeconds = (int)Math.Round(o.ScaleUpStabilizationSeconds.TotalSeconds),
                    SelectPolicy = "Max",
                    Policies = RatePolicies(o.ScaleUpLimitPercent, o.ScaleUpLimitReplicas, o.ScaleUpPeriodSeconds),
                },
                ScaleDown = new HpaScalingRules
                {
                    StabilizationWindowSeconds = (int)Math.Round(Math.Min(3600, o.ScaleDownStabilizationSeconds.TotalSeconds)),
                    SelectPolicy = "Max",
                    Policies = RatePolicies(o.ScaleDownLimitPercent, o.ScaleDownLimitReplicas, o.ScaleDownPeriodSeconds),
                },
            },
        };
    }

    /// <summary>
    /// The reactive policy's rate limit ("the larger of" a percentage and a number of replicas per period) as HPA
    /// policies under <c>selectPolicy: Max</c>; a limit of 0 is left out (an HPA policy's value must be positive).
    /// </summary>
    private static List<HpaScalingPolicy> RatePolicies(double percent, int replicas, NodaTime.Duration period)
    {
        var seconds = (int)Math.Clamp(Math.Round(period.TotalSeconds), 1, 1800);
        var policies = new List<HpaScalingPolicy>();
        if (percent > 0)
        {
            policies.Add(new HpaScalingPolicy { Type = "Percent", Value = (int)Math.Max(1, Math.Round(percent)), PeriodSeconds = seconds });
        }

        if (replicas > 0)
        {
            policies.Add(new HpaScalingPolicy { Type = "Pods", Value = replicas, PeriodSeconds = seconds });
        }

        return policies;
    }

    /// <summary>An HPA as the ScaledObject whose HPA it is: each metric a Prometheus trigger, each Resource metric a cpu or memory trigger.</summary>
    private static KedaOptions FromHpa(HpaOptions o, List<string> notes)
    {
        if (o.Metrics.Any(m => !m.IsResource))
        {
            notes.Add("each trigger's query is a placeholder: write the Prometheus query of the metric it names");
        }

        foreach (var resource in o.Metrics.Where(m => m.IsResource).Select(m => m.Resource!))
        {
            notes.Add($"the {resource.Name} trigger was replayed from its stand-in {resource.Signal}; import this file again with --metric-map {resource.Name}={resource.Signal}; KEDA cannot scale to zero on cpu or memory alone");
        }

        return new KedaOptions
        {
            MinReplicaCount = o.MinReplicas,
            MaxReplicaCount = o.MaxReplicas,
            HpaSyncPeriodSeconds = (int)Math.Round(o.SyncPeriodSeconds.TotalSeconds),
            Advanced = o.Behavior is null ? null : new KedaAdvanced { HorizontalPodAutoscalerConfig = new KedaHpaConfig { Behavior = o.Behavior } },
            Triggers = o.Metrics.Select(m => m.IsResource ? new KedaTrigger
            {
                Type = m.Resource!.Name,
                Signal = m.Resource.Signal,
                MetricType = "Utilization",
                Metadata = new Dictionary<string, string> { ["value"] = Format(m.Resource.Target.AverageUtilization ?? 80) },
            } : new KedaTrigger
            {
                Type = "prometheus",
                Name = m.Source!.Metric.Name,
                Signal = m.Source.Metric.Name,
                MetricType = m.IsPods || m.Source.Target.IsAverageValue ? "AverageValue" : "Value",
                Metadata = new Dictionary<string, string>
                {
                    ["serverAddress"] = "http://prometheus.monitoring:9090",
                    ["query"] = $"sum({m.Source.Metric.Name})",
                    ["threshold"] = Format(m.Source.Target.AverageValue ?? m.Source.Target.Value ?? 1),
                },
            }).ToList(),
        };
    }

    private static JsonObject KedaManifest(string name, KedaOptions o, List<string>? notes = null)
    {
        var spec = new JsonObject
        {
            ["scaleTargetRef"] = new JsonObject { ["name"] = name },
            ["pollingInterval"] = o.PollingInterval,
            ["cooldownPeriod"] = o.CooldownPeriod,
        };
        if (o.InitialCooldownPeriod != 0)
        {
            spec["initialCooldownPeriod"] = o.InitialCooldownPeriod;
        }

        spec["minReplicaCount"] = o.MinReplicaCount;
        spec["maxReplicaCount"] = o.MaxReplicaCount;
        if (o.IdleReplicaCount is { } idle)
        {
            spec["idleReplicaCount"] = idle;
        }

        if (o.Fallback is { } fallback)
        {
            spec["fallback"] = new JsonObject { ["failureThreshold"] = fallback.FailureThreshold, ["replicas"] = fallback.Replicas };
            if (fallback.Behavior != "static")
            {
                spec["fallback"]!["behavior"] = fallback.Behavior;
            }
        }

        var advanced = new JsonObject();
        if (o.Advanced?.HorizontalPodAutoscalerConfig?.Behavior is { } behavior)
        {
            advanced["horizontalPodAutoscalerConfig"] = new JsonObject { ["behavior"] = Behavior(behavior) };
        }

        if (o.Advanced?.ScalingModifiers is { } modifiers)
        {
            var written = new JsonObject { ["formula"] = modifiers.Formula, ["target"] = modifiers.Target };
            if (modifiers.ActivationTarget is { } activation)
            {
                written["activationTarget"] = activation;
            }

            if (modifiers.MetricType != "AverageValue")
            {
                written["metricType"] = modifiers.MetricType;
            }

            advanced["scalingModifiers"] = written;
        }

        if (advanced.Count > 0)
        {
            spec["advanced"] = advanced;
        }

        var names = UniqueNames(o.Triggers.Select(t => t.Name ?? (t.IsCron ? "cron" : t.IsResource ? t.Type.ToLowerInvariant() : t.Signal)).ToList());
        spec["triggers"] = new JsonArray(o.Triggers.Select((t, i) =>
        {
            var trigger = new JsonObject { ["type"] = t.Type, ["name"] = names[i] };
            if (t.MetricType != "AverageValue")
            {
                trigger["metricType"] = t.MetricType;
            }

            var metadata = new JsonObject();
            foreach (var (key, value) in t.Metadata)
            {
                metadata[key] = value;
            }

            trigger["metadata"] = metadata;
            return (JsonNode)trigger;
        }).ToArray());
        return new JsonObject { ["apiVersion"] = "keda.sh/v1alpha1", ["kind"] = "ScaledObject", ["metadata"] = new JsonObject { ["name"] = name }, ["spec"] = spec };
    }

    /// <summary>Trigger names made unique as KEDA's webhook wants them: a repeated name gets -2, -3, ...</summary>
    private static List<string> UniqueNames(List<string> names)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<string>(names.Count);
        foreach (var name in names)
        {
            var unique = name;
            for (var n = 2; !taken.Add(unique); n++)
            {
                unique = $"{name}-{n}";
            }

            result.Add(unique);
        }

        return result;
    }

    /// <summary>A scheduled floor as KEDA cron triggers (one per window) beside a Prometheus trigger for the reactive part.</summary>
    private static JsonObject CronScaledObject(string name, ScheduledFloorOptions o, ReplaySettings settings, List<string> notes)
    {
        var keda = FromHpa(FromReactive(o, settings, notes), notes);
        keda.MinReplicaCount = o.DefaultMinReplicas;
        string[] cronDays = ["1", "2", "3", "4", "5", "6", "0"];
        foreach (var (window, i) in o.Schedule.Select((w, i) => (w, i)))
        {
            var days = ScheduleWindow.ParseDaysForTest(window.Days);
            var cron = days.All(d => d) ? "*" : string.Join(",", Enumerable.Range(0, 7).Where(d => days[d]).Select(d => cronDays[d]));
            var (fromH, fromM) = (window.From[..2], window.From[3..]);
            var (toH, toM) = window.To == "24:00" ? ("23", "59") : (window.To[..2], window.To[3..]);
            keda.Triggers.Add(new KedaTrigger
            {
                Type = "cron",
                Name = $"window-{i + 1}",
                Metadata = new Dictionary<string, string>
                {
                    ["timezone"] = o.TimeZone,
                    ["start"] = $"{int.Parse(fromM, CultureInfo.InvariantCulture)} {int.Parse(fromH, CultureInfo.InvariantCulture)} * * {cron}",
                    ["end"] = $"{int.Parse(toM, CultureInfo.InvariantCulture)} {int.Parse(toH, CultureInfo.InvariantCulture)} * * {cron}",
                    ["desiredReplicas"] = window.MinReplicas.ToString(CultureInfo.InvariantCulture),
                },
            });
        }

        notes.Add("each schedule window is a cron trigger; pre-warming ahead of a window has no KEDA form: start the windows earlier by the load time");
        if (o.Schedule.Any(w => string.CompareOrdinal(w.To, w.From) < 0))
        {
            notes.Add("a window across midnight ends on the next day in the replay; its cron end is the same day: split it in two");
        }

        return KedaManifest(name, keda);
    }

    /// <summary>Any other policy: a ScaledObject whose trigger is the KEDA external scaler of `autoscale live`, which answers with the policy's decision.</summary>
    private static JsonObject ExternalScaledObject(string name, CandidateSpec candidate, ReplaySettings settings, List<string> notes)
    {
        notes.Add($"{candidate.PolicyName} decides itself: run it with `autoscale live` and its KEDA scaler (docs: README, Integrations); KEDA applies its count");
        return new JsonObject
        {
            ["apiVersion"] = "keda.sh/v1alpha1",
            ["kind"] = "ScaledObject",
            ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = new JsonObject
            {
                ["scaleTargetRef"] = new JsonObject { ["name"] = name },
                ["minReplicaCount"] = Bound(candidate.Options, "MinReplicas") ?? 0,
                ["maxReplicaCount"] = Bound(candidate.Options, "MaxReplicas") ?? settings.MaxReplicas,
                ["triggers"] = new JsonArray(new JsonObject
                {
                    ["type"] = "external",
                    ["metricType"] = "AverageValue",
                    ["metadata"] = new JsonObject { ["scalerAddress"] = "autoscale-keda-scaler:6000" },
                }),
            },
        };
    }

    /// <summary>The policy's own floor or ceiling, or null when its options have none this tool knows.</summary>
    private static int? Bound(object? options, string property) => (options, property) switch
    {
        (ReactiveOptions o, "MinReplicas") => o.MinReplicas,
        (ReactiveOptions o, _) => o.MaxReplicas,
        (HpaOptions o, "MinReplicas") => o.MinReplicas,
        (HpaOptions o, _) => o.MaxReplicas,
        (RayServeOptions o, "MinReplicas") => o.MinReplicas,
        (RayServeOptions o, _) => o.MaxReplicas,
        _ => null,
    };

    private static JsonNode Quantity(double value) => JsonValue.Create(Format(value))!;

    private static string Format(double value) => ConfigLoader.Format(value);

    private static string Slug(string name)
    {
        var slug = new string(name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray()).Trim('-');
        while (slug.Contains("--", StringComparison.Ordinal))
        {
            slug = slug.Replace("--", "-", StringComparison.Ordinal);
        }

        return slug.Length == 0 ? "autoscale" : slug[..Math.Min(slug.Length, 63)].TrimEnd('-');
    }

    /// <summary>The JSON tree as block YAML; strings that would read as something else are quoted.</summary>
    private static string Yaml(JsonNode root)
    {
        var stream = new YamlStream(new YamlDocument(ToYaml(root)));
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        stream.Save(writer, assignAnchors: false);
        var text = writer.ToString();
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text.Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    private static YamlNode ToYaml(JsonNode? node) => node switch
    {
        JsonObject o => new YamlMappingNode(o.Select(p => new KeyValuePair<YamlNode, YamlNode>(new YamlScalarNode(p.Key), ToYaml(p.Value)))),
        JsonArray a => new YamlSequenceNode(a.Select(ToYaml)),
        JsonValue v when v.TryGetValue<string>(out var s) => new YamlScalarNode(s) { Style = NeedsQuotes(s) ? ScalarStyle.DoubleQuoted : ScalarStyle.Plain },
        JsonValue v => new YamlScalarNode(v.ToJsonString()),
        _ => new YamlScalarNode("null"),
    };

    /// <summary>
    /// Text made safe for a one-line YAML comment: every line break and control character (a name can hold any) written
    /// as its escape, so a name can never end the comment and start a field or a document of its own.
    /// </summary>
    internal static string Comment(string text)
    {
        var safe = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            safe.Append(Unsafe(c) ? $"\\u{(int)c:x4}" : c.ToString());
        }

        return safe.ToString();
    }

    /// <summary>A character that breaks a line or is not printable: control characters, NEL, the line and paragraph separators, BOM.</summary>
    private static bool Unsafe(char c) => char.IsControl(c) || c is '\u0085' or '\u2028' or '\u2029' or '\ufeff';

    private static bool NeedsQuotes(string s) =>
        s.Length == 0 || s.Any(Unsafe) || double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _) || s is "true" or "false" or "null" or "~"
        || s.IndexOfAny([':', '#', '{', '}', '[', ']', ',', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`']) >= 0 || s.StartsWith('-') || s.StartsWith(' ') || s.EndsWith(' ');
}
