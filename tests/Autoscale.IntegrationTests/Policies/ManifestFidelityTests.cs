using System.Text.Json.Nodes;
using Autoscale.Tests.Hostile.Fuzz;
using Xunit;

namespace Autoscale.Tests.Policies;

/// <summary>
/// Manifests as found in tutorials and blogs (each written for these tests): scalers whose target has another name or a
/// default, KEDA 1 and external scalers, autoscaling/v1 HPAs, annotations Knative ignores, Ray configs Ray refuses; and
/// exports that change only what the candidate changed, keeping the source's spelling and the defaults it wrote. Each
/// through the built command.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ManifestFidelityTests
{
    private static string Config(TempFolder dir, JsonObject candidate)
    {
        candidate["loadTime"] = new JsonObject { ["fixedSeconds"] = 60 };
        return dir.Write("c.json", new JsonObject
        {
            ["slo"] = new JsonObject { ["maxWaitSeconds"] = 2 },
            ["replica"] = new JsonObject { ["capacityRps"] = 2 },
            ["candidates"] = new JsonArray(candidate),
        }.ToJsonString());
    }

    [Fact]
    public async Task A_scaler_reads_its_own_target_key_or_keda_s_default_for_it()
    {
        using var dir = new TempFolder();
        var streams = dir.Write("streams.yaml", """
            apiVersion: keda.sh/v1alpha1
            kind: ScaledObject
            metadata: { name: agents, namespace: jobs }
            spec:
              scaleTargetRef: { name: agents }
              minReplicaCount: 1
              maxReplicaCount: 10
              triggers:
                - type: redis-streams
                  metadata: { address: "redis:6379", stream: events, consumerGroup: workers, pendingEntriesCount: "15" }
                - type: aws-sqs-queue
                  metadata: { queueURL: "https://sqs.example/orders", awsRegion: us-east-1 }
            """);

        var candidate = ManifestCli.Json(await ManifestCli.Cli("policy", "import", streams, "--metric-map", "redis-streams[0]=queue", "--metric-map", "aws-sqs-queue[0]=queue"));
        var exported = await ManifestCli.Cli("policy", "export", "--config", Config(dir, candidate), "--candidate", "agents", "--as", "keda");

        Assert.Equal("15", candidate["options"]!["triggers"]![0]!["metadata"]!["pendingEntriesCount"]!.ToString());
        Assert.True(exported.Exit == 0, exported.Err);
        ExportSchemaTests.AssertValid("keda", exported.Out);
        Assert.Contains("pendingEntriesCount: \"15\"", exported.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("queueLength", exported.Out, StringComparison.Ordinal); // SQS's default of 5 stays KEDA's default
        Assert.Contains("namespace: jobs", exported.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec:\n  scaleTargetRef: {name: x}\n  triggers: [{type: external-push, metadata: {scalerAddress: \"my-scaler:8080\"}}]\n",
        "spec.triggers[0].type: an external-push trigger asks the user's own scaler service (my-scaler:8080)")]
    [InlineData("apiVersion: keda.k8s.io/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec:\n  scaleTargetRef: {deploymentName: x}\n  triggers: [{type: kafka, metadata: {lagThreshold: '5'}}]\n",
        "apiVersion: \"keda.k8s.io/v1alpha1\" is KEDA 1's")]
    [InlineData("applications:\n- name: a\n  import_path: m:app\n  deployments:\n  - name: D\n    num_replicas: 3\n    autoscaling_config: {min_replicas: 1, max_replicas: 5}\n",
        "applications[0].deployments[0].num_replicas: (3) cannot be given beside autoscaling_config")]
    [InlineData("apiVersion: example.com/v1\nkind: ModelService\nmetadata: {name: x}\nspec:\n  ray:\n    serveConfigV2: |\n      applications: []\n",
        "it holds a Ray Serve config at spec.ray.serveConfigV2")]
    public async Task What_cannot_be_replayed_is_refused_with_the_reason(string yaml, string expected)
    {
        using var dir = new TempFolder();

        var run = await ManifestCli.Cli("policy", "import", dir.Write("m.yaml", yaml));

        Assert.Equal(2, run.Exit);
        Assert.Contains(expected, run.Err, StringComparison.Ordinal);
        Assert.Single(run.Err.Trim().Split('\n'));
    }

    [Fact]
    public async Task An_autoscaling_v1_hpa_is_read_as_kubernetes_converts_it_and_exported_as_v2_with_its_identity()
    {
        using var dir = new TempFolder();
        var v1 = dir.Write("v1.yaml", """
            apiVersion: autoscaling/v1
            kind: HorizontalPodAutoscaler
            metadata: { name: php-apache, namespace: shop }
            spec:
              scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: php-apache }
              minReplicas: 2
              maxReplicas: 10
            """);

        var import = await ManifestCli.Cli("policy", "import", v1, "--metric-map", "cpu=inFlight");
        var candidate = ManifestCli.Json(import);
        var exported = await ManifestCli.Cli("policy", "export", "--config", Config(dir, candidate), "--candidate", "php-apache", "--as", "hpa");

        var resource = candidate["options"]!["metrics"]![0]!["resource"]!;
        Assert.Equal(("cpu", 80), (resource["name"]!.ToString(), resource["target"]!["averageUtilization"]!.GetValue<int>())); // v1's default target
        Assert.Contains("autoscaling/v1: read as the autoscaling/v2 object", import.Err, StringComparison.Ordinal);
        Assert.True(exported.Exit == 0, exported.Err);
        ExportSchemaTests.AssertValid("hpa", exported.Out);
        Assert.Contains("apiVersion: autoscaling/v2", exported.Out, StringComparison.Ordinal);
        Assert.Contains("namespace: shop", exported.Out, StringComparison.Ordinal);
        Assert.Contains("name: php-apache", exported.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Annotations_knative_ignores_are_noted_and_an_edited_service_keeps_the_keys_and_defaults_it_wrote()
    {
        using var dir = new TempFolder();
        var service = dir.Write("kn.yaml", """
            apiVersion: serving.knative.dev/v1
            kind: Service
            metadata:
              name: batch
              annotations: { autoscaling.knative.dev/metric: rps }
            spec:
              template:
                metadata:
                  annotations:
                    autoscaling.knative.dev/metric: rps
                    autoscaling.knative.dev/target: "10"
                    autoscaling.knative.dev/stable-window: 60s
                    autoscaling.knative.dev/window: 60s
                    autoscaling.knative.dev/panicThresholdPercentage: "200.0"
                    autoscaling.knative.dev/maxScale: "100"
                spec:
                  containers: [ { image: app } ]
            """);

        var import = await ManifestCli.Cli("policy", "import", service);
        var candidate = ManifestCli.Json(import);
        candidate["options"]!["maxScale"] = 40;
        var exported = await ManifestCli.Cli("policy", "export", "--config", Config(dir, candidate), "--candidate", "batch", "--as", "knative");

        Assert.Contains("autoscaling.knative.dev/stable-window is not an annotation Knative reads", import.Err, StringComparison.Ordinal);
        Assert.Contains("(the stable window is autoscaling.knative.dev/window)", import.Err, StringComparison.Ordinal);
        Assert.Contains("metadata.annotations.autoscaling.knative.dev/metric is on the Service, not on spec.template", import.Err, StringComparison.Ordinal);
        Assert.True(exported.Exit == 0, exported.Err);
        ExportSchemaTests.AssertValid("knative", exported.Out);
        Assert.Contains("autoscaling.knative.dev/maxScale: \"40\"", exported.Out, StringComparison.Ordinal); // the changed value, under the key the Service wrote
        Assert.Contains("autoscaling.knative.dev/window: 60s", exported.Out, StringComparison.Ordinal); // Knative's default, as written
        Assert.Contains("autoscaling.knative.dev/panicThresholdPercentage: \"200\"", exported.Out, StringComparison.Ordinal);
        Assert.Contains("autoscaling.knative.dev/stable-window: 60s", exported.Out, StringComparison.Ordinal); // unknown to Knative and to us: it stays
        Assert.DoesNotContain("max-scale", exported.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_edited_serve_config_keeps_the_defaults_it_wrote_under_current_names_and_adds_no_limit_it_did_not_set()
    {
        using var dir = new TempFolder();
        var serve = dir.Write("serve.yaml", """
            applications:
            - name: app
              import_path: m:app
              deployments:
              - name: Model
                autoscaling_config:
                  min_replicas: 1
                  max_replicas: 10
                  target_num_ongoing_requests_per_replica: 2
                  metrics_interval_s: 10
            """);

        var candidate = ManifestCli.Json(await ManifestCli.Cli("policy", "import", serve));
        candidate["options"]!["maxReplicas"] = 20;
        var exported = await ManifestCli.Cli("policy", "export", "--config", Config(dir, candidate), "--candidate", "Model", "--as", "ray-serve");
        var back = ManifestCli.Json(await ManifestCli.Cli("policy", "import", dir.Write("back.yaml", exported.Out)));

        Assert.True(exported.Exit == 0, exported.Err);
        ExportSchemaTests.AssertValid("ray-serve", exported.Out);
        Assert.Contains("max_replicas: 20", exported.Out, StringComparison.Ordinal);
        Assert.Contains("target_ongoing_requests: 2", exported.Out, StringComparison.Ordinal); // the name Ray reads now, at the value the config wrote
        Assert.DoesNotContain("target_num_ongoing_requests_per_replica", exported.Out, StringComparison.Ordinal);
        Assert.Contains("metrics_interval_s: 10", exported.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("max_ongoing_requests", exported.Out, StringComparison.Ordinal);
        Assert.True(JsonNode.DeepEquals(candidate["options"], back["options"]), back["options"]!.ToJsonString());
    }
}
