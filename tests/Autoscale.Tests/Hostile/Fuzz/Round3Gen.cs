using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace Autoscale.Tests.Hostile.Fuzz;

/// <summary>
/// Generated inputs for the third hostile round's paths: serving and cluster configs (every option of
/// <c>replica.serving</c> and <c>cluster</c> from docs/options.md, in range and at its edges, now and then hostile),
/// autoscaler manifests (one or several YAML documents, annotations and quantities with hostile numbers), benchmark
/// files for <c>serving fit</c>, and changes to a valid part file for <c>merge</c>.
/// </summary>
internal static class Round3Gen
{
    private static readonly string[] HostileNumbers =
        ["NaN", "Infinity", "-Infinity", "1e400", "-1", "0", "1e308", "2147483648", "9223372036854775808", "0x10", "1_000", "", " ", "5e-324", "abc", "1e-400"];

    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    // ---- serving configs ---------------------------------------------------------------------------------------------

    /// <summary>
    /// A serving config replayed request by request or as a fluid, with one or two candidates: half of them with the
    /// profile written from docs/options.md's tables (every option of <c>replica.serving</c>, nested ones included, in
    /// range, at its edges, now and then mutated), half from everyday and hostile values chosen here.
    /// </summary>
    public static Gen<string> ServingConfig => Gen.OneOf(HandServingConfig, TableServingConfig);

    private static Gen<string> TableServingConfig =>
        from serving in ConfigGen.Section("serving")
        from engine in Gen.Elements("request", "fluid")
        from candidate in ServingCandidate
        select $$"""
            { "slo": { "maxTtftSeconds": 2, "maxTpotSeconds": 0.1 },
              "replica": { "gpus": 1, "dollarsPerGpuHour": 2.5, "serving": {{serving}} },
              "engine": { "serving": "{{engine}}", "maxReplicas": 64 },
              "candidates": [ {{candidate.Replace("NAME", "c0", StringComparison.Ordinal)}} ] }
            """;

    /// <summary>A count-model config on a cluster: half written from docs/options.md's <c>cluster</c> tables, half from values chosen here.</summary>
    public static Gen<string> ClusterConfig => Gen.OneOf(HandClusterConfig, TableClusterConfig);

    private static Gen<string> TableClusterConfig =>
        from cluster in ConfigGen.Section("cluster")
        select $$"""
            { "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 30, "gpus": 1, "dollarsPerGpuHour": 3 }, "cluster": {{cluster}},
              "candidates": [ { "name": "reactive", "policy": "reactive", "options": { "minReplicas": 1, "maxReplicas": 40 }, "loadTime": { "fixedSeconds": 20 }, "decisionIntervalSeconds": 5 } ] }
            """;

