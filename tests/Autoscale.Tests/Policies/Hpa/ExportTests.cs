using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Tests.Cli;
using Xunit;

namespace Autoscale.Tests.Policies.Hpa;

/// <summary><c>autoscale policy export</c>: the winner written back as the autoscaler's own config.</summary>
public sealed class ExportTests
{
    [Theory]
    [InlineData("hpa-vllm.yaml", "hpa", "vllm_requests_in_flight=inFlight")]
    [InlineData("keda-vllm.yaml", "keda", "in-flight=inFlight")]
    [InlineData("knative-llm.yaml", "knative", null)]
    [InlineData("ray-serve-llm.yaml", "ray-serve", null)]
    public async Task Import_then_export_gives_the_same_settings_back(string manifest, string kind, string? map)
    {
        using var dir = new TempFolder();
        string[] mapArgs = map is null ? [] : ["--metric-map", map];
        var first = await CliRunner.RunAsync(["policy", "import", Path.Combine(TestPaths.Examples, "manifests", manifest), .. mapArgs]);
        Assert.True(first.Exit == 0, first.Err);
        var candidate = JsonNode.Parse(first.Out)!.AsObject();
        candidate["name"] = "winner";
        candidate["loadTime"] = new JsonObject { ["fixedSeconds"] = 60 };
        var config = dir.Write("c.json", new JsonObject
        {
            ["slo"] = new JsonObject { ["maxWaitSeconds"] = 2 },
            ["replica"] = new JsonObject { ["capacityRps"] = 2 },
            ["candidates"] = new JsonArray(candidate),
        }.ToJsonString());

        var exported = await CliRunner.RunAsync("policy", "export", "--config", config, "--candidate", "winner", "--as", kind);
        Assert.True(exported.Exit == 0, exported.Err);
        Assert.StartsWith("# Exported by autoscale from the candidate \"winner\"", exported.Out, StringComparison.Ordinal);
        var again = await CliRunner.RunAsync(["policy", "import", dir.Write("back.yaml", exported.Out), .. mapArgs]);
        Assert.True(again.Exit == 0, again.Err + "\n" + exported.Out);

        // The same settings: every option, defaults included, as the policy binds them.
        var before = Effective(kind, candidate["options"]!);
        var after = Effective(kind, JsonNode.Parse(again.Out)!["options"]!);
        Assert.True(before == after, $"{before}\n!=\n{after}");
    }

    private static string Effective(string kind, JsonNode options)
    {
        Assert.True(Autoscale.Policies.Catalog.PolicyCatalog.CreateBuiltIn().TryGet(kind, out var descriptor));
        using var json = JsonDocument.Parse(options.ToJsonString());
        var bound = Autoscale.OptionsBinder.Bind(descriptor.OptionsType, json.RootElement, "options");
        return JsonSerializer.Serialize(bound, descriptor.OptionsType, new JsonSerializerOptions { WriteIndented = true });
    }

