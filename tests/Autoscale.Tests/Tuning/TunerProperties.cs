using Autoscale.Backtesting.Engine;
using Autoscale.Config.Tuning;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Autoscale.Tests.Tuning;

/// <summary>
/// The tuner's pick against an exhaustive grid replayed through the backtest itself, its blindness to the days it is
/// judged on, a planted optimum found by the search, and the same bytes whatever the number of threads.
/// </summary>
public sealed class TunerProperties
{
    private static string Reactive(string tune) => $$"""
        { "name": "reactive", "policy": "reactive", "loadTime": { "fixedSeconds": 180 }, "decisionIntervalSeconds": 60,
          "options": { "minReplicas": 2, "maxReplicas": 400, "targetUtilization": 0.7, "scaleDownStabilizationSeconds": 300 },
          "tune": {{tune}} }
        """;

    /// <summary>
    /// On a space no larger than the budget every setting is replayed, and each fold's pick is the one the backtest of the
    /// fold's training days ranks first (cheapest meeting the SLO, all the window's requests together; by value, as equal
    /// figures may tie), over random spaces and traces.
    /// </summary>
    [Property(MaxTest = 5)]
    public Property Grid_pick_is_the_backtests_best() =>
        Prop.ForAll((from s in Gen.Choose(1, 1000) from f in Gen.Choose(1, 3) from u in Gen.Choose(2, 4) select (s, f, u)).ToArbitrary(), args =>
        {
            var (seed, floors, utilizations) = args;
            var floorValues = string.Join(", ", Enumerable.Range(0, floors).Select(i => 2 + (i * ((seed % 5) + 3))));
            var utilizationValues = string.Join(", ", Enumerable.Range(0, utilizations).Select(i => (0.4 + (0.15 * i)).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            var (plan, target) = TuneFixture.LoadAsync(TuneFixture.Config(Reactive($$"""{ "minReplicas": { "values": [{{floorValues}}] }, "targetUtilization": { "values": [{{utilizationValues}}] } }"""), dollarsPerViolation: seed % 2 == 0 ? 0 : 0.01)).GetAwaiter().GetResult();
            var trace = TuneFixture.Daily(5, seed, peakRate: 1500 + (seed % 7 * 300));
            var units = TuneFixture.Tune(plan, target, trace, budget: 100);

            foreach (var unit in units)
            {
                Assert.Equal("grid", unit.Search);
                Assert.Equal(floors * utilizations, unit.Evaluations.Count);
                var window = TuneFixture.Slice(trace, unit.Window.TrainFrom, unit.Window.TrainTo);
                var grid = unit.Evaluations.Select(e => target.Build(e.Values, target.Describe(e.Values))).ToList();
                var best = Ranking.Rank(Backtest.Run(window, plan.Settings, grid)).First();
                var pick = unit.Evaluations.Single(e => e.Values.SequenceEqual(unit.Pick)).Score;
                Assert.Equal(best.MeetsSlo, pick.MeetsSlo);
                Assert.Equal(best.CostDollars, pick.CostDollars, 9);
                Assert.Equal(best.ViolationPercent, pick.ViolationPercent, 9);
                Assert.Equal(best.MeetsSlo, unit.PickMetSlo);
            }
        });

    /// <summary>
    /// With a margin, each fold's pick is the exhaustive grid's best by the margin's rule, recomputed here through the
    /// backtest itself: each setting's training window replayed alone, and its days (requests, violations) as the
    /// differences of replays that end a day apart; a day is met when it loses at most half its error budget, or no more
    /// than the baseline lost that day. Over random spaces and traces.
    /// </summary>
    [Property(MaxTest = 4)]
    public Property Grid_pick_with_a_margin_is_the_exhaustive_best() =>
        Prop.ForAll((from s in Gen.Choose(1, 1000) from f in Gen.Choose(1, 3) from u in Gen.Choose(2, 4) select (s, f, u)).ToArbitrary(), args =>
        {
            var (seed, floors, utilizations) = args;
            var floorValues = string.Join(", ", Enumerable.Range(0, floors).Select(i => 2 + (i * ((seed % 5) + 3))));
            var utilizationValues = string.Join(", ", Enumerable.Range(0, utilizations).Select(i => (0.4 + (0.15 * i)).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            var (plan, target) = TuneFixture.LoadAsync(TuneFixture.Config(Reactive($$"""{ "minReplicas": { "values": [{{floorValues}}] }, "targetUtilization": { "values": [{{utilizationValues}}] } }"""), dollarsPerViolation: seed % 2 == 0 ? 0 : 0.01)).GetAwaiter().GetResult();
            var trace = TuneFixture.Daily(5, seed, peakRate: 1500 + (seed % 7 * 300));
            var units = TuneFixture.Tune(plan, target, trace, budget: 100, margin: 0.5);
            var budget = (100 - plan.Settings.Slo.TargetPercent) / 100;

            // A setting's days on the window: the replays that end after each day, less the ones that end before it.
            List<(long Requests, long Violations)> Days(CandidateSpec spec, TuneWindow window)
            {
                var ends = window.TrainDays.Skip(1).Select(end => Backtest.Run(TuneFixture.Slice(trace, window.TrainFrom, end), plan.Settings, [spec])[0]).ToList();
                return ends.Select((r, d) => (r.Requests - (d == 0 ? 0 : ends[d - 1].Requests), r.Violations - (d == 0 ? 0 : ends[d - 1].Violations))).ToList();
            }

            foreach (var unit in units)
            {
                Assert.Equal("grid", unit.Search);
                Assert.Equal(floors * utilizations, unit.Evaluations.Count);
                var window = TuneFixture.Slice(trace, unit.Window.TrainFrom, unit.Window.TrainTo);
                var baseline = Days(target.Baseline, unit.Window);
                var allowed = baseline.Select(b => Math.Min(budget, Math.Max(budget / 2, b.Requests == 0 ? 0 : (double)b.Violations / b.Requests))).ToList();
                var scores = unit.Evaluations.Select(e =>
                {
                    var spec = target.Build(e.Values, target.Describe(e.Values));
                    var whole = Backtest.Run(window, plan.Settings, [spec])[0];
                    var met = Days(spec, unit.Window).Select((d, i) => d.Violations <= allowed[i] * d.Requests * (1 + 1e-12)).Count(m => m);
                    return (e.Values, Score: new TuneScore(whole.Dollars, whole.CostDollars, whole.Requests, whole.Violations, whole.MeetsSlo) { Days = unit.Window.TrainDayCount, DaysMet = met });
                }).ToList();

                // The tuner's own figures are the backtest's, day counts included.
                foreach (var (e, independent) in unit.Evaluations.Zip(scores))
                {
                    Assert.Equal(independent.Score, e.Score);
                }

                var best = scores.OrderBy(x => x.Score, Comparer<TuneScore>.Create(TuneScore.Compare)).First().Score;
                var pick = unit.Evaluations.Single(e => e.Values.SequenceEqual(unit.Pick)).Score;
                Assert.Equal(0, TuneScore.Compare(best, pick));
                Assert.Equal(best.MeetsEveryDay, unit.PickMetSlo);
            }
        });

    /// <summary>Whatever the traffic of a fold's held-out days, the fold's pick and every setting's training figures stay.</summary>
    [Property(MaxTest = 5)]
    public Property No_look_ahead_into_the_held_out_days() =>
        Prop.ForAll(Gen.Choose(1, 1000).Zip(Gen.Choose(0, 1)).ToArbitrary(), args =>
        {
            var (seed, fold) = args;
            var margin = seed % 2 == 0 ? 0 : 0.5;
            var (plan, target) = TuneFixture.LoadAsync(TuneFixture.Config(Reactive("""{ "minReplicas": { "from": 1, "to": 40, "step": 1 }, "targetUtilization": { "from": 0.3, "to": 0.95, "log": true } }"""))).GetAwaiter().GetResult();
            var trace = TuneFixture.Daily(5, seed);
            var changed = (long[])trace.Arrivals.Clone();
            var testFrom = (3 + fold) * 1440;
            var random = new Random(seed);
            for (var t = testFrom; t < testFrom + 1440; t++)
            {
                changed[t] = random.Next(0, 5000);
            }

            var windows = TuneSchedule.Build(trace.Start, trace.Tick, trace.Length, NodaTime.DateTimeZone.Utc, 3, 1);
            var tuner = new Tuner(plan.Settings, new TuneData.Counts(trace), target, 27, seed, 2, margin: margin);
            var other = new Tuner(plan.Settings, new TuneData.Counts(new Autoscale.Traces.TickTrace(trace.Start, trace.Tick, changed)), target, 27, seed, 2, margin: margin);
            var before = tuner.Run(0, windows[fold], CancellationToken.None);
            var after = other.Run(0, windows[fold], CancellationToken.None);

            Assert.Equal(before.Pick, after.Pick);
            Assert.Equal(before.Evaluations.Select(e => (string.Join(",", e.Values), e.Days, e.Score)), after.Evaluations.Select(e => (string.Join(",", e.Values), e.Days, e.Score)));
            Assert.Equal(before.PickTrain, after.PickTrain);
            Assert.NotEqual(before.PickTestDays[0].Requests, after.PickTestDays[0].Requests);
        });

    /// <summary>
    /// A planted optimum: steady traffic of 570 requests a minute against replicas of 60 a minute, a fixed fleet tuned over
    /// 1 to 300 replicas (a space larger than the budget, so searched): 10 replicas is the cheapest that serves it, on every fold.
    /// </summary>
    [Fact]
    public async Task The_search_finds_a_planted_optimum()
    {
        var (plan, target) = await TuneFixture.LoadAsync(TuneFixture.Config("""
            { "name": "fixed", "policy": "fixed", "loadTime": { "fixedSeconds": 60 }, "options": { "replicas": 50 },
              "tune": { "replicas": { "from": 1, "to": 300, "step": 1 } } }
            """));
        var trace = new Autoscale.Traces.TickTrace(TuneFixture.Monday, NodaTime.Duration.FromMinutes(1), Enumerable.Repeat(570L, 6 * 1440).ToArray());

        var units = TuneFixture.Tune(plan, target, trace, budget: 45);

        Assert.All(units, u =>
        {
            Assert.Equal("tpe", u.Search);
            Assert.Equal([10.0], u.Pick);
            Assert.True(u.PickMetSlo);
            Assert.True(u.Evaluations.Select(e => e.Values[0]).Distinct().Count() <= 45);
        });

        // 10 replicas for a day: 240 replica-hours at $2, the first minute's load aside; the baseline's 50 cost five times as much.
        var fold = units[0];
        Assert.InRange(fold.PickTestDays[0].Dollars, 470, 481);
        Assert.InRange(fold.BaselineTestDays[0].Dollars, 2390, 2401);
        Assert.Equal(0, fold.PickTestDays[0].Violations);
    }

    /// <summary>The same seed gives the same windows, to the bit, on one thread or four; another seed searches otherwise.</summary>
    [Fact]
    public async Task Same_seed_same_result_whatever_the_threads()
    {
        var (plan, target) = await TuneFixture.LoadAsync(TuneFixture.Config(Reactive("""{ "minReplicas": { "from": 1, "to": 40, "step": 1 }, "targetUtilization": { "from": 0.3, "to": 0.95, "log": true } }""")));
        var trace = TuneFixture.Daily(5, 17);

        string Json(int threads, long seed)
        {
            var units = TuneFixture.Tune(plan, target, trace, budget: 20, seed: seed, threads: threads);
            var outcome = TuneOutcome.Assemble("reactive", "reactive", target.Dimensions.Select(d => d.Path).ToList(), target.Options, units, 99, seed);
            return TuneJson.Result([outcome], points: true);
        }

        var one = Json(1, 5);
        Assert.Equal(one, Json(4, 5));
        Assert.NotEqual(one, Json(2, 6));
    }

    /// <summary>
    /// A serving replay tuned (request by request, and as a fluid): each held-out day counts its own requests, and the
    /// traffic of a fold's held-out days changes neither its pick nor the capacity a policy is judged at (the mean tokens
    /// of the training days).
    /// </summary>
    [Theory]
    [InlineData("request")]
    [InlineData("fluid")]
    public async Task A_serving_replay_is_tuned_without_looking_ahead(string engine)
    {
        var config = $$"""
            {
              "slo": { "maxTtftSeconds": 2, "targetPercent": 95.0 },
              "replica": { "dollarsPerGpuHour": 2.0,
                "serving": { "stepSeconds": { "base": 0.01, "perPrefillToken": 0.00002, "perDecodeToken": 0.0002 },
                             "maxSequences": 64, "maxBatchedTokens": 2048, "kvCacheTokens": 200000,
                             "tokens": { "input": { "median": 300, "sigma": 0.8 }, "output": { "median": 80, "sigma": 0.6 } } } },
              "engine": { "tickSeconds": 60, "maxReplicas": 50, "serving": "{{engine}}", "drainSeconds": 600 },
              "candidates": [ { "name": "floor", "policy": "warm-floor", "loadTime": { "fixedSeconds": 120 }, "decisionIntervalSeconds": 60,
                "options": { "minReplicas": 4, "maxReplicas": 50 },
                "tune": { "minReplicas": { "values": [1, 2, 3] }, "targetUtilization": { "values": [0.5, 0.8] } } } ]
            }
            """;
        var (plan, target) = await TuneFixture.LoadAsync(config);
        var trace = TuneFixture.Daily(4, 11, baseRate: 40, peakRate: 200);
        var changed = (long[])trace.Arrivals.Clone();
        for (var t = 2 * 1440; t < 3 * 1440; t++)
        {
            changed[t] *= 3;
        }

        var windows = TuneSchedule.Build(trace.Start, trace.Tick, trace.Length, NodaTime.DateTimeZone.Utc, 2, 1);
        TuneUnit Fold(long[] arrivals)
        {
            var workload = Autoscale.Backtesting.Serving.ServingWorkload.FromTicks(new Autoscale.Traces.TickTrace(trace.Start, trace.Tick, arrivals), plan.Settings.Serving!, plan.Settings.Seed);
            return new Tuner(plan.Settings, new TuneData.Serving(workload), target, 10, 3, 2).Run(0, windows[0], CancellationToken.None);
        }

        var before = Fold(trace.Arrivals);
        var after = Fold(changed);

        Assert.Equal("grid", before.Search);
        Assert.Equal(6, before.Evaluations.Count);
        Assert.All(before.Evaluations, e => Assert.Null(e.Score.Error));
        Assert.Equal(before.Pick, after.Pick);
        Assert.Equal(before.Evaluations.Select(e => e.Score), after.Evaluations.Select(e => e.Score));
        Assert.Equal(trace.Arrivals[(2 * 1440)..(3 * 1440)].Sum(), before.PickTestDays.Single().Requests);
        Assert.Equal(changed[(2 * 1440)..(3 * 1440)].Sum(), after.PickTestDays.Single().Requests);
        Assert.Equal(trace.Arrivals[..1440].Sum(), before.PickTrainDays[0].Requests);
        Assert.True(before.PickTestDays[0].Dollars > 0);
    }

    /// <summary>The days of a continuous replay add up to it: requests to the trace's, dollars to the replay's bill.</summary>
    [Property(MaxTest = 5)]
    public Property Days_add_up_to_the_replay() =>
        Prop.ForAll(Gen.Choose(1, 1000).ToArbitrary(), seed =>
        {
            var (plan, target) = TuneFixture.LoadAsync(TuneFixture.Config(Reactive("""{ "minReplicas": { "values": [1, 6] } }"""))).GetAwaiter().GetResult();
            var trace = TuneFixture.Daily(5, seed);
            var unit = TuneFixture.Tune(plan, target, trace, budget: 10, train: 3, test: 2)[0];

            Assert.Equal(trace.Arrivals[..(3 * 1440)].Sum(), unit.PickTrainDays.Sum(d => d.Requests));
            Assert.Equal(trace.Arrivals[(3 * 1440)..].Sum(), unit.PickTestDays.Sum(d => d.Requests));
            Assert.Equal(unit.PickTrain.Dollars, unit.PickTrainDays.Sum(d => d.Dollars), 6);
            Assert.Equal(unit.PickTrain.Violations, unit.PickTrainDays.Sum(d => d.Violations));
            var whole = Backtest.Run(trace, plan.Settings, [target.Build(unit.Pick, "pick")])[0];
            Assert.Equal(whole.Dollars, unit.PickTrain.Dollars + unit.PickTestDays.Sum(d => d.Dollars), 6);
            Assert.Equal(whole.Violations, unit.PickTrain.Violations + unit.PickTestDays.Sum(d => d.Violations));
        });
}
