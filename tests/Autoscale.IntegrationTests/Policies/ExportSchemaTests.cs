using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Tests.Hostile.Fuzz;
using Json.Schema;
using Xunit;

namespace Autoscale.Tests.Policies;

/// <summary>
/// Every export is what its cluster accepts: validated with JsonSchema.Net against KEDA's own CRD and the schemas of
/// Schemas/ (transcribed from each project's API definitions), an HPA also read strictly into Kubernetes' own types,
/// plus the rules a schema cannot state (KEDA's webhook: at least one trigger,
/// unique trigger names; Knative's annotation ranges; HPA's min at most max). Every candidate kind, every --as kind it
/// has, and every example manifest, through the built command.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ExportSchemaTests
{
    private static readonly Lazy<SchemaRegistry> Registry = new(() =>
    {
        var registry = new SchemaRegistry();
        foreach (var file in Directory.GetFiles(SchemaFolder, "*.schema.json"))
        {
            JsonSchema.FromText(File.ReadAllText(file), new BuildOptions { SchemaRegistry = registry }, new Uri("https://autoscale.test/schemas/" + Path.GetFileName(file)));
        }

        JsonSchema.FromText(KedaCrdSchema().ToJsonString(), new BuildOptions { SchemaRegistry = registry }, new Uri("https://autoscale.test/schemas/keda.sh_scaledobjects.yaml"));
        return registry;
    });

    private static string SchemaFolder => Path.Combine(TestPaths.Root, "tests", "Autoscale.Tests", "Schemas");

    /// <summary>
    /// KEDA's own ScaledObject CRD (kedacore/keda v2.17.0, the first with fallback.behavior; config/crd/bases, unchanged in Schemas/upstream): its
    /// openAPIV3Schema, with every object that lists its properties closed to others, as the API server's strict field
    /// validation (kubectl's default) refuses an unknown field rather than prune it, and its x-kubernetes- markers left out.
    /// </summary>
    private static JsonNode KedaCrdSchema()
    {
        var crd = Autoscale.Config.Manifests.YamlTree.Read("crd.yaml", File.ReadAllText(Path.Combine(SchemaFolder, "upstream", "keda.sh_scaledobjects.yaml")))!;
        var version = crd["spec"]!["versions"]!.AsArray().Single(v => v!["name"]!.ToString() == "v1alpha1")!;
        var schema = version["schema"]!["openAPIV3Schema"]!.DeepClone();
        Close(schema);
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema";
        return schema;

        static void Close(JsonNode? node)
        {
            if (node is JsonObject o)
            {
                if (o["properties"] is JsonObject && !o.ContainsKey("additionalProperties") && o["x-kubernetes-preserve-unknown-fields"] is null)
                {
                    o["additionalProperties"] = false;
                }

                // The API server's own annotations (list types, int-or-string, preserve-unknown-fields) are not JSON Schema.
                foreach (var key in o.Select(p => p.Key).Where(k => k.StartsWith("x-kubernetes-", StringComparison.Ordinal)).ToList())
                {
                    o.Remove(key);
                }

                foreach (var (_, child) in o.ToList())
                {
                    Close(child);
                }
            }
            else if (node is JsonArray a)
            {
                foreach (var child in a)
                {
                    Close(child);
                }
            }
        }
    }

    private static JsonSchema Schema(string kind) => (JsonSchema)Registry.Value.Get(new Uri("https://autoscale.test/schemas/" + kind switch
    {
        "hpa" => "hpa-v2.schema.json",
        "keda" => "keda.sh_scaledobjects.yaml",
        "knative" => "knative-service.schema.json",
        _ => "ray-serve-config.schema.json",
    }))!;

    private const string Candidates = """
        { "name": "hpa", "policy": "hpa", "loadTime": { "fixedSeconds": 60 }, "options": { "minReplicas": 2, "maxReplicas": 30,
            "metrics": [ { "type": "Pods", "pods": { "metric": { "name": "inFlight" }, "target": { "type": "AverageValue", "averageValue": 4 } } },
                         { "type": "Resource", "resource": { "name": "cpu", "signal": "arrivalRps", "target": { "type": "Utilization", "averageUtilization": 75 } } } ],
            "behavior": { "scaleDown": { "stabilizationWindowSeconds": 600, "policies": [ { "type": "Percent", "value": 50, "periodSeconds": 60 } ] } } } },
        { "name": "keda", "policy": "keda", "loadTime": { "fixedSeconds": 60 }, "options": { "maxReplicaCount": 20, "fallback": { "failureThreshold": 3, "replicas": 2, "behavior": "currentReplicasIfHigher" },
            "advanced": { "scalingModifiers": { "formula": "a + b", "target": "10" } },
            "triggers": [ { "type": "prometheus", "name": "a", "signal": "queue", "metadata": { "threshold": "5" } },
                          { "type": "prometheus", "name": "b", "signal": "inFlight", "metadata": { "threshold": "5" } },
                          { "type": "cron", "name": "office", "metadata": { "timezone": "Europe/Berlin", "start": "0 8 * * 1-5", "end": "0 18 * * 1-5", "desiredReplicas": "4" } } ] } },
        { "name": "knative", "policy": "knative", "loadTime": { "fixedSeconds": 60 }, "options": { "minScale": 1, "maxScale": 12, "containerConcurrency": 8, "scaleDownDelay": 120, "scaleToZeroPodRetentionPeriod": 30 } },
        { "name": "ray", "policy": "ray-serve", "loadTime": { "fixedSeconds": 60 }, "options": { "minReplicas": 1, "maxReplicas": 8, "targetOngoingRequests": 3, "aggregationFunction": "max" } },
        { "name": "reactive", "policy": "reactive", "loadTime": { "fixedSeconds": 60 } },
        { "name": "warm", "policy": "warm-floor", "loadTime": { "fixedSeconds": 60 }, "options": { "minReplicas": 3 } },
        { "name": "scheduled", "policy": "scheduled-floor", "loadTime": { "fixedSeconds": 60 },
          "options": { "timeZone": "America/New_York", "schedule": [ { "days": "Mon-Fri", "from": "09:00", "to": "17:00", "minReplicas": 5 }, { "days": "Sat", "from": "10:00", "to": "12:00", "minReplicas": 2 } ] } },
        { "name": "predictive", "policy": "predictive", "loadTime": { "fixedSeconds": 60 }, "options": { "minReplicas": 1, "maxReplicas": 200 } }
        """;

    public static TheoryData<string, string> Exports()
    {
        var data = new TheoryData<string, string>();
        foreach (var candidate in new[] { "hpa", "keda", "knative", "ray", "reactive", "warm", "scheduled", "predictive" })
        {
            foreach (var kind in new[] { "hpa", "keda", "knative", "ray-serve" })
            {
                data.Add(candidate, kind);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Exports))]
    public async Task Every_export_is_valid_for_its_kind(string candidate, string kind)
    {
        using var dir = new TempFolder();
        var config = dir.Write("c.json", $$"""{ "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 2 }, "candidates": [ {{Candidates}} ] }""");

        var run = await FuzzCli.RunAsync("policy", "export", "--config", config, "--candidate", candidate, "--as", kind);

        if (run.Exit == 2)
        {
            // A kind the candidate has no form in is refused in one line naming it (a forecast or schedule needs KEDA).
            Assert.Contains("has no " + kind + " form", run.Err, StringComparison.Ordinal);
            return;
        }

        Assert.True(run.Exit == 0, run.Err);
        AssertValid(kind, run.Out);
    }

    [Theory]
    [InlineData("hpa-vllm.yaml", "hpa", "vllm_requests_in_flight=inFlight", null)]
    [InlineData("keda-vllm.yaml", "keda", "in-flight=inFlight", null)]
    [InlineData("knative-llm.yaml", "knative", null, null)]
    [InlineData("ray-serve-llm.yaml", "ray-serve", null, null)]
    [InlineData("deployment-hpa-keda.yaml", "hpa", null, "vllm-hpa")]
    [InlineData("deployment-hpa-keda.yaml", "keda", null, "vllm-keda")]
    public async Task Every_example_manifest_exports_valid_in_every_kind(string manifest, string kind, string? map, string? document)
    {
        using var dir = new TempFolder();
        string[] extra = [.. map is null ? [] : new[] { "--metric-map", map }, .. document is null ? [] : new[] { "--document", document }];
        var imported = await FuzzCli.RunAsync(["policy", "import", Path.Combine(TestPaths.Examples, "manifests", manifest), .. extra]);
        Assert.True(imported.Exit == 0, imported.Err);
        var candidate = JsonNode.Parse(imported.Out)!.AsObject();
        candidate["name"] = "c";
        candidate["loadTime"] = new JsonObject { ["fixedSeconds"] = 60 };
        var config = dir.Write("c.json", new JsonObject { ["slo"] = new JsonObject { ["maxWaitSeconds"] = 2 }, ["replica"] = new JsonObject { ["capacityRps"] = 2 }, ["candidates"] = new JsonArray(candidate) }.ToJsonString());

        foreach (var target in new[] { "hpa", "keda", "knative", "ray-serve" })
        {
            var run = await FuzzCli.RunAsync("policy", "export", "--config", config, "--candidate", "c", "--as", target);
            if (run.Exit == 0)
            {
                AssertValid(target, run.Out);
            }
            else
            {
                Assert.True(target != kind, $"{manifest} as its own kind {kind}: {run.Err}");
                Assert.Contains("form", run.Err, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [InlineData("hpa", "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: a}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: a}\n  maxReplicas: 3\n  behavior: {scaleUp: {policies: [{type: Pods, value: 4, periodSeconds: 0}]}}\n")]
    [InlineData("hpa", "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: a}\nspec:\n  scaleTargetRef: {name: a}\n  maxReplicas: 3\n")]
    [InlineData("keda", "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: a}\nspec:\n  scaleTargetRef: {name: a}\n  triggers: [{type: cron, metadata: {desiredReplicas: 5}}]\n")]
    [InlineData("keda", "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: a}\nspec:\n  scaleTargetRef: {name: a}\n  minReplicaCount: one\n  triggers: []\n")]
    [InlineData("knative", "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: a}\nspec:\n  template:\n    metadata: {annotations: {autoscaling.knative.dev/window: soon}}\n    spec: {containers: [{image: x}]}\n")]
    [InlineData("ray-serve", "applications:\n- name: a\n  import_path: m:app\n  deployments:\n  - name: D\n    autoscaling_config: {min_replicas: 1, max_replicas: 0}\n")]
    public void The_schemas_refuse_what_the_clusters_refuse(string kind, string yaml)
    {
        var node = Autoscale.Config.Manifests.YamlTree.Read("bad.yaml", yaml)!;
        using var document = JsonDocument.Parse(node.ToJsonString());
        Assert.False(Schema(kind).Evaluate(document.RootElement).IsValid, yaml);
    }

    [Fact]
    public void Kubernetes_own_types_refuse_a_misplaced_hpa_field_and_the_crd_an_unknown_keda_one()
    {
        const string Hpa = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: a}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: a}\n  maxReplicas: 3\n  stabilizationWindowSeconds: 60\n";
        Assert.ThrowsAny<Exception>(() => k8s.KubernetesYaml.Deserialize<k8s.Models.V2HorizontalPodAutoscaler>(Hpa, strict: true));

        var keda = Autoscale.Config.Manifests.YamlTree.Read("k.yaml", "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: a}\nspec:\n  scaleTargetRef: {name: a}\n  cooldown: 60\n  triggers: [{type: cpu, metricType: Utilization, metadata: {value: '60'}}]\n")!;
        using var document = JsonDocument.Parse(keda.ToJsonString());
        Assert.False(Schema("keda").Evaluate(document.RootElement).IsValid);
    }

    private static double? Num(JsonNode? node) => node is null ? null : double.Parse(node.ToJsonString().Trim('"'), CultureInfo.InvariantCulture);

    internal static void AssertValid(string kind, string yaml)
    {
        var node = Autoscale.Config.Manifests.YamlTree.Read("export.yaml", yaml)!;
        if (kind == "ray-serve" && node["kind"]?.ToString() == "RayService")
        {
            // KubeRay's RayService holds the Serve config as a YAML string: that string is what Ray validates.
            Assert.Equal("ray.io/v1", node["apiVersion"]?.ToString());
            AssertValid(kind, node["spec"]!["serveConfigV2"]!.ToString());
            return;
        }

        using var document = JsonDocument.Parse(node.ToJsonString());
        var result = Schema(kind).Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, $"not a valid {kind}:\n{string.Join("\n", (result.Details ?? []).Where(d => d.Errors is { Count: > 0 }).Select(d => $"{d.InstanceLocation}: {string.Join("; ", d.Errors!.Values)}"))}\n{yaml}");

        switch (kind)
        {
            case "keda":
                // KEDA's admission webhook: at least one trigger, and trigger names unique.
                var triggers = node["spec"]!["triggers"]!.AsArray();
                Assert.NotEmpty(triggers);
                var names = triggers.Select(t => t!["name"]?.ToString()).OfType<string>().ToList();
                Assert.Equal(names.Count, names.Distinct().Count());
                break;
            case "hpa":
                // Kubernetes' own types (KubernetesClient's models, generated from the API's OpenAPI definitions), read
                // strictly: an unknown or misplaced field fails.
                var typed = k8s.KubernetesYaml.Deserialize<k8s.Models.V2HorizontalPodAutoscaler>(yaml, strict: true);
                Assert.Equal(Num(node["spec"]!["maxReplicas"]), typed.Spec.MaxReplicas);
                var spec = node["spec"]!;
                Assert.True((Num(spec["minReplicas"]) ?? 1) <= Num(spec["maxReplicas"]), yaml);
                break;
            case "knative":
                // Knative's annotation validation: ranges and min-scale at most max-scale.
                var annotations = node["spec"]!["template"]!["metadata"]!["annotations"]!.AsObject();
                double? Get(string key) => annotations["autoscaling.knative.dev/" + key] is { } v ? double.Parse(v.ToString().TrimEnd('s'), CultureInfo.InvariantCulture) : null;
                Assert.True(Get("target-utilization-percentage") is null or (>= 1 and <= 100), yaml);
                Assert.True(Get("panic-window-percentage") is null or (>= 1 and <= 100), yaml);
                Assert.True(Get("panic-threshold-percentage") is null or (>= 110 and <= 1000), yaml);
                Assert.True(Get("window") is null or (>= 6 and <= 3600), yaml);
                Assert.True(Get("max-scale") is not { } max || max == 0 || (Get("min-scale") ?? 0) <= max, yaml);
                break;
            default:
                foreach (var deployment in node["applications"]!.AsArray().SelectMany(a => a!["deployments"]?.AsArray() ?? []))
                {
                    var config = deployment!["autoscaling_config"];
                    Assert.True(config is null || Num(config["min_replicas"]) <= Num(config["max_replicas"]), yaml);
                }

                break;
        }
    }
}