    [Fact]
    public async Task A_cpu_target_goes_back_out_as_a_resource_metric_with_its_mapping_noted()
    {
        using var dir = new TempFolder();
        var config = dir.Write("c.json", """
            { "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 2 },
              "candidates": [ { "name": "web", "policy": "hpa", "loadTime": { "fixedSeconds": 60 },
                "options": { "maxReplicas": 30, "metrics": [ { "type": "Resource", "resource": { "name": "cpu", "signal": "arrivalRps", "target": { "type": "Utilization", "averageUtilization": 80 } } } ] } } ] }
            """);

        var (exit, stdout, stderr) = await CliRunner.RunAsync("policy", "export", "--config", config, "--candidate", "web", "--as", "hpa");

        Assert.True(exit == 0, stderr);
        Assert.Contains("averageUtilization: 80", stdout, StringComparison.Ordinal);
        Assert.Contains("# the replay read cpu from its stand-in arrivalRps", stdout, StringComparison.Ordinal);
        var back = await CliRunner.RunAsync("policy", "import", dir.Write("back.yaml", stdout), "--metric-map", "cpu=arrivalRps");
        Assert.True(back.Exit == 0, back.Err);
        Assert.Contains("\"signal\": \"arrivalRps\"", back.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_object_metric_goes_in_and_out_with_its_described_object()
    {
        using var dir = new TempFolder();
        var manifest = dir.Write("ingress.yaml", "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec:\n  minReplicas: 0\n  maxReplicas: 30\n  metrics:\n  - type: Object\n    object:\n      describedObject: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: main}\n      metric: {name: requests-per-second}\n      target: {type: AverageValue, averageValue: 2k}\n");
        var imported = await CliRunner.RunAsync("policy", "import", manifest, "--metric-map", "requests-per-second=arrivalRps");
        Assert.True(imported.Exit == 0, imported.Err);
        var candidate = JsonNode.Parse(imported.Out)!.AsObject();
        Assert.Equal(2000, candidate["options"]!["metrics"]![0]!["object"]!["target"]!["averageValue"]!.GetValue<double>());
        candidate["loadTime"] = new JsonObject { ["fixedSeconds"] = 60 };
        var config = dir.Write("c.json", new JsonObject { ["slo"] = new JsonObject { ["maxWaitSeconds"] = 2 }, ["replica"] = new JsonObject { ["capacityRps"] = 2 }, ["candidates"] = new JsonArray(candidate) }.ToJsonString());

        var (exit, stdout, stderr) = await CliRunner.RunAsync("policy", "export", "--config", config, "--candidate", "web", "--as", "hpa");

        Assert.True(exit == 0, stderr);
        Assert.Contains("type: Object", stdout, StringComparison.Ordinal);
        Assert.Contains("kind: Ingress", stdout, StringComparison.Ordinal);
        Assert.Contains("minReplicas: 0", stdout, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Out, string Err)> Export(string candidate, string kind) =>
        await CliRunner.RunAsync("policy", "export", "--config", Path.Combine(TestPaths.Examples, "what-you-run-today.json"), "--candidate", candidate, "--as", kind);

    [Fact]
    public async Task A_warm_floor_becomes_an_hpa_with_its_floor_as_min_replicas()
    {
        var (exit, stdout, stderr) = await Export("warm-floor 90s", "hpa");

        Assert.True(exit == 0, stderr);
        Assert.Contains("minReplicas: 4", stdout, StringComparison.Ordinal);
        Assert.Contains("name: arrivalRps", stdout, StringComparison.Ordinal);
        Assert.Contains("averageValue: \"1.4\"", stdout, StringComparison.Ordinal); // 2 req/s capacity x 0.7
        Assert.Contains("# the target is 1.4 requests per second per replica", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_scheduled_floor_becomes_keda_cron_triggers()
    {
        var (exit, stdout, stderr) = await Export("scheduled-floor 90s", "keda");

        Assert.True(exit == 0, stderr);
        Assert.Contains("type: cron", stdout, StringComparison.Ordinal);
        Assert.Contains("timezone: America/Los_Angeles", stdout, StringComparison.Ordinal);
        Assert.Contains("start: \"0 8 * * 1,2,3,4,5\"", stdout, StringComparison.Ordinal);
        Assert.Contains("end: \"0 20 * * 1,2,3,4,5\"", stdout, StringComparison.Ordinal);
        Assert.Contains("desiredReplicas: \"4\"", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_predictive_policy_becomes_a_scaled_object_on_the_autoscale_scaler()
    {
        var (exit, stdout, stderr) = await Export("predictive 90s", "keda");

        Assert.True(exit == 0, stderr);
        Assert.Contains("type: external", stdout, StringComparison.Ordinal);
        Assert.Contains("scalerAddress: \"autoscale-keda-scaler:6000\"", stdout, StringComparison.Ordinal);
        Assert.Contains("# predictive decides itself", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("predictive 90s", "hpa", "--as: a predictive candidate has no hpa form: its forecast needs --as keda")]
    [InlineData("nope", "hpa", "no candidate named \"nope\"")]
    public async Task What_cannot_be_exported_is_one_error_line(string candidate, string kind, string expected)
    {
        var (exit, stdout, stderr) = await Export(candidate, kind);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task An_unknown_kind_is_refused()
    {
        var (exit, _, stderr) = await Export("warm-floor 90s", "cloudrun");

        Assert.Equal(2, exit);
        Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
    }
}
