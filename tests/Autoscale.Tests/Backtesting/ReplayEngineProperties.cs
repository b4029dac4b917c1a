using Autoscale.Backtesting.Engine;
using Autoscale.Traces;
using Autoscale.Policies.Fixed;
using Autoscale.Policies.Textbook;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;

namespace Autoscale.Tests.Backtesting;

public sealed class ReplayEngineProperties
{
    [Property(MaxTest = 300)]
    public Property Every_request_is_served_dropped_or_counted_at_the_end() =>
        Prop.ForAll(EngineScenario.Arbitrary, s =>
        {
            var r = Backtest.RunOne(s.Trace, s.Settings(), s.Candidate());
            return r.Served + r.Dropped + r.QueuedAtEnd == r.Requests
                && r.Requests == s.Arrivals.Sum()
                && r.Late <= r.Served + r.QueuedAtEnd;
        });

    [Property(MaxTest = 200)]
    public Property The_fleet_stays_within_zero_and_max_replicas() =>
        Prop.ForAll(EngineScenario.Arbitrary, s =>
        {
            var run = new CandidateRun(s.Candidate(), s.Settings(), s.Trace.Start);
            foreach (var a in s.Arrivals)
            {
                run.Step(a);
                if (run.ReadyReplicas < 0 || run.LoadingReplicas < 0 || run.ReadyReplicas + run.LoadingReplicas > s.MaxReplicas)
                {
                    return false;
                }
            }

            return run.Complete().PeakReplicas <= s.MaxReplicas;
        });

    [Property(MaxTest = 100)]
    public Property The_same_inputs_give_the_same_results_serial_or_parallel() =>
        Prop.ForAll(EngineScenario.Arbitrary, s =>
        {
            var candidates = Enumerable.Range(0, 6)
                .Select(i => s.Candidate($"c{i}", () => new ScriptedPolicy(s.Script.Skip(i).Concat(s.Script.Take(i)).ToArray())))
                .Append(s.Candidate("textbook", () => new TextbookPolicy(new TextbookOptions { Spares = 1 })))
                .ToList();
            var serial = Backtest.Run(s.Trace, s.Settings(), candidates, maxParallelism: 1);
            var parallel = Backtest.Run(s.Trace, s.Settings(), candidates, maxParallelism: 4);
            var again = Backtest.Run(s.Trace, s.Settings(), candidates);
            return serial.SequenceEqual(parallel) && serial.SequenceEqual(again);
        });

    [Property(MaxTest = 200)]
    public Property Decisions_up_to_a_tick_do_not_depend_on_the_trace_after_it() =>
        Prop.ForAll(EngineScenario.Arbitrary, Gen.Choose(0, 240).ToArbitrary(), Gen.ArrayOf(Gen.Choose(0, 500), 240).ToArbitrary(), (s, cutAt, future) =>
        {
            var cut = Math.Min(cutAt, s.Arrivals.Length);
            var changed = s.Arrivals[..cut].Concat(future.Select(f => (long)f)).ToArray();

            var seenA = Record(s, s.Arrivals);
            var seenB = Record(s, changed);

            // Every signal given at ticks 0..cut (arrivals of tick t join after the decision at t) must agree.
            var limit = s.Trace.Start + Duration.FromSeconds(Math.Min(cut + 1, Math.Min(s.Arrivals.Length, changed.Length)));
            var a = seenA.Where(x => x.Now < limit).ToList();
            var b = seenB.Where(x => x.Now < limit).ToList();
            return a.SequenceEqual(b).Label($"cut={cut}");
        });

    [Property(MaxTest = 200)]
    public Property With_a_fixed_fleet_more_capacity_never_gives_more_violations() =>
        Prop.ForAll(EngineScenario.Arbitrary, Gen.Choose(0, 12).ToArbitrary(), Gen.Elements(0.5, 1.0, 3.0, 10.0).ToArbitrary(), (s, replicas, extra) =>
        {
            var fixedFleet = s.Candidate("fixed", () => new FixedPolicy(new FixedOptions { Replicas = replicas }));
            var less = Backtest.RunOne(s.Trace, s.Settings() with { MaxReplicas = 100 }, fixedFleet);
            var more = Backtest.RunOne(s.Trace, s.Settings(s.Capacity + extra) with { MaxReplicas = 100 }, fixedFleet);
            return (more.Violations <= less.Violations).Label($"{more.Violations} > {less.Violations}");
        });

    [Property(MaxTest = 200)]
    public Property A_fixed_fleet_of_one_more_replica_has_no_fewer_idle_dollars_and_no_more_violations() =>
        Prop.ForAll(EngineScenario.Arbitrary, Gen.Choose(0, 12).ToArbitrary(), (s, replicas) =>
        {
            var settings = s.Settings() with { MaxReplicas = 100 };
            var n = Backtest.RunOne(s.Trace, settings, s.Candidate("n", () => new FixedPolicy(new FixedOptions { Replicas = replicas })));
            var n1 = Backtest.RunOne(s.Trace, settings, s.Candidate("n1", () => new FixedPolicy(new FixedOptions { Replicas = replicas + 1 })));
            return n1.Violations <= n.Violations && n1.IdleDollars >= n.IdleDollars - 1e-9;
        });

    private static List<ScalingSignal> Record(EngineScenario s, long[] arrivals)
    {
        var policy = new ScriptedPolicy(s.Script);
        var trace = new TickTrace(s.Trace.Start, Duration.FromSeconds(1), arrivals);
        Backtest.RunOne(trace, s.Settings(), s.Candidate(factory: () => policy));
        return policy.Seen;
    }
}
