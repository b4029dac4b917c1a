using System.Text.Json.Nodes;
using Autoscale.Tests.Hostile.Fuzz;
using Xunit;

namespace Autoscale.Tests.Policies;

/// <summary>
/// Manifests as users write them (every one written for these tests): KEDA's cron, cpu and other scalers, scaling
/// modifiers and fallback behavior; Knative's older annotation keys and its HPA class; Ray Serve configs with several
/// deployments, num_replicas auto, deprecated names, LLM configs and KubeRay's RayService; and exports a cluster
/// accepts. Each through the built command, as users run it.
/// </summary>
[Trait("Category", "Slow")]
public sealed class WildManifestTests
{
    private static string Config(TempFolder dir, string candidates) => dir.Write("c.json",
        $$"""{ "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 2 }, "candidates": [ {{candidates}} ] }""");

    [Fact]
    public async Task A_scheduled_floor_exports_as_cron_triggers_keda_accepts_and_imports_back_as_a_schedule()
    {
        using var dir = new TempFolder();
        var config = Config(dir, """
            { "name": "office", "policy": "scheduled-floor", "loadTime": { "fixedSeconds": 60 },
              "options": { "timeZone": "Europe/Berlin", "defaultMinReplicas": 1,
                "schedule": [ { "days": "Mon-Fri", "from": "08:00", "to": "18:00", "minReplicas": 5 }, { "days": "Sat", "from": "10:00", "to": "14:00", "minReplicas": 2 } ] } }
            """);

        var exported = await ManifestCli.Cli("policy", "export", "--config", config, "--candidate", "office", "--as", "keda");

        Assert.True(exported.Exit == 0, exported.Err);
        Assert.DoesNotContain("metricType: Value", exported.Out, StringComparison.Ordinal); // cron must be AverageValue, KEDA's default
        Assert.Contains("start: \"0 8 * * 1,2,3,4,5\"", exported.Out, StringComparison.Ordinal);
        var back = ManifestCli.Json(await ManifestCli.Cli("policy", "import", dir.Write("back.yaml", exported.Out)));
        var triggers = back["options"]!["triggers"]!.AsArray();
        Assert.Equal(["prometheus", "cron", "cron"], triggers.Select(t => t!["type"]!.ToString()));
        Assert.Equal("5", triggers[1]!["metadata"]!["desiredReplicas"]!.ToString());
        Assert.Equal(triggers.Count, triggers.Select(t => t!["name"]!.ToString()).Distinct().Count());
    }

