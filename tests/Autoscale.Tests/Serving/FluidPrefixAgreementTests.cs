using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Serving;
using Autoscale.Traces;
using Autoscale.Traces.Synthesis;
using NodaTime;

namespace Autoscale.Tests.Serving;

/// <summary>
/// The fluid replay's prefix caching (an expected cached share per request: docs/serving.md) against the request-level
/// replay's block-by-block cache, on the Azure conversation trace in 40 prefix groups of 1,024 tokens.
/// </summary>
public sealed class FluidPrefixAgreementTests
{
    private static async Task<ServingWorkload> Workload(ServingProfile profile)
    {
        await using var reader = await TraceReader.OpenAsync(Path.Combine(TestPaths.Traces, "azure-llm-conv-2023.parquet"), Duration.FromSeconds(1));
        var workload = await ServingWorkload.ReadAsync(reader, profile, 1, "conv");
        var input = workload.Requests!.Value.Input.Select(i => (long)i).ToArray();
        return workload.WithPrefixes(PrefixGroupSynthesis.Assign(40, 1024, 1, 0, input, input.Length));
    }

    [Theory]
    [InlineData(2, ServingRouting.LeastLoaded)]
    [InlineData(4, ServingRouting.LeastLoaded)]
    [InlineData(4, ServingRouting.PrefixAware)]
    public async Task The_fluid_hit_rate_and_latencies_follow_the_request_level_replay(int replicas, ServingRouting routing)
    {
        var profile = ServingFixtures.Profile(baseSeconds: 0.005, perPrefill: 0.00002, perDecode: 0.0001, kvCacheTokens: 300_000, routing: routing);
        var workload = await Workload(profile);
        var request = new ServingRun(ServingFixtures.Fixed(replicas), ServingFixtures.Settings(profile), workload).Run();
        var fluid = new FluidRun(ServingFixtures.Fixed(replicas), ServingFixtures.Settings(profile) with { FluidServing = true }, workload).Run();
        var uncached = new FluidRun(ServingFixtures.Fixed(replicas), ServingFixtures.Settings(profile with { PrefixCaching = false }) with { FluidServing = true }, workload).Run();
        var (r, f) = (request.Serving!, fluid.Serving!);

        // Measured (request-level against fluid): hit rate 0.620/0.632, 0.617/0.630, 0.633/0.633; TTFT p50 within 1 ms;
        // E2E p50 within 3 %; E2E p99 within 4 %.
        Assert.InRange(f.PrefixCacheHitRate!.Value - r.PrefixCacheHitRate!.Value, -0.02, 0.02);
        Assert.InRange(f.TtftP50Seconds - r.TtftP50Seconds, -0.002, 0.002);
        Assert.InRange(f.E2eP50Seconds / r.E2eP50Seconds, 0.96, 1.04);
        Assert.InRange(f.E2eP99Seconds / r.E2eP99Seconds, 0.95, 1.05);

        // The cache is what brings the fluid replay there: without it, every prompt is prefilled in full.
        Assert.Null(uncached.Serving!.PrefixCacheHitRate);
        Assert.True(uncached.Serving.TtftMeanSeconds > f.TtftMeanSeconds * 1.3, $"uncached TTFT mean {uncached.Serving.TtftMeanSeconds} against {f.TtftMeanSeconds}");
    }
}
