using System.Text.Json.Nodes;
using Autoscale.Backtesting.Engine;
using Autoscale.Config;
using Autoscale.Policies.Catalog;
using Autoscale.Tests.Cli;
using Xunit;

namespace Autoscale.Tests.Backtesting;

/// <summary>Replica shapes with a load path and a serving profile of their own.</summary>
public sealed class ReplicaShapeTests
{
    [Fact]
    public async Task A_candidate_without_a_load_time_takes_its_shapes()
    {
        var config = """
            { "slo": { "maxWaitSeconds": 2, "targetPercent": 99.0 },
              "replica": { "capacityRps": 30, "gpus": 1, "dollarsPerGpuHour": 3.0 },
              "replicas": { "fast": { "gpus": 1, "loadTime": { "fixedSeconds": 5 } }, "slow": { "gpus": 1, "loadTime": { "fixedSeconds": 300 } } },
              "candidates": [
                { "name": "fast", "policy": "textbook", "options": { "baseReplicas": 2, "spares": 0 }, "replica": "fast" },
                { "name": "slow", "policy": "textbook", "options": { "baseReplicas": 2, "spares": 0 }, "replica": "slow" },
                { "name": "own", "policy": "textbook", "options": { "baseReplicas": 2, "spares": 0 }, "replica": "slow", "loadTime": { "fixedSeconds": 5 } },
                { "name": "swept", "policy": "textbook", "options": { "baseReplicas": 2, "spares": 0 }, "sweep": { "replica": [ "fast", "slow" ] } } ] }
            """;
        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadAsync(config, "shapes.json");
        double Seconds(string name) => plan.Candidates.Single(c => c.Name == name).LoadTime.ExpectedLoadTime.TotalSeconds;
        Assert.Equal(5, Seconds("fast"));
        Assert.Equal(300, Seconds("slow"));
        Assert.Equal(5, Seconds("own"));
        Assert.Equal(5, Seconds("swept replica=fast"));
        Assert.Equal(300, Seconds("swept replica=slow"));

        var trace = await Autoscale.Traces.ParquetTrace.ReadAsync(TestPaths.TextbookTrace, NodaTime.Duration.FromSeconds(1));
        var results = Autoscale.Backtesting.Engine.Backtest.Run(trace, plan.Settings, plan.Candidates);
        Assert.True(results.Single(r => r.Name == "slow").Violations > results.Single(r => r.Name == "fast").Violations);
    }

    [Fact]
    public async Task A_shape_with_its_own_serving_profile_is_replayed_with_it()
    {
        var config = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(TestPaths.Examples, "llm-serving.json")))!.AsObject();
        var profile = config["replica"]!["serving"]!.DeepClone().AsObject();
        profile.Remove("tokens");
        profile["stepSeconds"] = JsonNode.Parse("""{ "base": 0.04, "perPrefillToken": 0.0002, "perDecodeToken": 0.0008 }""");
        config["replicas"] = new JsonObject { ["slow"] = new JsonObject { ["gpus"] = 2, ["serving"] = profile } };
        config["candidates"] = JsonNode.Parse("""
            [ { "name": "fixed 3", "policy": "fixed", "options": { "replicas": 3 }, "loadTime": { "fixedSeconds": 90 } },
              { "name": "fixed 3 slow", "policy": "fixed", "options": { "replicas": 3 }, "loadTime": { "fixedSeconds": 90 }, "replica": "slow" } ]
            """);
        using var dir = new TempFolder();
        var path = dir.Write("shapes.json", config.ToJsonString());
        var (exit, stdout, stderr) = await CliRunner.RunAsync("backtest", "--trace", Path.Combine(TestPaths.Traces, "azure-llm-conv-2023.parquet"), "--config", path, "--format", "json");
        Assert.True(exit == 0, stderr);
        var results = JsonNode.Parse(stdout)!["candidates"]!.AsArray();
        var fast = results.Single(r => (string)r!["name"]! == "fixed 3")!;
        var slow = results.Single(r => (string)r!["name"]! == "fixed 3 slow")!;
        Assert.True((double)slow["ttftP99Seconds"]! > 2 * (double)fast["ttftP99Seconds"]!, $"{slow["ttftP99Seconds"]} against {fast["ttftP99Seconds"]}");
        Assert.True((double)slow["nominalCapacityRps"]! < (double)fast["nominalCapacityRps"]!);
    }

    [Fact]
    public async Task A_request_that_does_not_fit_a_shapes_kv_cache_is_one_error_line()
    {
        var config = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(TestPaths.Root, "tests", "Autoscale.Tests", "Serving", "golden-serving.json")))!.AsObject();
        var profile = config["replica"]!["serving"]!.DeepClone().AsObject();
        profile.Remove("tokens");
        profile["kvCacheTokens"] = 1000;
        config["replicas"] = new JsonObject { ["tiny"] = new JsonObject { ["gpus"] = 1, ["serving"] = profile } };
        config["candidates"] = JsonNode.Parse("""[ { "name": "fixed 3 tiny", "policy": "fixed", "options": { "replicas": 3 }, "loadTime": { "fixedSeconds": 90 }, "replica": "tiny" } ]""");
        using var dir = new TempFolder();
        var path = dir.Write("shapes.json", config.ToJsonString());
        var trace = Path.Combine(TestPaths.Traces, "azure-llm-conv-2023.parquet");
        var (exit, stdout, stderr) = await CliRunner.RunAsync("backtest", "--trace", trace, "--config", path);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Equal($"error: {trace}: request 7 (at 2023-11-16T18:15:54.426Z) needs 91 KV blocks of 16 tokens (1313 input + 142 output), more than replicas.tiny.serving.kvCacheTokens holds (62 blocks)\n", stderr);
    }
}