    private static Gen<string> HandServingConfig =>
        from base_ in Gen.Frequency((8, Gen.Elements("0.001", "0.005", "0.02", "0.1")), (1, Gen.Elements("60", "1e-9", "0", "-1", "61", "\"x\"")))
        from prefill in Gen.Frequency((8, Gen.Elements("0", "0.00001", "0.0001", "0.001")), (1, Gen.Elements("1", "2", "-0.1")))
        from decode in Gen.Frequency((8, Gen.Elements("0", "0.0001", "0.0004", "0.01")), (1, Gen.Elements("1", "1.5")))
        from maxSequences in Gen.Frequency((8, Gen.Elements("1", "4", "64", "256")), (1, Gen.Elements("0", "1000001", "1.5")))
        from batched in Gen.Frequency((8, Gen.Elements("16", "512", "2048", "8192")), (1, Gen.Elements("1", "0", "100000001")))
        from kv in Gen.Frequency((8, Gen.Elements("20000", "300000", "1000000")), (1, Gen.Elements("1", "16", "1e12", "0")))
        from block in Gen.Frequency((8, Gen.Elements("16", "1", "256")), (1, Gen.Elements("65536", "65537", "0")))
        from modelLen in Gen.Frequency((8, Gen.Elements("4096", "131072")), (1, Gen.Elements("1", "100000000", "100000001")))
        from routing in Gen.Frequency((8, Gen.Elements("\"least-loaded\"", "\"round-robin\"", "\"shared-queue\"")), (1, Gen.Elements("\"random\"", "1")))
        from preemption in Gen.Elements("\"recompute\"", "\"restart\"")
        from warmup in Gen.Frequency((6, Gen.Constant("")), (1, Gen.Elements(", \"warmupSeconds\": 30, \"warmupSlowdown\": 3", ", \"warmupSlowdown\": 1000", ", \"warmupSlowdown\": 0.5")))
        from input in Tokens
        from output in Tokens
        from engine in Gen.Elements("request", "request", "fluid")
        from slo in Gen.Frequency(
            (6, Gen.Elements("\"maxTtftSeconds\": 2, \"maxTpotSeconds\": 0.1", "\"maxTtftSeconds\": 0.5", "\"maxE2eSeconds\": 30", "\"maxWaitSeconds\": 2, \"clientTimeoutSeconds\": 5")),
            (1, Gen.Elements("\"maxTtftSeconds\": 0", "\"maxTpotSeconds\": 1e308", "\"targetPercent\": 101")))
        from count in Gen.Choose(1, 2)
        from candidates in Gen.ListOf(ServingCandidate, count)
        from drain in Gen.Frequency((6, Gen.Constant("")), (1, Gen.Elements(", \"drainSeconds\": 0", ", \"drainSeconds\": 5", ", \"maxRequests\": 10")))
        select $$"""
            { "slo": { {{slo}} },
              "replica": { "gpus": 1, "dollarsPerGpuHour": 2.5,
                "serving": { "stepSeconds": { "base": {{base_}}, "perPrefillToken": {{prefill}}, "perDecodeToken": {{decode}} },
                  "maxSequences": {{maxSequences}}, "maxBatchedTokens": {{batched}}, "kvCacheTokens": {{kv}}, "blockTokens": {{block}},
                  "maxModelLen": {{modelLen}}, "routing": {{routing}}, "preemption": {{preemption}}{{warmup}},
                  "tokens": { "input": {{input}}, "output": {{output}} } } },
              "engine": { "serving": "{{engine}}", "maxReplicas": 64{{drain}} },
              "candidates": [ {{string.Join(", ", candidates.Select((c, i) => c.Replace("NAME", $"c{i}", StringComparison.Ordinal)))}} ] }
            """;

    private static Gen<string> Tokens => Gen.Frequency(
        (4, Gen.Elements("{ \"fixed\": 1 }", "{ \"fixed\": 40 }", "{ \"fixed\": 300 }")),
        (4, Gen.Elements("{ \"median\": 200, \"sigma\": 1.0 }", "{ \"median\": 50, \"sigma\": 0 }", "{ \"median\": 1, \"sigma\": 3 }")),
        (2, Gen.Elements("{ \"histogram\": [[1, 1], [500, 2]] }", "{ \"histogram\": [[10, 0], [20, 1]] }")),
        (1, Gen.Elements("{ \"fixed\": 0 }", "{ \"fixed\": 100000000 }", "{ \"histogram\": [] }", "{ \"median\": 10 }", "{ \"histogram\": [[1.5, 1]] }", "{}")));

    private static Gen<string> ServingCandidate => Gen.Elements(
        """{ "name": "NAME", "policy": "fixed", "options": { "replicas": 2 }, "loadTime": { "fixedSeconds": 20 } }""",
        """{ "name": "NAME", "policy": "fixed", "options": { "replicas": 0 }, "loadTime": { "fixedSeconds": 20 } }""",
        """{ "name": "NAME", "policy": "reactive", "options": { "minReplicas": 1, "maxReplicas": 16 }, "loadTime": { "fixedSeconds": 20 }, "decisionIntervalSeconds": 15 }""",
        """{ "name": "NAME", "policy": "reactive", "options": { "minReplicas": 0, "maxReplicas": 16, "metric": "kvCacheUtilization", "targetKvCacheUtilization": 0.7 }, "loadTime": { "fixedSeconds": 20 }, "decisionIntervalSeconds": 15 }""",
        """{ "name": "NAME", "policy": "textbook", "options": { "baseReplicas": 1, "spares": 1 }, "loadTime": { "fixedSeconds": 20 } }""",
        """{ "name": "NAME", "policy": "hpa", "options": { "minReplicas": 1, "maxReplicas": 16, "metrics": [ { "type": "Pods", "pods": { "metric": { "name": "running" }, "target": { "type": "AverageValue", "averageValue": 8 } } } ] }, "loadTime": { "fixedSeconds": 20 } }""");

