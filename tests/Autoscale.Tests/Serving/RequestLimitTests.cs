using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Serving;
using Autoscale.Config;
using Autoscale.Policies.Catalog;
using Autoscale.Traces;
using Xunit;

namespace Autoscale.Tests.Serving;

/// <summary>
/// A replica's request limit (Ray Serve's max_ongoing_requests, Knative's containerConcurrency) in both serving replays:
/// a replica at the limit gets nothing more; the rest wait at the router, first come first served, and go to the first
/// replica with room. Fixed fleets (a Ray Serve policy with min = max replicas) on 20 minutes of the Azure conversation
/// trace, so that only the limit differs.
/// </summary>
public sealed class RequestLimitTests
{
    private static async Task<CandidateResult> Run(string routing, int maxSequences, string candidate, string engine = "request")
    {
        var config = $$"""
            {
              "slo": { "maxTtftSeconds": 2, "maxTpotSeconds": 0.1, "targetPercent": 99.0 },
              "replica": { "dollarsPerGpuHour": 3.0,
                "serving": { "hardware": { "model": "Qwen/Qwen2.5-32B-Instruct", "gpu": "L40S", "tensorParallel": 2 },
                             "maxSequences": {{maxSequences}}, "maxBatchedTokens": 2048, "routing": "{{routing}}" } },
              "engine": { "maxReplicas": 200, "serving": "{{engine}}" },
              "candidates": [ {{candidate}} ]
            }
            """;
        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadAsync(config, "limit.json");
        await using var reader = await TraceReader.OpenAsync(Path.Combine(TestPaths.Traces, "azure-llm-conv-2023.parquet"), plan.Settings.Tick);
        var workload = await ServingWorkload.ReadAsync(reader, plan.Settings.Serving!, plan.Settings.Seed, "azure");
        var result = Backtest.RunServing(workload.Window(0, 1200), plan.Settings, plan.Candidates)[0];
        Assert.Null(result.Error);
        return result;
    }

    private static string Ray(int replicas, int limit) =>
        $$"""{ "name": "ray", "policy": "ray-serve", "loadTime": { "fixedSeconds": 60 }, "options": { "minReplicas": {{replicas}}, "maxReplicas": {{replicas}}, "initialReplicas": {{replicas}}, "maxOngoingRequests": {{limit}} } }""";

    private static object[] Figures(CandidateResult r) =>
        [r.Requests, r.Served, r.Late, r.Dropped, r.Dollars, r.Serving!.TtftP99Seconds, r.Serving.TtftMeanSeconds, r.Serving.E2eP99Seconds, r.Serving.TpotMeanSeconds, r.Serving.Preemptions];

    [Fact]
    public async Task A_limit_of_one_per_replica_is_a_shared_queue_of_one_sequence_a_replica()
    {
        // Least loaded with one request a replica: each request goes to an idle replica or waits at the router for the
        // first to finish; a shared queue with maxSequences 1 admits the same requests at the same instants.
        var limited = await Run("least-loaded", 128, Ray(2, 1));
        var shared = await Run("shared-queue", 1, Ray(2, 1000));

        Assert.Equal(Figures(shared), Figures(limited));
        Assert.True(limited.Late > 0, "two one-at-a-time replicas should fall behind the conversation trace");
    }

    [Theory]
    [InlineData("least-loaded")]
    [InlineData("round-robin")]
    public async Task A_limit_no_replica_reaches_changes_nothing(string routing)
    {
        var fixedFleet = await Run(routing, 128, """{ "name": "ray", "policy": "fixed", "options": { "replicas": 3 }, "loadTime": { "fixedSeconds": 60 } }""");
        var unreached = await Run(routing, 128, Ray(3, 1_000_000));

        Assert.Equal(Figures(fixedFleet), Figures(unreached));
    }

    [Theory]
    [InlineData("least-loaded")]
    [InlineData("round-robin")]
    public async Task A_tight_limit_holds_requests_at_the_router_and_they_start_later(string routing)
    {
        var loose = await Run(routing, 128, Ray(3, 1000));
        var tight = await Run(routing, 128, Ray(3, 2));

        Assert.Equal(loose.Requests, tight.Requests);
        Assert.True(tight.Serving!.TtftMeanSeconds > 2 * loose.Serving!.TtftMeanSeconds, $"TTFT mean {tight.Serving.TtftMeanSeconds} s with 2 a replica, {loose.Serving.TtftMeanSeconds} s with 1,000");
        Assert.True(tight.Late > loose.Late);
    }

    [Fact]
    public async Task The_fluid_replay_runs_no_more_than_the_limit_a_replica()
    {
        // One pool queue is the router's: the limit caps the sequences a replica runs, as maxSequences would.
        var limited = await Run("least-loaded", 128, Ray(3, 4), "fluid");
        var fewer = await Run("least-loaded", 4, Ray(3, 1000), "fluid");
        var loose = await Run("least-loaded", 128, Ray(3, 1000), "fluid");

        Assert.Equal(Figures(fewer), Figures(limited));
        Assert.True(limited.Serving!.TtftMeanSeconds > loose.Serving!.TtftMeanSeconds);
    }

    [Fact]
    public async Task Knative_container_concurrency_is_the_same_limit()
    {
        var knative = await Run("least-loaded", 128, """{ "name": "kn", "policy": "knative", "loadTime": { "fixedSeconds": 60 }, "options": { "minScale": 3, "maxScale": 3, "initialScale": 3, "containerConcurrency": 2 } }""");
        var ray = await Run("least-loaded", 128, Ray(3, 2));

        Assert.Equal(Figures(ray)[..4].Concat(Figures(ray)[5..]), Figures(knative)[..4].Concat(Figures(knative)[5..]));
    }
}

/// <summary>The one cadence check (<c>CandidateSpec.CadenceErrors</c>): every engine refuses the same candidates with the same words.</summary>
public sealed class CadenceTests
{
    [Theory]
    [InlineData(0, 0, "decisionIntervalSeconds must be at least one tick (was 0 ticks)")]
    [InlineData(1, -2, "metricsDelaySeconds (-2 ticks) must be >= 0")]
    public void Count_and_serving_replays_refuse_a_bad_cadence_alike(int every, int delay, string expected)
    {
        var profile = ServingFixtures.Profile();
        var settings = ServingFixtures.Settings(profile);
        var spec = ServingFixtures.Fixed(2) with { DecisionIntervalTicks = every, MetricsDelayTicks = delay };
        var workload = ServingFixtures.Workload(profile, [0, 1], [10, 10], [5, 5]);

        var count = Assert.Throws<InvalidOptionsException>(() => new CandidateRun(spec, settings, ServingFixtures.Start));
        var request = Assert.Throws<InvalidOptionsException>(() => new ServingRun(spec, settings, workload));
        var fluid = Assert.Throws<InvalidOptionsException>(() => new FluidRun(spec, settings, workload));

        Assert.All(new[] { count, request, fluid }, e => Assert.Contains(expected, e.Message, StringComparison.Ordinal));
    }
}
