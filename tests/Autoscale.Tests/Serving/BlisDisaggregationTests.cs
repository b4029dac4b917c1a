using System.Text.Json;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Serving;

namespace Autoscale.Tests.Serving;

/// <summary>
/// Disaggregated pools against BLIS b563c440 (blis/make-cases.sh, pd_case_): the same 1,000 requests on 2 prefill + 2
/// decode instances, and on 4 co-located ones. With overlapLastStep (BLIS's departures from a real server) every request
/// ends when BLIS says, to the microsecond; BLIS's TTFT of a disaggregated request is its prefill's, plus the transfer,
/// plus its first decode step (without the wait for a decode replica), and so is ours, added up from the same parts.
/// </summary>
public sealed class BlisDisaggregationTests
{
    [Fact]
    public void Four_colocated_replicas_agree_with_blis_for_every_request()
    {
        var c = ServingFixtures.LoadBlisCase("co4");
        var run = new ServingRun(ServingFixtures.Fixed(4), ServingFixtures.Settings(c.Profile), ServingFixtures.Workload(c.Profile, c.Arrivals, c.Input, c.Output), recordRequests: true);
        run.Run();
        ServingFixtures.AgreesWithBlis(c, run);
    }

    [Fact]
    public void Two_prefill_and_two_decode_replicas_agree_with_blis_for_every_request()
    {
        var c = ServingFixtures.LoadBlisCase("pd22");
        using var meta = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Root, "tests", "Autoscale.Tests", "Serving", "blis", "pd22.json")));
        var m = meta.RootElement;
        var pools = new Disaggregation(c.Profile, new ReplicaSettings(1, 1, 3.6), c.Profile, new ReplicaSettings(1, 1, 3.6),
            new KvTransfer(m.GetProperty("bandwidthGBps").GetDouble(), NodaTime.Duration.FromNanoseconds(Math.Round(m.GetProperty("baseLatencyMicros").GetDouble() * 1e3)), m.GetProperty("kvBytesPerToken").GetDouble(), 1));
        var settings = ServingFixtures.Settings(c.Profile with { Disaggregation = pools });
        var half = m.GetProperty("prefillInstances").GetInt32();
        var candidate = ServingFixtures.Fixed(half) with { Pools = new PoolCandidates(ServingFixtures.Fixed(half), ServingFixtures.Fixed(c.Instances - half)) };
        var workload = ServingFixtures.Workload(c.Profile, c.Arrivals, c.Input, c.Output);
        var run = new DisaggregatedRun(candidate, settings, workload, recordRequests: true);
        run.AdvanceTo(workload.Ticks);
        var result = run.Complete();
        Assert.Equal(c.Arrivals.Length, result.Served);

        var decode = run.DecodePool.RecordedTimes();
        var prefill = run.PrefillPool.RecordedTimes();
        var mismatches = new List<string>();
        var differs = 0;
        for (var r = 0; r < c.Arrivals.Length; r++)
        {
            var e2e = decode.EndNanos[r] - c.Arrivals[r];
            var firstStep = decode.FirstTokenNanos[r] - decode.AdmittedNanos[r];
            var blisTtft = prefill.FirstTokenNanos[r] - c.Arrivals[r] + run.TransferNanos(c.Input[r]) + firstStep;
            if (e2e != c.E2eNanos[r] || blisTtft != c.TtftNanos[r])
            {
                mismatches.Add($"request {r}: e2e {e2e} vs BLIS {c.E2eNanos[r]}, ttft as BLIS adds it {blisTtft} vs {c.TtftNanos[r]}");
            }

            // Our TTFT is the client's first token: BLIS adds the prefill's whole last step (the transfer starts when that
            // step starts, under overlapLastStep) and leaves out the wait for a decode replica.
            differs += decode.FirstTokenNanos[r] - c.Arrivals[r] != c.TtftNanos[r] ? 1 : 0;
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {c.Arrivals.Length} requests differ from BLIS, first: {string.Join("; ", mismatches.Take(5))}");
        Assert.Equal(c.Arrivals.Length, differs);
    }
}
