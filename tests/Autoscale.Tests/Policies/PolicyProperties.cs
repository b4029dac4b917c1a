using Autoscale.Backtesting.Engine;
using Autoscale.Traces.Synthesis;
using Autoscale.Traces;
using Autoscale.Policies.Combinators;
using Autoscale.Policies.Predictive;
using Autoscale.Policies.Reactive;
using Autoscale.Policies.ScheduledFloor;
using Autoscale.Policies.Textbook;
using Autoscale.Policies.WarmFloor;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;

namespace Autoscale.Tests.Policies;

public sealed class PolicyProperties
{
    private static readonly Instant Start = Instant.FromUtc(2026, 1, 5, 0, 0);

    internal static ScalingSignal Signal(int t, int ready, int loading, long queue, long arrivals, long served = 0) =>
        new(Start + Duration.FromSeconds(t * 15), Duration.FromSeconds(15), ready, loading, queue, arrivals, 30, Duration.FromSeconds(90))
        {
            ServedLastInterval = served,
            MaxReplicas = 1000,
        };

    /// <summary>Fleet states and loads, decision by decision: the histories every policy property runs on.</summary>
    internal static Gen<(int Ready, int Loading, long Queue, long Arrivals)[]> Histories() =>
        Gen.Choose(1, 40).SelectMany(n => Gen.ArrayOf(
            from ready in Gen.Choose(0, 30)
            from loading in Gen.Choose(0, 5)
            from queue in Gen.Choose(0, 3000)
            from arrivals in Gen.Choose(0, 9000)
            select (ready, loading, (long)queue, (long)arrivals), n));

    [Property(MaxTest = 300)]
    public Property Reactive_more_load_never_gives_fewer_replicas_at_the_same_state() =>
        Prop.ForAll(Histories().ToArbitrary(), Gen.Zip(Gen.Choose(0, 2000), Gen.Choose(0, 5000)).ToArbitrary(), Gen.Elements(0.0, 200.0).ToArbitrary(),
            (history, extra, panic) =>
            {
                var (extraQueue, extraArrivals) = extra;
                var options = new ReactiveOptions { MinReplicas = 0, MaxReplicas = 500, PanicThresholdPercent = panic, ScaleUpStabilizationSeconds = OptionDuration.FromSeconds(30) };
                return MoreLoadNeverGivesFewer(() => new ReactivePolicy(options), history, extraQueue, extraArrivals);
            });

    /// <summary>
    /// Two fresh instances see the same history; at its last decision one sees more queue and arrivals. It must not ask
    /// for fewer replicas than the other.
    /// </summary>
    internal static Property MoreLoadNeverGivesFewer(Func<IScalingPolicy> create, (int Ready, int Loading, long Queue, long Arrivals)[] history, long extraQueue, long extraArrivals)
    {
        var a = create();
        var b = create();
        for (var i = 0; i < history.Length - 1; i++)
        {
            var (r, l, q, n) = history[i];
            a.Decide(Signal(i, r, l, q, n));
            b.Decide(Signal(i, r, l, q, n));
        }

        var (ready, loading, queue, arrivals) = history[^1];
        var low = a.Decide(Signal(history.Length - 1, ready, loading, queue, arrivals)).DesiredReplicas;
        var high = b.Decide(Signal(history.Length - 1, ready, loading, queue + extraQueue, arrivals + extraArrivals)).DesiredReplicas;
        return (high >= low).Label($"{high} < {low}");
    }

    [Property(MaxTest = 200)]
    public Property Every_policy_stays_within_its_floor_and_max() =>
        Prop.ForAll(Histories().ToArbitrary(), Gen.Choose(0, 6).ToArbitrary(), Gen.Choose(6, 40).ToArbitrary(), (history, min, max) =>
        {
            IScalingPolicy[] policies =
            [
                new ReactivePolicy(new ReactiveOptions { MinReplicas = min, MaxReplicas = max }),
                new WarmFloorPolicy(new WarmFloorOptions { MinReplicas = Math.Max(1, min), MaxReplicas = max }),
                new ScheduledFloorPolicy(new ScheduledFloorOptions { MinReplicas = min, MaxReplicas = max, DefaultMinReplicas = min }),
                new PredictivePolicy(new PredictiveOptions { MinReplicas = min, MaxReplicas = max, BucketSeconds = OptionDuration.FromSeconds(60) }),
            ];
            int[] floors = [min, Math.Max(1, min), min, min];
            for (var i = 0; i < history.Length; i++)
            {
                var (r, l, q, n) = history[i];
                for (var p = 0; p < policies.Length; p++)
                {
                    var d = policies[p].Decide(Signal(i, r, l, q, n)).DesiredReplicas;
                    if (d < floors[p] || d > max)
                    {
                        return false.Label($"{policies[p].GetType().Name} decided {d} outside [{floors[p]}, {max}]");
                    }
                }
            }

            return true.ToProperty();
        });