    // ---- cluster configs ---------------------------------------------------------------------------------------------

    /// <summary>A count-model config on a cluster of one or two node pools, with stockouts, spot, crashes and warm nodes.</summary>
    private static Gen<string> HandClusterConfig =>
        from count in Gen.Choose(1, 2)
        from pools in Gen.ListOf(NodePool, count)
        from placement in Gen.Frequency((12, Gen.Constant("")), (1, Gen.Elements(", \"placement\": { \"onDemandBase\": 1, \"onDemandPercentAboveBase\": 30 }", ", \"placement\": { \"onDemandPercentAboveBase\": 101 }")))
        from failures in Gen.Frequency((3, Gen.Constant("")), (1, Gen.Elements(", \"replicaFailuresPerHour\": 5", ", \"replicaFailuresPerHour\": -1", ", \"onPreemption\": \"drop\"", ", \"onPreemption\": \"retry\"")))
        from gpus in Gen.Frequency((16, Gen.Elements("1", "2")), (1, Gen.Elements("0", "16")))
        from policy in Gen.Elements(
            """{ "name": "fixed", "policy": "fixed", "options": { "replicas": 6 }, "loadTime": { "fixedSeconds": 20 } }""",
            """{ "name": "reactive", "policy": "reactive", "options": { "minReplicas": 1, "maxReplicas": 40 }, "loadTime": { "fixedSeconds": 20 }, "decisionIntervalSeconds": 5 }""",
            """{ "name": "textbook", "policy": "textbook", "options": { "baseReplicas": 2, "spares": 2 }, "loadTime": { "fixedSeconds": 25 } }""")
        select $$"""
            { "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 30, "gpus": {{gpus}}, "dollarsPerGpuHour": 3 },
              "cluster": { "nodePools": [ {{string.Join(", ", pools.Select((p, i) => p.Replace("POOL", $"p{i}", StringComparison.Ordinal)))}} ]{{placement}}{{failures}} },
              "candidates": [ {{policy}} ] }
            """;

    private static Gen<string> NodePool =>
        from gpusPerNode in Gen.Frequency((16, Gen.Elements("2", "8")), (1, Gen.Elements("0", "3")))
        from price in Gen.Frequency((16, Gen.Elements("1", "9.6", "24")), (1, Gen.Elements("0", "-1", "1e308")))
        from maxNodes in Gen.Frequency((8, Gen.Constant("")), (4, Gen.Elements(", \"maxNodes\": 2", ", \"maxNodes\": 4")), (1, Gen.Elements(", \"maxNodes\": 0", ", \"maxNodes\": -1")))
        from provision in Gen.Elements("0", "30", "240")
        from spot in Gen.Frequency((3, Gen.Constant("")), (1, Gen.Elements(", \"spot\": true, \"preemptionsPerNodeHour\": 30, \"noticeSeconds\": 30", ", \"spot\": true, \"preemptionsPerNodeHour\": 3")))
        from stockouts in Gen.Frequency((3, Gen.Constant("")), (1, Gen.Elements(
            ", \"stockouts\": { \"meanSecondsBetween\": 30, \"meanSeconds\": 60, \"retrySeconds\": 1 }",
            ", \"stockouts\": { \"windows\": [ { \"from\": \"2026-01-05T00:00:00Z\", \"to\": \"2026-01-06T00:00:00Z\" } ] }",
            ", \"stockouts\": { \"windows\": [ { \"from\": \"2026-01-05T00:00:30Z\", \"to\": \"2026-01-05T00:01:00Z\" } ] }")))
        from warm in Gen.Frequency((3, Gen.Constant("")), (1, Gen.Elements(", \"warmNodes\": 1", ", \"committedNodes\": 1", ", \"emptyNodeScaleDownSeconds\": 0")))
        select $$"""{ "name": "POOL", "gpusPerNode": {{gpusPerNode}}, "dollarsPerNodeHour": {{price}}, "provisionSeconds": {{provision}}{{maxNodes}}{{spot}}{{stockouts}}{{warm}} }""";

