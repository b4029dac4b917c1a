using Autoscale.Backtesting.Serving;
using Xunit;

namespace Autoscale.Tests.Serving;

/// <summary>
/// The step model's context terms (prefill attention, decode KV reads) and the time outside the GPU, in the
/// request-level replay step by step, and the fluid replay against it.
/// </summary>
public sealed class StepModelTermsTests
{
    private static long Ceil(double nanos) => Math.Max(1L, (long)Math.Ceiling(nanos - 1e-6));

    [Theory]
    [InlineData(300, 40, 0.0, 0.0, 0.0)]
    [InlineData(300, 40, 2e-8, 3e-8, 0.0)]
    [InlineData(1000, 70, 1e-8, 5e-9, 0.0)]
    [InlineData(500, 33, 2e-8, 3e-8, 0.004)]
    public void One_request_on_an_idle_replica_takes_the_steps_the_model_says(int input, int output, double attention, double context, double overhead)
    {
        var profile = ServingFixtures.Profile(baseSeconds: 0.01, perPrefill: 0.0001, perDecode: 0.0002, maxBatchedTokens: 4096) with
        {
            PerPrefillAttentionTokenSeconds = attention,
            PerDecodeContextTokenSeconds = context,
            RequestOverheadSeconds = overhead,
            PerInputTokenOverheadSeconds = overhead / 1000,
            PerOutputTokenOverheadSeconds = overhead / 100,
        };
        var workload = ServingFixtures.Workload(profile, [0], [input], [output]);
        var run = new ServingRun(ServingFixtures.Fixed(1), ServingFixtures.Settings(profile), workload, recordRequests: true);
        var result = run.Run();

        // Ingestion, then one prefill step (attention: input x input), then output - 1 decode steps reading a growing context.
        var ingest = (long)Math.Round((overhead * 1e9) + (overhead / 1000 * 1e9 * input));
        var outputNanos = (long)Math.Round(overhead / 100 * 1e9);
        var first = ingest + Ceil((0.01 + (0.0001 * input) + (attention * input * input)) * 1e9);
        var end = first;
        for (var k = 0; k < output - 1; k++)
        {
            end += Ceil((0.01 + 0.0002 + (context * (input + k))) * 1e9);
        }

        Assert.Equal(first + outputNanos, run.FirstTokenAt(0));
        Assert.Equal(end + (outputNanos * output), run.EndAt(0));

        // The means are exact (the percentiles are bucket edges).
        Assert.Equal((first + outputNanos) / 1e9, result.Serving!.TtftMeanSeconds, 12);
        Assert.Equal((end + (outputNanos * output)) / 1e9, result.Serving.E2eMeanSeconds, 12);
        Assert.Equal(Math.Ceiling((end - first + (outputNanos * (output - 1))) / (double)(output - 1)) / 1e9, result.Serving.TpotMeanSeconds, 12);
    }

    [Fact]
    public void Decode_steps_interrupted_by_a_new_arrival_keep_their_growing_lengths()
    {
        // The second request arrives in the middle of the first one's run of decode steps: the run is settled at the step
        // boundary before it, and the steps after carry both.
        var profile = ServingFixtures.Profile(baseSeconds: 0.01, perPrefill: 0.0001, perDecode: 0.0002) with { PerDecodeContextTokenSeconds = 1e-6 };
        var workload = ServingFixtures.Workload(profile, [0, 150_000_000], [100, 100], [200, 5]);
        var run = new ServingRun(ServingFixtures.Fixed(1), ServingFixtures.Settings(profile), workload, recordRequests: true);
        run.Run();

        var first = Ceil((0.01 + 0.01) * 1e9);
        var t = first;
        var k = 0;
        for (; t + Ceil((0.0102 + (1e-6 * (100 + k))) * 1e9) <= 150_000_000; k++)
        {
            t += Ceil((0.0102 + (1e-6 * (100 + k))) * 1e9);
        }

        // The step running at 150 ms ends; then one step of the first's decode and the second's prefill.
        t += Ceil((0.0102 + (1e-6 * (100 + k))) * 1e9);
        k++;
        t += Ceil((0.01 + (0.0001 * 100) + 0.0002 + (1e-6 * (100 + k))) * 1e9);
        Assert.Equal(first, run.FirstTokenAt(0));
        Assert.Equal(t, run.FirstTokenAt(1));
    }

    [Fact]
    public async Task The_fluid_replay_follows_the_request_level_one_with_context_terms_and_overheads()
    {
        var profile = ServingFixtures.Profile(baseSeconds: 0.012, perPrefill: 0.00005, perDecode: 0.0002, kvCacheTokens: 400_000) with
        {
            PerPrefillAttentionTokenSeconds = 1.5e-8,
            PerDecodeContextTokenSeconds = 2e-8,
            RequestOverheadSeconds = 0.015,
            PerOutputTokenOverheadSeconds = 0.00005,
        };
        var plainProfile = profile with { PerPrefillAttentionTokenSeconds = 0, PerDecodeContextTokenSeconds = 0, RequestOverheadSeconds = 0, PerOutputTokenOverheadSeconds = 0 };
        var trace = await ServingFixtures.ServeGenWindow(NodaTime.Duration.FromSeconds(1), 36_000, 3_600, divide: 20);
        ServingMetrics Replay(ServingProfile p, bool fluid)
        {
            var workload = ServingWorkload.FromTicks(trace, p, seed: 1);
            var settings = ServingFixtures.Settings(p) with { FluidServing = fluid };
            var result = fluid ? new FluidRun(ServingFixtures.Fixed(4), settings, workload).Run() : new ServingRun(ServingFixtures.Fixed(4), settings, workload).Run();
            Assert.True(result.Requests > 2_000, $"{result.Requests} requests");
            return result.Serving!;
        }

        var (r, f) = (Replay(profile, fluid: false), Replay(profile, fluid: true));
        var (pr, pf) = (Replay(plainProfile, fluid: false), Replay(plainProfile, fluid: true));

        // The terms cost time in both replays: TTFT grows by at least the ingestion.
        Assert.True(r.TtftP50Seconds >= pr.TtftP50Seconds + 0.015, $"{r.TtftP50Seconds} vs {pr.TtftP50Seconds}");
        Assert.True(f.TtftP50Seconds >= pf.TtftP50Seconds + 0.015, $"{f.TtftP50Seconds} vs {pf.TtftP50Seconds}");
        Assert.True(r.E2eP50Seconds > pr.E2eP50Seconds && f.E2eP50Seconds > pf.E2eP50Seconds, $"{r.E2eP50Seconds} {pr.E2eP50Seconds} {f.E2eP50Seconds} {pf.E2eP50Seconds}");

        // And the fluid replay keeps the agreement it has without them (its ratio to the request-level replay moves little).
        foreach (var (name, with, without) in new[]
        {
            ("ttft p50", f.TtftP50Seconds / r.TtftP50Seconds, pf.TtftP50Seconds / pr.TtftP50Seconds),
            ("e2e p50", f.E2eP50Seconds / r.E2eP50Seconds, pf.E2eP50Seconds / pr.E2eP50Seconds),
            ("e2e p99", f.E2eP99Seconds / r.E2eP99Seconds, pf.E2eP99Seconds / pr.E2eP99Seconds),
        })
        {
            Assert.True(Math.Abs((with / without) - 1) < 0.15, $"{name}: fluid / request {with:F3} with the terms, {without:F3} without");
        }
    }
}