    [Property(MaxTest = 100)]
    public Property Max_is_at_least_each_of_its_parts_and_textbook_never_scales_down() =>
        Prop.ForAll(Histories().ToArbitrary(), history =>
        {
            var reactive = new ReactivePolicy(new ReactiveOptions());
            var floor = new ScheduledFloorPolicy(new ScheduledFloorOptions { DefaultMinReplicas = 3 });
            var max = new MaxPolicy(new ReactivePolicy(new ReactiveOptions()), new ScheduledFloorPolicy(new ScheduledFloorOptions { DefaultMinReplicas = 3 }));
            var textbook = new TextbookPolicy(new TextbookOptions());
            var previous = 0;
            for (var i = 0; i < history.Length; i++)
            {
                var (r, l, q, n) = history[i];
                var s = Signal(i, r, l, q, n);
                var combined = max.Decide(s).DesiredReplicas;
                if (combined < reactive.Decide(s).DesiredReplicas || combined < floor.Decide(s).DesiredReplicas)
                {
                    return false.Label("max below a part");
                }

                var t = textbook.Decide(s).DesiredReplicas;
                if (t < previous)
                {
                    return false.Label("textbook scaled down");
                }

                previous = t;
            }

            return true.ToProperty();
        });

    [Fact]
    public void Predictive_is_ready_for_the_daily_rise_from_the_second_day_on()
    {
        // Three identical days: 40 req/s, 400 req/s from 09:00 to 11:00. Loads take 120 s.
        var day = new long[86_400];
        for (var t = 0; t < day.Length; t++)
        {
            day[t] = t is >= 9 * 3600 and < 11 * 3600 ? 400 : 40;
        }

        var trace = Enumerable.Repeat(day, 3).SelectMany(d => d).ToArray();
        var settings = new ReplaySettings(new SloSettings(NodaTime.Duration.FromSeconds(2), 99), new ReplicaSettings(30, 1, 3), Duration.FromSeconds(1), 200);
        var policy = new PredictivePolicy(new PredictiveOptions { MinReplicas = 1, MaxReplicas = 200, TargetUtilization = 0.8 });
        var spec = new CandidateSpec("p", () => policy, new FixedLoadTime(Duration.FromSeconds(120)), DecisionIntervalTicks: 15);
        var run = new CandidateRun(spec, settings, Start);
        var needed = (int)Math.Ceiling(400 / 30.0);
        var readyAtRise = new List<int>();
        for (var t = 0; t < trace.Length; t++)
        {
            run.Step(trace[t]);
            if (t % 86_400 == 9 * 3600)
            {
                readyAtRise.Add(run.ReadyReplicas);
            }
        }

        var result = run.Complete();
        Assert.True(readyAtRise[0] < needed, "on the first day there is no history: the rise is met reactively");
        Assert.True(readyAtRise[1] >= needed, $"day 2: {readyAtRise[1]} ready at the rise, {needed} needed");
        Assert.True(readyAtRise[2] >= needed, $"day 3: {readyAtRise[2]} ready at the rise, {needed} needed");
        Assert.True(result.PolicyMetrics["forecastWape"] < 0.05, $"WAPE {result.PolicyMetrics["forecastWape"]}");
    }

    [Fact]
    public void Predictive_falls_back_to_reactive_when_the_forecast_is_behind()
    {
        // A day of quiet, then an unforecast burst on day 2: the reactive part still scales.
        var trace = new long[2 * 86_400];
        Array.Fill(trace, 30);
        for (var t = 86_400 + 4 * 3600; t < 86_400 + 5 * 3600; t++)
        {
            trace[t] = 600;
        }

        var settings = new ReplaySettings(new SloSettings(NodaTime.Duration.FromSeconds(2), 99), new ReplicaSettings(30, 1, 3), Duration.FromSeconds(1), 200);
        var predictive = Backtest.RunOne(new TickTrace(Start, Duration.FromSeconds(1), trace), settings,
            new CandidateSpec("p", () => new PredictivePolicy(new PredictiveOptions()), new FixedLoadTime(Duration.FromSeconds(60))));
        var reactive = Backtest.RunOne(new TickTrace(Start, Duration.FromSeconds(1), trace), settings,
            new CandidateSpec("r", () => new ReactivePolicy(new ReactiveOptions()), new FixedLoadTime(Duration.FromSeconds(60))));

        Assert.True(predictive.PeakReplicas >= 600 / 30);
        Assert.True(predictive.Violations <= reactive.Violations);
    }
}
