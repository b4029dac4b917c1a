using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Serving;
using NodaTime;

namespace Autoscale.Tests.Serving;

/// <summary>
/// Backtest.RunServing advances each candidate a slice of ticks at a time, taken in turn by the threads: on a trace of
/// several slices, every candidate's result is the one it has replayed alone, and a policy that throws in a later slice
/// fails its own candidate only, at the tick it threw.
/// </summary>
public sealed class ServingSchedulerTests
{
    // More than three slices of 16,384 ticks: the ServeGen trace's first 14 hours, a twentieth of its traffic.
    private const int Ticks = 50_000;

    private static async Task<(ServingWorkload Workload, ReplaySettings Settings)> Case(bool fluid)
    {
        var profile = ServingFixtures.Profile(baseSeconds: 0.02, perPrefill: 0.0001, perDecode: 0.0004, kvCacheTokens: 300_000);
        var trace = await ServingFixtures.ServeGenWindow(Duration.FromSeconds(1), 0, Ticks, divide: fluid ? 20 : 200);
        var settings = ServingFixtures.Settings(profile) with { FluidServing = fluid, MaxReplicas = 50 };
        return (ServingWorkload.FromTicks(trace, profile, seed: 1), settings);
    }

    private static List<CandidateSpec> Candidates() =>
    [
        ServingFixtures.Fixed(2),
        ServingFixtures.Policy("reactive", () => new Autoscale.Policies.Reactive.ReactivePolicy(new Autoscale.Policies.Reactive.ReactiveOptions { MinReplicas = 1, MaxReplicas = 50 }), loadSeconds: 60, every: 15),
        ServingFixtures.Policy("one more, then less", () => new ScriptedPolicy([1, 2, 3, 2]), loadSeconds: 30, every: 7),
    ];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Sliced_results_are_those_of_each_candidate_alone(bool fluid)
    {
        var (workload, settings) = await Case(fluid);
        var candidates = Candidates();
        var sliced = Backtest.RunServing(workload, settings, candidates, maxParallelism: 2);
        foreach (var spec in candidates)
        {
            var alone = fluid ? new FluidRun(spec, settings, workload).Run() : new ServingRun(spec, settings, workload).Run();
            var same = sliced.Single(r => r.Name == spec.Name);
            Assert.Null(same.Error);
            Assert.True(alone.Requests > 10_000, $"{spec.Name}: only {alone.Requests} requests");
            Assert.Equal(alone, same with { Rank = alone.Rank, OnParetoFront = alone.OnParetoFront });
        }
    }

    [Fact]
    public async Task A_policy_throwing_in_a_later_slice_fails_its_candidate_alone_at_that_tick()
    {
        var (workload, settings) = await Case(fluid: true);
        var throwAt = ServingFixtures.Start + Duration.FromSeconds(40_000);
        var fragile = ServingFixtures.Policy("fragile", () => new ScriptedPolicy
        {
            Answer = s => s.Now >= throwAt ? throw new InvalidOperationException("too late") : new ScalingDecision(3, "three"),
        });
        var candidates = Candidates();
        var without = Backtest.RunServing(workload, settings, candidates, maxParallelism: 2);
        var with = Backtest.RunServing(workload, settings, [.. candidates, fragile], maxParallelism: 2);

        var failed = with.Single(r => r.Name == "fragile");
        Assert.Equal("policy threw at tick 40000: InvalidOperationException: too late", failed.Error);
        foreach (var result in without)
        {
            var same = with.Single(r => r.Name == result.Name);
            Assert.Equal(result, same with { Rank = result.Rank, OnParetoFront = result.OnParetoFront });
        }
    }
}
