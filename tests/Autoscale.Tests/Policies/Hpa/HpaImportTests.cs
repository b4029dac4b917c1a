using System.Text.Json;
using Autoscale.Config;
using Autoscale.Policies.Catalog;
using Autoscale.Tests.Cli;
using Xunit;

namespace Autoscale.Tests.Policies.Hpa;

/// <summary><c>autoscale policy import</c> and a candidate's <c>policyFrom</c>: an HPA manifest in, the hpa candidate out.</summary>
public sealed class HpaImportTests
{
    private static readonly string Manifest = Path.Combine(TestPaths.Examples, "manifests", "hpa-vllm.yaml");

    [Fact]
    public async Task A_manifest_becomes_the_candidate_with_its_settings()
    {
        var (exit, stdout, stderr) = await CliRunner.RunAsync("policy", "import", Manifest, "--metric-map", "vllm_requests_in_flight=inFlight");

        Assert.True(exit == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal("llm-hpa", root.GetProperty("name").GetString());
        Assert.Equal("hpa", root.GetProperty("policy").GetString());
        var options = root.GetProperty("options");
        Assert.Equal(2, options.GetProperty("minReplicas").GetInt32());
        Assert.Equal(40, options.GetProperty("maxReplicas").GetInt32());
        var pods = options.GetProperty("metrics")[0].GetProperty("pods");
        Assert.Equal("inFlight", pods.GetProperty("metric").GetProperty("name").GetString());
        Assert.Equal(2.0, pods.GetProperty("target").GetProperty("averageValue").GetDouble());
        var down = options.GetProperty("behavior").GetProperty("scaleDown");
        Assert.Equal(300, down.GetProperty("stabilizationWindowSeconds").GetInt32());
        Assert.Equal("Pods", down.GetProperty("policies")[0].GetProperty("type").GetString());
        Assert.Equal(60, down.GetProperty("policies")[0].GetProperty("periodSeconds").GetInt32());
    }

    [Fact]
    public async Task PolicyFrom_replays_the_manifest_as_the_imported_candidate_does()
    {
        using var dir = new TempFolder();
        var imported = await CliRunner.RunAsync("policy", "import", Manifest, "--metric-map", "vllm_requests_in_flight=inFlight");
        var candidate = JsonDocument.Parse(imported.Out).RootElement;
        var config = dir.Write("c.json", $$"""
            { "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 2, "dollarsPerGpuHour": 3 },
              "candidates": [
                { "name": "from", "policyFrom": "{{Manifest}}", "metricMap": { "vllm_requests_in_flight": "inFlight" }, "loadTime": { "fixedSeconds": 90 } },
                { "name": "pasted", "policy": "hpa", "options": {{candidate.GetProperty("options").GetRawText()}}, "loadTime": { "fixedSeconds": 90 } } ] }
            """);

        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadFileAsync(config);
        var (exit, stdout, stderr) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--format", "json");

        Assert.True(exit == 0, stderr);
        Assert.All(plan.Candidates, c => Assert.Equal(15, c.DecisionIntervalTicks));
        var rows = JsonDocument.Parse(stdout).RootElement.GetProperty("candidates").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        foreach (var field in new[] { "late", "dollars", "coldStarts", "peakReplicas", "endReplicas" })
        {
            Assert.Equal(rows["pasted"].GetProperty(field).GetRawText(), rows["from"].GetProperty(field).GetRawText());
        }
    }

    [Fact]
    public async Task A_cpu_target_is_read_from_the_signal_it_is_mapped_to()
    {
        using var dir = new TempFolder();
        var file = dir.Write("cpu.yaml", "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec:\n  maxReplicas: 30\n  metrics:\n  - type: Resource\n    resource:\n      name: cpu\n      target: {type: Utilization, averageUtilization: 80}\n");

        var (exit, stdout, stderr) = await CliRunner.RunAsync("policy", "import", file, "--metric-map", "cpu=arrivalRps");

        Assert.True(exit == 0, stderr);
        var resource = JsonDocument.Parse(stdout).RootElement.GetProperty("options").GetProperty("metrics")[0].GetProperty("resource");
        Assert.Equal("cpu", resource.GetProperty("name").GetString());
        Assert.Equal("arrivalRps", resource.GetProperty("signal").GetString());
        Assert.Equal(80, resource.GetProperty("target").GetProperty("averageUtilization").GetInt32());
    }

    [Fact]
    public async Task A_scaled_object_becomes_the_keda_candidate()
    {
        var file = Path.Combine(TestPaths.Examples, "manifests", "keda-vllm.yaml");

        var (exit, stdout, stderr) = await CliRunner.RunAsync("policy", "import", file, "--metric-map", "in-flight=inFlight");

        Assert.True(exit == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("keda", root.GetProperty("policy").GetString());
        var options = root.GetProperty("options");
        Assert.Equal(300, options.GetProperty("cooldownPeriod").GetInt32());
        Assert.Equal(30, options.GetProperty("maxReplicaCount").GetInt32());
        var trigger = options.GetProperty("triggers")[0];
        Assert.Equal("inFlight", trigger.GetProperty("signal").GetString());
        Assert.Equal("2", trigger.GetProperty("metadata").GetProperty("threshold").GetString());
        Assert.Contains("sum(vllm:num_requests_running) + sum(vllm:num_requests_waiting)", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_ray_serve_config_becomes_the_ray_serve_candidate()
    {
        var file = Path.Combine(TestPaths.Examples, "manifests", "ray-serve-llm.yaml");

        var (exit, stdout, stderr) = await CliRunner.RunAsync("policy", "import", file);

        Assert.True(exit == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("LLMServer", root.GetProperty("name").GetString());
        Assert.Equal("ray-serve", root.GetProperty("policy").GetString());
        var options = root.GetProperty("options");
        Assert.Equal(4, options.GetProperty("targetOngoingRequests").GetDouble());
        Assert.Equal(600, options.GetProperty("downscaleDelayS").GetDouble());
        Assert.Equal(8, options.GetProperty("maxOngoingRequests").GetInt32());
    }

    [Fact]
    public async Task A_knative_service_becomes_the_knative_candidate()
    {
        var file = Path.Combine(TestPaths.Examples, "manifests", "knative-llm.yaml");

        var (exit, stdout, stderr) = await CliRunner.RunAsync("policy", "import", file);

        Assert.True(exit == 0, stderr);
        var options = JsonDocument.Parse(stdout).RootElement.GetProperty("options");
        Assert.Equal(120, options.GetProperty("stableWindow").GetDouble());
        Assert.Equal(8, options.GetProperty("containerConcurrency").GetInt32());
        Assert.Equal(20, options.GetProperty("maxScale").GetDouble());
    }

    [Theory]
    [InlineData("applications:\n- name: a\n  deployments:\n  - name: A\n    autoscaling_config: {min_replicas: 1, max_replicas: 3, upscale_delay_s: -3}\n",
        "applications[0].deployments[0].autoscaling_config.upscale_delay_s: must be in [0, 86400] (was -3)")]
    [InlineData("applications:\n- name: a\n  deployments:\n  - name: A\n    autoscaling_config: {min_replicas: 1, policy: {policy_function: \"my.module:scale\"}}\n",
        "applications[0].deployments[0].autoscaling_config.policy: a custom autoscaling policy is the user's own code and cannot be replayed; remove it to replay Ray's default policy")]
    [InlineData("applications:\n- name: a\n  deployments:\n  - name: A\n    num_replicas: 2\n", "applications: holds no deployment with an autoscaling_config or num_replicas: auto")]
    public Task A_bad_ray_serve_config_is_one_error_line_naming_the_field(string yaml, string expected) => AssertRefused("serve.yaml", yaml, expected, exact: true);

    [Theory]
    [InlineData("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nspec:\n  triggers:\n  - type: prometheus\n    metadata: {query: up, threshold: '5'}\n",
        "spec.triggers[0]: the prometheus trigger's metric has no stand-in in a replay")]
    [InlineData("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nspec:\n  minReplicaCount: 9\n  maxReplicaCount: 3\n  triggers:\n  - type: prometheus\n    name: queue\n    metadata: {threshold: '5'}\n",
        "spec: minReplicaCount (9) must be <= maxReplicaCount (3)")]
    [InlineData("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nspec:\n  triggers:\n  - type: prometheus\n    name: queue\n    metadata: {threshold: lots}\n",
        "spec.triggers[0]: metadata.threshold (\"lots\") must be a positive quantity")]
    [InlineData("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nspec:\n  cooldownPeriod: -1\n  triggers:\n  - type: prometheus\n    name: queue\n    metadata: {threshold: '5'}\n",
        "spec.cooldownPeriod: must be in [0, 604800] (was -1)")]
    public Task A_bad_scaled_object_is_one_error_line_naming_the_field(string yaml, string expected) => AssertRefused("so.yaml", yaml, expected, exact: true);

    [Theory]
    [InlineData("kind: [unclosed\n  x: {", "line 2, column 4: is not YAML")]
    [InlineData("apiVersion: v1\nkind: ConfigMap\n", "kind: \"ConfigMap\" is not an autoscaler this tool reads")]
    [InlineData("apiVersion: serving.knative.dev/v1\nkind: Service\nspec:\n  template:\n    metadata:\n      annotations:\n        autoscaling.knative.dev/class: hpa.autoscaling.knative.dev\n",
        "spec.template.metadata.annotations.autoscaling.knative.dev/metric: the HPA class scales on cpu, which has no stand-in in a replay; map it with --metric-map cpu=SIGNAL")]
    [InlineData("apiVersion: serving.knative.dev/v1\nkind: Service\nspec:\n  template:\n    metadata:\n      annotations:\n        autoscaling.knative.dev/window: forever\n",
        "spec.template.metadata.annotations.autoscaling.knative.dev/window: must be a duration such as 60s")]
    [InlineData("apiVersion: serving.knative.dev/v1\nkind: Service\nspec:\n  template:\n    metadata:\n      annotations:\n        autoscaling.knative.dev/panic-threshold-percentage: \"50\"\n",
        "spec.template.metadata.annotations.autoscaling.knative.dev/panic-threshold-percentage: must be in [110, 1000] (was 50)")]
    [InlineData("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 3\n  metrics:\n  - type: Resource\n    resource:\n      name: cpu\n      target: {type: Utilization, averageUtilization: 80}\n",
        "spec.metrics[0].resource.name: the resource \"cpu\" has no stand-in in a replay; map it with --metric-map cpu=SIGNAL")]
    [InlineData("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 3\n  metrics:\n  - type: Pods\n    pods:\n      metric: {name: qps}\n      target: {type: AverageValue, averageValue: 5}\n",
        "spec.metrics[0].pods.metric.name: the metric \"qps\" has no stand-in in a replay; map it with --metric-map qps=SIGNAL")]
    [InlineData("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  minReplicas: 5\n  maxReplicas: 3\n  metrics:\n  - type: External\n    external:\n      metric: {name: queue}\n      target: {type: Value, value: 500m}\n",
        "spec: minReplicas (5) must be <= maxReplicas (3)")]
    [InlineData("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 3\n  behavior:\n    scaleUp: {selectPolicy: Sometimes}\n  metrics:\n  - type: External\n    external:\n      metric: {name: queue}\n      target: {type: Value, value: 1k}\n",
        "spec.behavior.scaleUp: selectPolicy (\"Sometimes\") must be Max, Min or Disabled")]
    [InlineData("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 3\n  behavior:\n    scaleDown: {stabilizationWindowSeconds: -60}\n  metrics:\n  - type: External\n    external:\n      metric: {name: queue}\n      target: {type: Value, value: 1k}\n",
        "spec.behavior.scaleDown.stabilizationWindowSeconds: must be in [0, 3600] (was -60)")]
    [InlineData("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 3\n  metrics:\n  - type: External\n    external:\n      metric: {name: queue}\n      target: {type: Value, value: 2x}\n",
        "spec.metrics[0].external.target.value: must be a quantity such as 20, 500m or 1.5k (was \"2x\")")]
    public Task A_bad_manifest_is_one_error_line_naming_the_field(string yaml, string expected) => AssertRefused("m.yaml", yaml, expected, exact: true);

    public static TheoryData<string, string> HostileManifests()
    {
        var bomb = new System.Text.StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (var i = 1; i < 12; i++)
        {
            bomb.Append($"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]\n");
        }

        return new()
        {
            { bomb.ToString(), "expands to more than 100,000 values (through aliases?)" },
            { "kind: " + new string('[', 100_000), "line 1: nests brackets deeper than 64 levels" },
            { string.Concat(Enumerable.Repeat("- ", 400_000)) + "x", "line 1: nests deeper than 64 levels" },
            { string.Join("\n", Enumerable.Range(0, 600).Select(i => new string(' ', 2 * i) + $"k{i}:")), "nests deeper than 64 levels" },
            { "kind: HorizontalPodAutoscaler\nkind: ScaledObject\n", "is not YAML: Duplicate key kind" },
            { new string('#', 1_100_000), "is larger than 1 MiB, the most this file may hold" },
        };
    }

    [Theory]
    [MemberData(nameof(HostileManifests))]
    public Task A_hostile_manifest_is_refused_in_one_line_without_exhausting_the_process(string yaml, string expected) => AssertRefused("hostile.yaml", yaml, expected, exact: false);

    /// <summary>The manifest is refused: exit 2, nothing on stdout, one error line naming the file (and, exactly, what follows).</summary>
    private static async Task AssertRefused(string name, string yaml, string expected, bool exact)
    {
        using var dir = new TempFolder();
        var file = dir.Write(name, yaml);

        var (exit, stdout, stderr) = await CliRunner.RunAsync("policy", "import", file);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        if (exact)
        {
            Assert.StartsWith($"error: {file}: {expected}", stderr, StringComparison.Ordinal);
        }
        else
        {
            Assert.StartsWith($"error: {file}: ", stderr, StringComparison.Ordinal);
            Assert.Contains(expected, stderr, StringComparison.Ordinal);
        }

        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Quantities_read_as_Kubernetes_writes_them()
    {
        Assert.Equal(0.5, Autoscale.Config.Manifests.ManifestImporter.Quantity("f", "p", System.Text.Json.Nodes.JsonValue.Create("500m")));
        Assert.Equal(1500, Autoscale.Config.Manifests.ManifestImporter.Quantity("f", "p", System.Text.Json.Nodes.JsonValue.Create("1.5k")));
        Assert.Equal(2 * 1024.0 * 1024 * 1024, Autoscale.Config.Manifests.ManifestImporter.Quantity("f", "p", System.Text.Json.Nodes.JsonValue.Create("2Gi")));
        Assert.Equal(20, Autoscale.Config.Manifests.ManifestImporter.Quantity("f", "p", System.Text.Json.Nodes.JsonValue.Create(20)));
    }
}
