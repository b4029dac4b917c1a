using Autoscale.Backtesting.Serving;
using FsCheck;
using FsCheck.Fluent;

namespace Autoscale.Tests.Serving;

/// <summary>Properties of the fluid replay on small random workloads and fleets.</summary>
public sealed class FluidProperties
{
    private static Gen<(long[] Arrivals, int[] Input, int[] Output, int Replicas)> Workloads() =>
        from count in Gen.Choose(1, 300)
        from gaps in Gen.ArrayOf(Gen.Choose(0, 400_000_000), count)
        from input in Gen.ArrayOf(Gen.Choose(1, 3000), count)
        from output in Gen.ArrayOf(Gen.Choose(1, 400), count)
        from replicas in Gen.Choose(0, 4)
        select (Cumulative(gaps), input, output, replicas);

    private static long[] Cumulative(int[] gaps)
    {
        var at = new long[gaps.Length];
        long t = 0;
        for (var i = 0; i < gaps.Length; i++)
        {
            t += gaps[i];
            at[i] = t;
        }

        return at;
    }

    [Fact]
    public void Every_request_is_served_or_dropped_violations_are_bounded_and_a_second_run_gives_the_same_result()
    {
        Prop.ForAll(Workloads().ToArbitrary(), w =>
        {
            var profile = ServingFixtures.Profile(maxSequences: 8, maxBatchedTokens: 2048);
            var workload = ServingFixtures.Workload(profile, w.Arrivals, w.Input, w.Output);
            var settings = ServingFixtures.Settings(profile, maxTtft: 5, drainSeconds: 120) with { FluidServing = true };
            var first = new FluidRun(ServingFixtures.Fixed(w.Replicas), settings, workload).Run();
            var second = new FluidRun(ServingFixtures.Fixed(w.Replicas), settings, workload).Run();
            return first.Requests == w.Arrivals.Length
                && first.Served + first.Dropped == first.Requests
                && first.Violations >= first.Dropped && first.Violations <= first.Requests
                && (w.Replicas > 0 || first.Dropped == first.Requests)
                && first.Dollars == second.Dollars && first.Violations == second.Violations
                && first.Serving!.TtftP99Seconds.Equals(second.Serving!.TtftP99Seconds);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void No_first_token_comes_sooner_than_the_prompt_alone_on_one_replica()
    {
        Prop.ForAll(Gen.Choose(1, 20_000).ToArbitrary(), Gen.Choose(1, 8).ToArbitrary(), (prompt, replicas) =>
        {
            var profile = ServingFixtures.Profile(maxSequences: 8, maxBatchedTokens: 2048, kvCacheTokens: 100_000);
            var workload = ServingFixtures.Workload(profile, [100_000_000], [prompt], [10]);
            var r = new FluidRun(ServingFixtures.Fixed(replicas), ServingFixtures.Settings(profile) with { FluidServing = true }, workload).Run();
            var alone = Math.Ceiling(prompt / 2048.0) * profile.BaseSeconds + (prompt * profile.PerPrefillTokenSeconds);
            return r.Serving!.TtftP50Seconds >= alone - 0.001;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void More_replicas_on_one_pool_never_raise_the_violations_of_a_fixed_fleet()
    {
        Prop.ForAll(Workloads().ToArbitrary(), w =>
        {
            var profile = ServingFixtures.Profile(maxSequences: 4, maxBatchedTokens: 1024);
            var workload = ServingFixtures.Workload(profile, w.Arrivals, w.Input, w.Output);
            var settings = ServingFixtures.Settings(profile, maxTtft: 2) with { FluidServing = true };
            var fewer = new FluidRun(ServingFixtures.Fixed(w.Replicas + 1), settings, workload).Run();
            var more = new FluidRun(ServingFixtures.Fixed(w.Replicas + 2), settings, workload).Run();
            return more.Violations <= fewer.Violations;
        }).QuickCheckThrowOnFailure();
    }
}