    [Fact]
    public async Task A_predictive_candidate_exports_its_own_floor_and_ceiling()
    {
        using var dir = new TempFolder();
        var config = Config(dir, """{ "name": "p", "policy": "predictive", "loadTime": { "fixedSeconds": 60 }, "options": { "minReplicas": 1, "maxReplicas": 200 } }""");

        var exported = await ManifestCli.Cli("policy", "export", "--config", config, "--candidate", "p", "--as", "keda");

        Assert.True(exported.Exit == 0, exported.Err);
        Assert.Contains("minReplicaCount: 1\n", exported.Out, StringComparison.Ordinal);
        Assert.Contains("maxReplicaCount: 200\n", exported.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_metrics_on_one_signal_export_as_triggers_of_distinct_names_and_cpu_as_a_cpu_trigger()
    {
        using var dir = new TempFolder();
        var config = Config(dir, """
            { "name": "twice", "policy": "hpa", "loadTime": { "fixedSeconds": 60 }, "options": { "maxReplicas": 30, "metrics": [
                { "type": "Pods", "pods": { "metric": { "name": "inFlight" }, "target": { "type": "AverageValue", "averageValue": 4 } } },
                { "type": "External", "external": { "metric": { "name": "inFlight" }, "target": { "type": "Value", "value": 40 } } } ] } },
            { "name": "cpu", "policy": "hpa", "loadTime": { "fixedSeconds": 60 }, "options": { "maxReplicas": 30, "metrics": [
                { "type": "Resource", "resource": { "name": "cpu", "signal": "arrivalRps", "target": { "type": "Utilization", "averageUtilization": 75 } } } ] } }
            """);

        var twice = await ManifestCli.Cli("policy", "export", "--config", config, "--candidate", "twice", "--as", "keda");
        var cpu = await ManifestCli.Cli("policy", "export", "--config", config, "--candidate", "cpu", "--as", "keda");

        Assert.True(twice.Exit == 0, twice.Err);
        Assert.Contains("name: inFlight\n", twice.Out, StringComparison.Ordinal);
        Assert.Contains("name: inFlight-2\n", twice.Out, StringComparison.Ordinal);
        Assert.True(cpu.Exit == 0, cpu.Err);
        Assert.DoesNotContain("triggers: []", cpu.Out, StringComparison.Ordinal);
        Assert.Contains("type: cpu", cpu.Out, StringComparison.Ordinal);
        Assert.Contains("metricType: Utilization", cpu.Out, StringComparison.Ordinal);
        var back = ManifestCli.Json(await ManifestCli.Cli("policy", "import", dir.Write("cpu.yaml", cpu.Out), "--metric-map", "cpu=arrivalRps"));
        Assert.Equal("75", back["options"]!["triggers"]![0]!["metadata"]!["value"]!.ToString());
        Assert.Equal("arrivalRps", back["options"]!["triggers"]![0]!["signal"]!.ToString());
    }

    [Fact]
    public async Task The_reactive_policy_exports_both_of_its_rate_limits()
    {
        using var dir = new TempFolder();
        var config = Config(dir, """{ "name": "r", "policy": "reactive", "loadTime": { "fixedSeconds": 60 } }""");

        var exported = await ManifestCli.Cli("policy", "export", "--config", config, "--candidate", "r", "--as", "hpa");

        Assert.True(exported.Exit == 0, exported.Err);
        var up = exported.Out[exported.Out.IndexOf("scaleUp:", StringComparison.Ordinal)..exported.Out.IndexOf("scaleDown:", StringComparison.Ordinal)];
        Assert.Contains("selectPolicy: Max", up, StringComparison.Ordinal);
        Assert.Contains("- type: Percent\n        value: 100", up, StringComparison.Ordinal);
        Assert.Contains("- type: Pods\n        value: 4", up, StringComparison.Ordinal); // the "larger of" +4 replicas
    }

    private const string Keda = """
        apiVersion: keda.sh/v1alpha1
        kind: ScaledObject
        metadata: { name: llm }
        spec:
          scaleTargetRef: { name: vllm }
          minReplicaCount: 1
          maxReplicaCount: 20
          fallback: { failureThreshold: 3, replicas: 2, behavior: currentReplicasIfHigher }
          advanced:
            scalingModifiers: { formula: "(waiting + running) / 2", target: "8", activationTarget: "1" }
          triggers:
            - type: prometheus
              name: waiting
              metadata: { serverAddress: "http://prom:9090", query: "sum(vllm:num_requests_waiting)", threshold: "5" }
            - type: metrics-api
              name: running
              metadata: { url: "http://api/metrics", valueLocation: "running", targetValue: "10", activationTargetValue: "2" }
            - type: kubernetes-workload
              name: pods
              metadata: { podSelector: "app=vllm", value: "3" }
            - type: cpu
              name: cpu
              metricType: Utilization
              metadata: { value: "70" }
            - type: cron
              name: night
              metadata: { timezone: Asia/Tokyo, start: "0 22 * * *", end: "0 6 * * *", desiredReplicas: "2" }
        """;

    [Fact]
    public async Task A_keda_scaled_object_with_every_kind_of_trigger_imports_and_backtests()
    {
        using var dir = new TempFolder();
        var manifest = dir.Write("llm.yaml", Keda);

        var imported = ManifestCli.Json(await ManifestCli.Cli("policy", "import", manifest, "--metric-map", "waiting=queue", "--metric-map", "running=inFlight", "--metric-map", "pods=inFlight", "--metric-map", "cpu=arrivalRps"));

        var options = imported["options"]!;
        Assert.Equal("(waiting + running) / 2", options["advanced"]!["scalingModifiers"]!["formula"]!.ToString());
        Assert.Equal("currentReplicasIfHigher", options["fallback"]!["behavior"]!.ToString());
        Assert.Equal(["queue", "inFlight", "inFlight", "arrivalRps", null], options["triggers"]!.AsArray().Select(t => t!["signal"]?.ToString()));
        Assert.Equal("Utilization", options["triggers"]![3]!["metricType"]!.ToString());

        // The imported candidate replays: a config naming the manifest with policyFrom and the same map.
        var config = Config(dir, """
            { "name": "llm", "policyFrom": "llm.yaml", "metricMap": { "waiting": "queue", "running": "inFlight", "pods": "inFlight", "cpu": "arrivalRps" }, "loadTime": { "fixedSeconds": 60 } }
            """);
        var backtest = await ManifestCli.Cli("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--format", "json");
        Assert.True(backtest.Exit == 0, backtest.Err);
    }

    [Fact]
    public async Task An_unnamed_trigger_is_mapped_by_its_type_and_index()
    {
        using var dir = new TempFolder();
        var manifest = dir.Write("m.yaml", """
            apiVersion: keda.sh/v1alpha1
            kind: ScaledObject
            metadata: { name: m }
            spec:
              scaleTargetRef: { name: web }
              triggers:
                - type: rabbitmq
                  metadata: { queueName: jobs, mode: QueueLength, value: "20" }
                - type: rabbitmq
                  metadata: { queueName: other, mode: QueueLength, value: "30" }
            """);

        var refused = await ManifestCli.Cli("policy", "import", manifest);
        var imported = ManifestCli.Json(await ManifestCli.Cli("policy", "import", manifest, "--metric-map", "rabbitmq[0]=queue", "--metric-map", "rabbitmq[1]=arrivalRps"));

        Assert.Equal(2, refused.Exit);
        Assert.Contains("\"rabbitmq[0]\"", refused.Err, StringComparison.Ordinal);
        Assert.Equal(["queue", "arrivalRps"], imported["options"]!["triggers"]!.AsArray().Select(t => t!["signal"]!.ToString()));
    }

    [Fact]
    public async Task Knative_reads_its_older_keys_the_kebab_case_one_first_and_the_retention_period()
    {
        using var dir = new TempFolder();
        var manifest = dir.Write("kn.yaml", """
            apiVersion: serving.knative.dev/v1
            kind: Service
            metadata: { name: kn }
            spec:
              template:
                metadata:
                  annotations:
                    autoscaling.knative.dev/min-scale: "3"
                    autoscaling.knative.dev/minScale: "2"
                    autoscaling.knative.dev/targetUtilizationPercentage: "80"
                    autoscaling.knative.dev/initialScale: "4"
                    autoscaling.knative.dev/panicWindowPercentage: "20"
                    autoscaling.knative.dev/panicThresholdPercentage: "300"
                    autoscaling.knative.dev/scaleDownDelay: "2m"
                    autoscaling.knative.dev/targetBurstCapacity: "50"
                    autoscaling.knative.dev/scaleToZeroPodRetentionPeriod: "1m5s"
                    autoscaling.knative.dev/metricAggregationAlgorithm: linear
                spec: { containerConcurrency: 10 }
            """);

        var run = await ManifestCli.Cli("policy", "import", manifest);
        var options = ManifestCli.Json(run)["options"]!;

        Assert.Equal(3, options["minScale"]!.GetValue<double>());
        Assert.Equal(80, options["targetUtilizationPercentage"]!.GetValue<double>());
        Assert.Equal(4, options["initialScale"]!.GetValue<double>());
        Assert.Equal(120, options["scaleDownDelay"]!.GetValue<double>());
        Assert.Equal(65, options["scaleToZeroPodRetentionPeriod"]!.GetValue<double>());
        Assert.Contains("minScale is not read: autoscaling.knative.dev/min-scale is given too", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Knative_weighted_exponential_averaging_is_imported_replayed_and_exported_back()
    {
        using var dir = new TempFolder();
        var manifest = dir.Write("kn.yaml", """
            apiVersion: serving.knative.dev/v1
            kind: Service
            metadata: { name: kn, namespace: serving }
            spec:
              template:
                metadata:
                  annotations:
                    autoscaling.knative.dev/metricAggregationAlgorithm: weightedExponential
                    autoscaling.knative.dev/window: "40s"
                spec: { containerConcurrency: 10 }
            """);

        var run = await ManifestCli.Cli("policy", "import", manifest);
        var candidate = ManifestCli.Json(run);
        Assert.Equal("weightedExponential", candidate["options"]!["metricAggregationAlgorithm"]!.ToString());
        Assert.DoesNotContain("replayed as linear", run.Err, StringComparison.Ordinal);

        candidate["loadTime"] = new JsonObject { ["fixedSeconds"] = 60 };
        var config = Config(dir, candidate.ToJsonString() + """, { "name": "linear", "policy": "knative", "loadTime": { "fixedSeconds": 60 }, "options": { "containerConcurrency": 10, "stableWindow": 40 } }""");
        var exported = await ManifestCli.Cli("policy", "export", "--config", config, "--candidate", "kn", "--as", "knative");
        Assert.True(exported.Exit == 0, exported.Err);
        Assert.Contains("autoscaling.knative.dev/metricAggregationAlgorithm: weightedExponential", exported.Out, StringComparison.Ordinal); // the key the Service wrote
        Assert.Contains("namespace: serving", exported.Out, StringComparison.Ordinal);
        var back = ManifestCli.Json(await ManifestCli.Cli("policy", "import", dir.Write("back.yaml", exported.Out)));
        Assert.Equal("weightedExponential", back["options"]!["metricAggregationAlgorithm"]!.ToString());

        // Knative's validateAlgorithm takes three spellings exactly; another casing is refused, naming the annotation.
        var refused = await ManifestCli.Cli("policy", "import", dir.Write("bad.yaml", File.ReadAllText(manifest).Replace("weightedExponential", "WeightedExponential", StringComparison.Ordinal)));
        Assert.Equal(2, refused.Exit);
        Assert.Contains("autoscaling.knative.dev/metricAggregationAlgorithm", refused.Err, StringComparison.Ordinal);
        Assert.Contains("must be linear, weighted-exponential or weightedExponential", refused.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_knative_service_of_the_hpa_class_is_an_hpa_on_its_mapped_resource()
    {
        using var dir = new TempFolder();
        var manifest = dir.Write("knh.yaml", """
            apiVersion: serving.knative.dev/v1
            kind: Service
            metadata: { name: knh }
            spec:
              template:
                metadata:
                  annotations:
                    autoscaling.knative.dev/class: hpa.autoscaling.knative.dev
                    autoscaling.knative.dev/metric: memory
                    autoscaling.knative.dev/target: "65"
                    autoscaling.knative.dev/maxScale: "12"
            """);

        var candidate = ManifestCli.Json(await ManifestCli.Cli("policy", "import", manifest, "--metric-map", "memory=inFlight"));

        Assert.Equal("hpa", candidate["policy"]!.ToString());
        Assert.Equal(12, candidate["options"]!["maxReplicas"]!.GetValue<double>());
        var resource = candidate["options"]!["metrics"]![0]!["resource"]!;
        Assert.Equal(("memory", "inFlight", 65), (resource["name"]!.ToString(), resource["signal"]!.ToString(), resource["target"]!["averageUtilization"]!.GetValue<int>()));
    }

    private const string Ray = """
        applications:
          - name: chat
            import_path: app:build
            route_prefix: /chat
            deployments:
              - name: Router
                num_replicas: auto
                max_concurrent_queries: 1000
              - name: Model
                max_ongoing_requests: 8
                autoscaling_config:
                  min_replicas: 1
                  max_replicas: 10
                  target_num_ongoing_requests_per_replica: 3
                  aggregation_function: max
                  policy: { policy_function: "ray.serve.autoscaling_policy:default_autoscaling_policy" }
          - name: llm
            import_path: ray.serve.llm:build_openai_app
            args:
              llm_configs:
                - model_loading_config: { model_id: qwen-7b }
                  deployment_config:
                    autoscaling_config: { min_replicas: 1, max_replicas: 4, target_ongoing_requests: 16 }
        """;

    [Fact]
    public async Task A_ray_serve_config_gives_a_candidate_per_autoscaled_deployment_with_ray_semantics()
    {
        using var dir = new TempFolder();
        var manifest = dir.Write("serve.yaml", Ray);

        var all = await ManifestCli.Cli("policy", "import", manifest);
        var model = ManifestCli.Json(await ManifestCli.Cli("policy", "import", manifest, "--deployment", "chat/Model"));
        var unknown = await ManifestCli.Cli("policy", "import", manifest, "--deployment", "Nope");

        var candidates = ManifestCli.Json(all)["candidates"]!.AsArray();
        Assert.Equal(["chat/Router", "chat/Model", "llm/qwen-7b"], candidates.Select(c => c!["name"]!.ToString()));
        var router = candidates[0]!["options"]!;
        Assert.Equal((1, 100, 2, 1000), (router["minReplicas"]!.GetValue<int>(), router["maxReplicas"]!.GetValue<int>(), router["targetOngoingRequests"]!.GetValue<int>(), router["maxOngoingRequests"]!.GetValue<int>()));
        Assert.Contains("max_concurrent_queries is deprecated (Ray reads it as max_ongoing_requests)", all.Err, StringComparison.Ordinal);
        Assert.Equal(3, model["options"]!["targetOngoingRequests"]!.GetValue<int>());
        Assert.Equal("max", model["options"]!["aggregationFunction"]!.ToString());
        Assert.Equal(16, candidates[2]!["options"]!["targetOngoingRequests"]!.GetValue<int>());
        Assert.Equal(2, unknown.Exit);
        Assert.Contains("known: chat/Router, chat/Model, llm/qwen-7b", unknown.Err, StringComparison.Ordinal);

        // A config picks one with "deployment"; without it, the file's several deployments are named.
        var config = Config(dir, """{ "name": "m", "policyFrom": "serve.yaml", "deployment": "chat/Model", "loadTime": { "fixedSeconds": 60 } }""");
        var backtest = await ManifestCli.Cli("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--format", "json");
        Assert.True(backtest.Exit == 0, backtest.Err);
        var ambiguous = Config(dir, """{ "name": "m", "policyFrom": "serve.yaml", "loadTime": { "fixedSeconds": 60 } }""");
        var refused = await ManifestCli.Cli("backtest", "--trace", TestPaths.TextbookTrace, "--config", ambiguous);
        Assert.Equal(2, refused.Exit);
        Assert.Contains("\"deployment\": \"APP/DEPLOYMENT\"", refused.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_serve_configs_max_ongoing_requests_holds_requests_at_the_router_in_a_serving_backtest()
    {
        using var dir = new TempFolder();
        dir.Write("serve.yaml", """
            applications:
              - name: chat
                import_path: app:build
                deployments:
                  - name: Model
                    max_ongoing_requests: 2
                    autoscaling_config: { min_replicas: 3, max_replicas: 3, initial_replicas: 3 }
              - name: llm
                import_path: ray.serve.llm:build_openai_app
                args:
                  llm_configs:
                    - model_loading_config: { model_id: qwen }
                      deployment_config: { autoscaling_config: { min_replicas: 1, max_replicas: 4 } }
            """);
        var config = dir.Write("serving.json", """
            {
              "slo": { "maxTtftSeconds": 2, "maxTpotSeconds": 0.1, "targetPercent": 99.0 },
              "replica": { "dollarsPerGpuHour": 3.0,
                "serving": { "hardware": { "model": "Qwen/Qwen2.5-32B-Instruct", "gpu": "L40S", "tensorParallel": 2 }, "maxSequences": 128, "maxBatchedTokens": 2048 } },
              "engine": { "serving": "request" },
              "candidates": [
                { "name": "as deployed", "policyFrom": "serve.yaml", "deployment": "chat/Model", "loadTime": { "fixedSeconds": 60 } },
                { "name": "unlimited", "policyFrom": "serve.yaml", "deployment": "chat/Model", "options": { "maxOngoingRequests": 1000 }, "loadTime": { "fixedSeconds": 60 } } ]
            }
            """);

        var run = await ManifestCli.Cli("backtest", "--trace", Path.Combine(TestPaths.Traces, "azure-llm-conv-2023.parquet"), "--config", config, "--format", "json");
        var llm = ManifestCli.Json(await ManifestCli.Cli("policy", "import", dir.File("serve.yaml"), "--deployment", "llm/qwen"));

        var results = ManifestCli.Json(run)["candidates"]!.AsArray().ToDictionary(c => c!["name"]!.ToString(), c => c!);
        double Ttft(string name) => results[name]["ttftMeanSeconds"]!.GetValue<double>();
        Assert.True(Ttft("as deployed") > 2 * Ttft("unlimited"), $"TTFT mean {Ttft("as deployed")} s at 2 a replica, {Ttft("unlimited")} s unlimited");
        Assert.Contains("max_ongoing_requests (2) limits what a Ray Serve replica takes at once: serving replays hold the rest at the router", run.Err, StringComparison.Ordinal);
        Assert.Equal(1_000_000_000, llm["options"]!["maxOngoingRequests"]!.GetValue<int>()); // Ray Serve LLM's default
    }

    [Fact]
    public async Task A_rayservice_is_read_through_its_serve_config_and_a_custom_policy_is_refused_by_name()
    {
        using var dir = new TempFolder();
        var service = dir.Write("rs.yaml", """
            apiVersion: ray.io/v1
            kind: RayService
            metadata: { name: svc }
            spec:
              serveConfigV2: |
                applications:
                  - name: app
                    import_path: x:y
                    deployments:
                      - name: D
                        autoscaling_config: { min_replicas: 0, max_replicas: 5, downscale_to_zero_delay_s: 120 }
            """);
        var custom = dir.Write("custom.yaml", """
            applications:
              - name: app
                import_path: x:y
                autoscaling_policy: { policy_function: "my.module:app_policy" }
                deployments:
                  - name: D
                    autoscaling_config: { min_replicas: 1, max_replicas: 5 }
            """);

        var read = ManifestCli.Json(await ManifestCli.Cli("policy", "import", service));
        var refused = await ManifestCli.Cli("policy", "import", custom);

        Assert.Equal(("svc", 5), (read["name"]!.ToString(), read["options"]!["maxReplicas"]!.GetValue<int>()));
        Assert.Equal(2, refused.Exit);
        Assert.Contains("applications[0].autoscaling_policy: an application-level policy (my.module:app_policy) is the user's own code and cannot be replayed", refused.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fractional_signal_with_a_percentage_target_is_warned_about()
    {
        using var dir = new TempFolder();
        var manifest = dir.Write("kv.yaml", """
            apiVersion: autoscaling/v2
            kind: HorizontalPodAutoscaler
            metadata: { name: kv }
            spec:
              scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: vllm }
              maxReplicas: 8
              metrics:
                - type: Pods
                  pods: { metric: { name: vllm_gpu_cache_usage_perc }, target: { type: AverageValue, averageValue: "70" } }
            """);

        var run = await ManifestCli.Cli("policy", "import", manifest, "--metric-map", "vllm_gpu_cache_usage_perc=kvCacheUtilization");

        Assert.Equal(0, run.Exit);
        Assert.Contains("spec.metrics[0]: the target 70 per replica is mapped to kvCacheUtilization, a fraction from 0 to 1, so it is never reached (a percentage? write 0.7)", run.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hpa-vllm.yaml", "hpa", "vllm_requests_in_flight=inFlight", null)]
    [InlineData("keda-vllm.yaml", "keda", "in-flight=inFlight", null)]
    [InlineData("knative-llm.yaml", "knative", null, null)]
    [InlineData("ray-serve-llm.yaml", "ray-serve", null, null)]
    [InlineData("deployment-hpa-keda.yaml", "keda", null, "vllm-keda")]
    public async Task Import_edit_export_import_keeps_identity_and_carries_the_new_setting(string manifest, string kind, string? map, string? document)
    {
        using var dir = new TempFolder();
        var source = Path.Combine(TestPaths.Examples, "manifests", manifest);
        string[] extra = [.. map is null ? [] : new[] { "--metric-map", map }, .. document is null ? [] : new[] { "--document", document }];
        var candidate = ManifestCli.Json(await ManifestCli.Cli(["policy", "import", source, .. extra]));
        Assert.Equal(source, candidate["policyFrom"]!.ToString());

        // The tuned setting: a new ceiling, under the manifest's own name for it.
        var ceiling = kind switch { "hpa" => "maxReplicas", "keda" => "maxReplicaCount", "knative" => "maxScale", _ => "maxReplicas" };
        candidate["options"]![ceiling] = 37;
        candidate["name"] = "tuned";
        candidate["loadTime"] = new JsonObject { ["fixedSeconds"] = 60 };
        var config = dir.Write("c.json", new JsonObject
        {
            ["slo"] = new JsonObject { ["maxWaitSeconds"] = 2 },
            ["replica"] = new JsonObject { ["capacityRps"] = 2 },
            ["candidates"] = new JsonArray(candidate),
        }.ToJsonString());

        var exported = await ManifestCli.Cli("policy", "export", "--config", config, "--candidate", "tuned", "--as", kind);
        Assert.True(exported.Exit == 0, exported.Err);
        Assert.Contains("# Edited from " + manifest, exported.Out, StringComparison.Ordinal);

        // Identity: every field of the source but the autoscaling settings is as it was.
        var before = Autoscale.Config.Manifests.ManifestImporter.SourceDocument(source, File.ReadAllText(source), document);
        var after = Autoscale.Config.Manifests.YamlTree.Read("out.yaml", exported.Out)!.AsObject();
        foreach (var path in new[] { "apiVersion", "kind", "metadata", "spec.scaleTargetRef" })
        {
            Assert.Equal(At(before, path)?.ToJsonString(), At(after, path)?.ToJsonString());
        }

        if (kind == "hpa")
        {
            Assert.Equal(At(before, "spec.metrics")!.AsArray().Select(m => m!["pods"]?["metric"]?.ToJsonString()), At(after, "spec.metrics")!.AsArray().Select(m => m!["pods"]?["metric"]?.ToJsonString()));
        }

        if (kind == "keda")
        {
            Assert.Equal(At(before, "spec.triggers")!.AsArray().Select(t => t!["name"]?.ToString() + t["metadata"]!["query"]), At(after, "spec.triggers")!.AsArray().Select(t => t!["name"]?.ToString() + t["metadata"]!["query"]));
        }

        if (kind == "ray-serve")
        {
            Assert.Equal(At(before, "applications")!.AsArray().Select(a => a!["import_path"]?.ToString() + a["route_prefix"] + a["name"]), At(after, "applications")!.AsArray().Select(a => a!["import_path"]?.ToString() + a["route_prefix"] + a["name"]));
        }

        // And the new setting comes back in.
        var back = ManifestCli.Json(await ManifestCli.Cli(["policy", "import", dir.Write("back.yaml", exported.Out), .. map is null ? [] : new[] { "--metric-map", map }]));
        Assert.Equal(37, back["options"]![ceiling]!.GetValue<double>());
    }

    private static JsonNode? At(JsonNode root, string path) =>
        path.Split('.').Aggregate((JsonNode?)root, (node, key) => node?[key]);
}
