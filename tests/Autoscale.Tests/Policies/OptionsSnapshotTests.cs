using FsCheck;
using FsCheck.Fluent;
using System.Text.Json;
using Autoscale.Policies.Catalog;
using Autoscale.Policies.Reactive;
using Autoscale.Policies.ScheduledFloor;
using NodaTime;

namespace Autoscale.Tests.Policies;

/// <summary>A policy keeps its own copy of its options: the object it was built from may change, and it does not.</summary>
public sealed class OptionsSnapshotTests
{
    private static ScalingSignal Signal(int ready, long arrivals) =>
        new(Instant.FromUtc(2026, 1, 5, 12, 0), Duration.FromSeconds(1), ready, 0, 0, arrivals, 30, Duration.FromSeconds(25));

    [Fact]
    public void Changing_the_options_after_building_changes_no_decision()
    {
        var options = new ReactiveOptions { MinReplicas = 1, MaxReplicas = 50 };
        var policy = new ReactivePolicy(options);
        var control = new ReactivePolicy(new ReactiveOptions { MinReplicas = 1, MaxReplicas = 50 });

        options.MaxReplicas = 2;
        options.TargetUtilization = 0.1;
        policy.Options.MinReplicas = 40;

        Assert.Equal(control.Decide(Signal(1, 600)), policy.Decide(Signal(1, 600)));
        Assert.Equal(50, policy.Options.MaxReplicas);
    }

    [Fact]
    public void Nested_windows_are_copied_too()
    {
        var options = new ScheduledFloorOptions { Schedule = [new ScheduleWindow { Days = "*", From = "00:00", To = "24:00", MinReplicas = 5 }] };
        var snapshot = OptionRules.Snapshot(options);

        options.Schedule[0].MinReplicas = 9;
        options.Schedule.Add(new ScheduleWindow { MinReplicas = 1 });

        Assert.Equal(5, Assert.Single(snapshot.Schedule).MinReplicas);
    }

    [Fact]
    public void The_runs_of_one_catalog_factory_share_nothing()
    {
        // As a backtest builds a candidate's runs: the options bound once, a fresh policy per run.
        Assert.True(PolicyCatalog.CreateBuiltIn().TryGet("warm-floor", out var descriptor));
        using var json = JsonDocument.Parse("""{ "minReplicas": 2, "maxReplicas": 40 }""");
        var bound = OptionsBinder.Bind(descriptor.OptionsType, json.RootElement, "options");
        Func<IScalingPolicy> factory = () => descriptor.Create(bound);

        var first = factory();
        var second = factory();

        Assert.NotSame(first, second);
        for (var i = 0; i < 50; i++)
        {
            first.Decide(Signal(2, 900));
        }

        Assert.Equal(factory().Decide(Signal(2, 30)), second.Decide(Signal(2, 30)));
    }
}

/// <summary>The catalog under parallel readers: lookups that add loaded classes as they go, listing and building at once.</summary>
public sealed class PolicyCatalogConcurrencyTests
{
    [Fact]
    public void Parallel_lookups_listings_and_builds_agree_with_one_thread()
    {
        var names = new[] { "reactive", "warm-floor", typeof(ScriptedPolicy).FullName!, "textbook", typeof(ParallelProbePolicy).FullName!, "no.such.Policy" };
        Prop.ForAll(
            Gen.ArrayOf(Gen.Elements(names), 64).ToArbitrary(),
            lookups =>
            {
                var catalog = PolicyCatalog.CreateBuiltIn();
                var found = new bool[lookups.Length];
                var counts = new int[lookups.Length];
                Parallel.For(0, lookups.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
                {
                    found[i] = catalog.TryGet(lookups[i], out var descriptor);
                    counts[i] = catalog.Names.Count;
                    if (descriptor is not null && descriptor.Name is "reactive" or "textbook")
                    {
                        using var json = JsonDocument.Parse("{}");
                        Assert.NotNull(catalog.Create(descriptor.Name, json.RootElement));
                    }
                });

                var alone = PolicyCatalog.CreateBuiltIn();
                for (var i = 0; i < lookups.Length; i++)
                {
                    Assert.Equal(alone.TryGet(lookups[i], out _), found[i]);
                }

                Assert.All(counts, c => Assert.InRange(c, 7, catalog.Names.Count));
                Assert.Equal(alone.Names, catalog.Names);
            }).QuickCheckThrowOnFailure();
    }
}

/// <summary>A policy class found by its name in the loaded assemblies.</summary>
public sealed class ParallelProbePolicy : IScalingPolicy
{
    public ScalingDecision Decide(in ScalingSignal signal) => new(1, "probe");
}
