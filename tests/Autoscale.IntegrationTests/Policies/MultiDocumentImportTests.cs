using System.Text.Json;
using Autoscale.Tests.Hostile.Fuzz;

namespace Autoscale.Tests.Policies;

/// <summary>
/// Manifest files as repositories hold them: several YAML documents (a workload, its Service, its autoscalers) or a
/// <c>kind: List</c>. Each autoscaler becomes a candidate named by its <c>metadata.name</c>, the rest are named in one
/// note, <c>--document</c> (or <c>"document"</c> beside <c>policyFrom</c>) picks one; run through the built command.
/// </summary>
[Trait("Category", "Slow")]
public sealed class MultiDocumentImportTests
{
    // Written for these tests: a model deployment custom resource, then the HPA and the ScaledObject that scale it.
    private const string Graph = """
        apiVersion: example.dev/v1alpha1
        kind: ModelGraphDeployment
        metadata:
          name: llama-graph
        spec:
          services:
            decode: { replicas: 2 }
        ---
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata:
          name: decode-hpa
        spec:
          scaleTargetRef: { apiVersion: example.dev/v1alpha1, kind: ModelGraphDeployment, name: llama-graph }
          minReplicas: 1
          maxReplicas: 12
          metrics:
            - type: Pods
              pods:
                metric: { name: inFlight }
                target: { type: AverageValue, averageValue: "8" }
        ---
        apiVersion: keda.sh/v1alpha1
        kind: ScaledObject
        metadata:
          name: prefill-keda
        spec:
          scaleTargetRef: { name: prefill }
          minReplicaCount: 1
          maxReplicaCount: 6
          triggers:
            - type: prometheus
              metadata: { query: queue, threshold: "4" }
        """;

    private static async Task<FuzzRun> Import(string yaml, params string[] more)
    {
        using var dir = new TempFolder();
        return await FuzzCli.RunAsync(["policy", "import", dir.Write("m.yaml", yaml), .. more]);
    }

    [Fact]
    public async Task Every_autoscaler_of_a_file_becomes_a_candidate_and_the_rest_are_named()
    {
        var run = await Import(Graph);

        Assert.True(run.Exit == 0, run.Err);
        using var json = JsonDocument.Parse(run.Out);
        var candidates = json.RootElement.GetProperty("candidates").EnumerateArray().ToList();
        Assert.Equal(["decode-hpa", "prefill-keda"], candidates.Select(c => c.GetProperty("name").GetString()));
        Assert.Equal(["hpa", "keda"], candidates.Select(c => c.GetProperty("policy").GetString()));
        Assert.Equal(12, candidates[0].GetProperty("options").GetProperty("maxReplicas").GetInt32());
        Assert.Contains("left out 1 document that is not an autoscaler: ModelGraphDeployment llama-graph", run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("error", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Document_picks_one_and_prints_it_as_the_single_candidate()
    {
        var run = await Import(Graph, "--document", "prefill-keda");

        Assert.True(run.Exit == 0, run.Err);
        using var json = JsonDocument.Parse(run.Out);
        Assert.Equal("prefill-keda", json.RootElement.GetProperty("name").GetString());
        Assert.Equal("keda", json.RootElement.GetProperty("policy").GetString());
    }

    [Fact]
    public async Task A_document_that_is_not_there_is_named_with_those_that_are()
    {
        var run = await Import(Graph, "--document", "nope");

        Assert.False(FuzzCli.Judge(run, "nope"));
        Assert.EndsWith("holds no autoscaler named \"nope\" (autoscalers: HorizontalPodAutoscaler decode-hpa, ScaledObject prefill-keda)\n", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deployment_then_an_hpa_imports_the_hpa()
    {
        var yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: vllm\n---\n" + string.Join('\n', Graph.Split("---\n")[1].Split('\n'));

        var run = await Import(yaml);

        Assert.True(run.Exit == 0, run.Err);
        using var json = JsonDocument.Parse(run.Out);
        Assert.Equal("decode-hpa", json.RootElement.GetProperty("name").GetString());
        Assert.Contains("Deployment vllm", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_list_of_items_reads_as_documents_and_two_of_one_name_are_told_apart()
    {
        const string list = """
            apiVersion: v1
            kind: List
            items:
              - apiVersion: autoscaling/v2
                kind: HorizontalPodAutoscaler
                metadata: { name: web }
                spec: { maxReplicas: 4, metrics: [ { type: Pods, pods: { metric: { name: queue }, target: { type: AverageValue, averageValue: "3" } } } ] }
              - apiVersion: keda.sh/v1alpha1
                kind: ScaledObject
                metadata: { name: web }
                spec: { scaleTargetRef: { name: web }, maxReplicaCount: 5, triggers: [ { type: prometheus, metadata: { query: arrivalRps, threshold: "10" } } ] }
            """;

        var run = await Import(list);

        Assert.True(run.Exit == 0, run.Err);
        using var json = JsonDocument.Parse(run.Out);
        Assert.Equal(["web (hpa)", "web (keda)"], json.RootElement.GetProperty("candidates").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task A_problem_in_the_second_document_names_it()
    {
        var run = await Import(Graph.Replace("maxReplicas: 12", "maxReplicas: -3", StringComparison.Ordinal));

        Assert.False(FuzzCli.Judge(run, "bad"));
        Assert.Contains(": documents[1] (decode-hpa).spec.maxReplicas: ", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_alias_to_another_documents_anchor_is_placed_at_the_alias()
    {
        var run = await Import("a: &x 1\n---\nb:\n  c: *x\n");

        Assert.False(FuzzCli.Judge(run, "alias"));
        Assert.Contains(": line 4, column 6: is not YAML: the alias *x has no anchor &x before it in its own document", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_config_takes_one_document_of_a_file_by_name()
    {
        using var dir = new TempFolder();
        dir.Write("graph.yaml", Graph);
        string Config(string document) =>
            $$"""{ "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 30 }, "candidates": [ { "name": "mine", "policyFrom": "graph.yaml"{{document}}, "loadTime": { "fixedSeconds": 30 } } ] }""";

        var picked = await FuzzCli.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", dir.Write("ok.json", Config(", \"document\": \"decode-hpa\"")), "--format", "json");
        Assert.True(FuzzCli.Judge(picked, "document"), picked.Err);
        using (var json = JsonDocument.Parse(picked.Out))
        {
            Assert.Equal("hpa", json.RootElement.GetProperty("candidates")[0].GetProperty("policy").GetString());
        }

        var ambiguous = await FuzzCli.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", dir.Write("two.json", Config("")));
        Assert.False(FuzzCli.Judge(ambiguous, "two"));
        Assert.Contains("holds 2 autoscalers (decode-hpa, prefill-keda); name the one to replay with \"document\"", ambiguous.Err, StringComparison.Ordinal);
    }
}