    // ---- manifests ---------------------------------------------------------------------------------------------------

    /// <summary>A manifest file: one autoscaler, or several documents with other kinds among them; numbers now and then hostile.</summary>
    public static Gen<string> Manifest =>
        from count in Gen.Frequency((4, Gen.Constant(1)), (2, Gen.Choose(2, 4)))
        from documents in Gen.ListOf(Document, count)
        from list in Gen.Frequency((6, Gen.Constant(false)), (1, Gen.Constant(true)))
        select list && count > 1
            ? "apiVersion: v1\nkind: List\nitems:\n" + string.Join("", documents.Select(d => "  - " + d.TrimEnd().Replace("\n", "\n    ", StringComparison.Ordinal) + "\n"))
            : string.Join("---\n", documents);

    private static Gen<string> Number(params string[] everyday) =>
        Gen.Frequency((8, Gen.Elements(everyday)), (1, Gen.Elements(HostileNumbers.Select(h => $"\"{h}\"").ToArray())));

    private static Gen<string> Document => Gen.OneOf(Hpa, Keda, Knative, RayServe, Other);

    private static Gen<string> Name => Gen.Elements("a", "b", "llm", "vllm-hpa", "x.y", "名前");

    private static Gen<string> Hpa =>
        from name in Name
        from min in Number("1", "2", "0")
        from max in Number("4", "40", "1")
        from target in Number("\"2\"", "\"500m\"", "\"1.5k\"", "8")
        from metric in Gen.Elements("inFlight", "queue", "arrivalRps", "vllm_requests", "kvCacheUtilization")
        from window in Number("0", "300", "3600")
        select $$"""
            apiVersion: autoscaling/v2
            kind: HorizontalPodAutoscaler
            metadata: { name: {{name}} }
            spec:
              minReplicas: {{min}}
              maxReplicas: {{max}}
              metrics:
                - type: Pods
                  pods: { metric: { name: {{metric}} }, target: { type: AverageValue, averageValue: {{target}} } }
              behavior: { scaleDown: { stabilizationWindowSeconds: {{window}} } }

            """;

    private static Gen<string> Keda =>
        from name in Name
        from max in Number("4", "30")
        from threshold in Number("\"2\"", "\"0.5\"", "\"70\"")
        from signal in Gen.Elements("inFlight", "queue", "kvCacheUtilization", "unknown")
        from polling in Number("15", "30")
        select $$"""
            apiVersion: keda.sh/v1alpha1
            kind: ScaledObject
            metadata: { name: {{name}} }
            spec:
              scaleTargetRef: { name: vllm }
              pollingInterval: {{polling}}
              maxReplicaCount: {{max}}
              triggers:
                - type: prometheus
                  metadata: { query: {{signal}}, threshold: {{threshold}} }

            """;

    private static Gen<string> Knative =>
        from name in Name
        from target in Number("\"70\"", "\"100\"")
        from window in Gen.Elements("\"60s\"", "\"2m\"", "\"1h\"", "\"99999999999999999999999h\"", "\"soon\"", "\"0\"")
        from max in Number("\"20\"", "\"5\"")
        select $$"""
            apiVersion: serving.knative.dev/v1
            kind: Service
            metadata: { name: {{name}} }
            spec:
              template:
                metadata:
                  annotations:
                    autoscaling.knative.dev/target-utilization-percentage: {{target}}
                    autoscaling.knative.dev/window: {{window}}
                    autoscaling.knative.dev/max-scale: {{max}}
                spec: { containerConcurrency: 8 }

            """;

