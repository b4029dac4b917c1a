using Autoscale.Backtesting.Engine;
using Autoscale.Config;
using Autoscale.Policies.Catalog;
using Autoscale.Traces;
using Xunit;

namespace Autoscale.Tests.Serving;

/// <summary>
/// A fluid replay of eight overloaded days of ServeGen (132 million requests, most of them late): the queue waits are
/// fractional shares of requests summed over a hundred million, where the buckets' sum and the running total part by
/// more than a millionth of a request. The longest wait is a bucket's edge, never infinity (it once was, and the result
/// failed its own check: "a result that cannot be true").
/// </summary>
public sealed class FluidOverloadTests
{
    [Fact]
    public async Task An_overloaded_week_has_finite_waits()
    {
        const string Config = """
            {
              "slo": { "maxTtftSeconds": 2, "maxTpotSeconds": 0.1, "targetPercent": 99.0 },
              "replica": { "dollarsPerGpuHour": 3.0,
                "serving": { "hardware": { "model": "Qwen/Qwen2.5-32B-Instruct", "gpu": "L40S", "tensorParallel": 2 },
                             "maxSequences": 128, "maxBatchedTokens": 2048, "routing": "least-loaded" } },
              "engine": { "maxReplicas": 200, "serving": "fluid" },
              "candidates": [ { "name": "hpa", "policy": "hpa", "loadTime": { "fixedSeconds": 90 },
                "options": { "minReplicas": 2, "maxReplicas": 40,
                  "metrics": [ { "type": "Pods", "pods": { "metric": { "name": "inFlight" }, "target": { "type": "AverageValue", "averageValue": 2 } } } ] } } ]
            }
            """;
        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadAsync(Config, "overload.json");
        await using var reader = await TraceReader.OpenAsync(Path.Combine(TestPaths.Traces, "servegen-m-large-14d.parquet"), plan.Settings.Tick);
        var workload = await Autoscale.Backtesting.Serving.ServingWorkload.ReadAsync(reader, plan.Settings.Serving!, plan.Settings.Seed, "servegen");
        var week = workload.Window(4 * 86_400, 12 * 86_400);

        var result = Backtest.RunServing(week, plan.Settings, plan.Candidates)[0];

        Assert.Null(result.Error);
        Assert.Equal(132_229_259, result.Requests);
        Assert.True(result.ViolationPercent > 50, $"{result.ViolationPercent} % late: the week should be overloaded");
        Assert.True(double.IsFinite(result.WaitMaxSeconds) && result.WaitMaxSeconds >= result.WaitP99Seconds, $"longest wait {result.WaitMaxSeconds} s, p99 {result.WaitP99Seconds} s");
    }
}