    private static Gen<string> RayServe =>
        from min in Number("1", "0")
        from max in Number("8", "2")
        from target in Number("2", "0.5")
        select $$"""
            applications:
              - name: app
                import_path: app:deployment
                deployments:
                  - name: llm
                    max_ongoing_requests: 16
                    autoscaling_config: { min_replicas: {{min}}, max_replicas: {{max}}, target_ongoing_requests: {{target}} }

            """;

    private static Gen<string> Other => Gen.Elements(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: vllm }\nspec: { replicas: 2 }\n",
        "apiVersion: v1\nkind: Service\nmetadata: { name: vllm }\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { a: &a \"1\" }\n",
        "not: [a, mapping\n",
        "- just\n- a list\n");

    // ---- benchmark files -------------------------------------------------------------------------------------------

    /// <summary>A CSV for <c>serving fit</c>: a real-looking linear one, per step or per request, now and then damaged.</summary>
    public static Gen<string> Benchmark =>
        from perStep in Gen.Elements(true, false)
        from rows in Gen.Choose(0, 60)
        from noise in Gen.Elements(0.0, 0.01, 0.2)
        from seed in Gen.Choose(0, 10_000)
        from damage in Gen.Frequency((5, Gen.Constant("")), (1, Gen.Elements(HostileNumbers)))
        from header in Gen.Frequency((8, Gen.Constant("")), (1, Gen.Elements("step_ms,step_seconds", "concurrency", "\"prefill_tokens\"", "x,y")))
        select BenchmarkText(perStep, rows, noise, seed, damage, header);

    private static string BenchmarkText(bool perStep, int rows, double noise, int seed, string damage, string header)
    {
        var random = new Random(seed);
        var text = new StringBuilder(header.Length > 0 ? header + "\n" : perStep ? "prefill_tokens,decode_tokens,step_ms\n" : "concurrency,input_tokens,output_tokens,ttft_ms,itl_ms\n");
        var damaged = damage.Length > 0 ? random.Next(Math.Max(1, rows)) : -1;
        for (var i = 0; i < rows; i++)
        {
            var jitter = 1 + (noise * (random.NextDouble() - 0.5));
            if (perStep)
            {
                var (p, d) = (random.Next(0, 4096), random.Next(0, 128));
                var ms = (20 + (0.1 * p) + (0.4 * d)) * jitter;
                text.Append(Ci, $"{p},{d},{(i == damaged ? damage : ms.ToString("R", Ci))}\n");
            }
            else
            {
                var (c, input, output) = (random.Next(1, 64), random.Next(1, 4000), random.Next(1, 500));
                var ttft = (20 + (0.1 * input) + (0.4 * (c - 1))) * jitter;
                var itl = (20 + (0.1 * c * input / output) + (0.4 * c)) * jitter;
                text.Append(Ci, $"{c},{input},{output},{ttft.ToString("R", Ci)},{(i == damaged ? damage : itl.ToString("R", Ci))}\n");
            }
        }

        return text.ToString();
    }

    // ---- part files --------------------------------------------------------------------------------------------------

    /// <summary>A change to one field of a part file's first result: a field and the JSON value it gets.</summary>
    public static Gen<(string Field, string Value)> PartChange =>
        from name in Gen.Elements("requests", "served", "late", "dropped", "queuedAtEnd", "dollars", "idleDollars", "loadingDollars", "meetsSlo",
            "waitP99Seconds", "waitMaxSeconds", "worstHourViolations", "worstMinuteViolations", "peakReplicas", "endReplicas", "minutes", "breachMinutes",
            "replicaSeconds", "idleReplicaSeconds", "coldStarts", "errorBudgetBurn", "timeline", "name", "ticks", "spanSeconds")
        from value in Gen.Elements("-5", "0", "1", "99999", "1e300", "\"NaN\"", "\"Infinity\"", "null", "true", "\"x\"", "{}", "[]", "{ \"points\": [ { \"startSeconds\": -1 } ], \"bucketSeconds\": 0 }")
        select (name, value);
}
