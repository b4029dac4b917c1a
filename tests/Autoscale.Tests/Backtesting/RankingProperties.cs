using Autoscale.Config;
using Autoscale.Backtesting.Engine;
using Autoscale.Policies.Catalog;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Autoscale.Tests.Backtesting;

public sealed class RankingProperties
{
    private static Gen<CandidateResult[]> Results() =>
        Gen.Choose(1, 12).SelectMany(n => Gen.ArrayOf(
            from late in Gen.Choose(0, 50)
            from dollars in Gen.Choose(1, 20)
            select (late, dollars), n))
        .Select(rows => rows.Select((r, i) => new CandidateResult
        {
            Name = $"c{i}", Requests = 100, Late = r.late, Dollars = r.dollars, CostDollars = r.dollars, MeetsSlo = r.late <= 1,
        }).ToArray());

    [Property(MaxTest = 300)]
    public Property A_dominated_candidate_is_never_on_the_pareto_front() =>
        Prop.ForAll(Results().ToArbitrary(), results =>
        {
            var ranked = Ranking.Rank(results);
            return ranked.All(r => r.OnParetoFront != ranked.Any(o => Ranking.Dominates(o, r)))
                && ranked.Any(r => r.OnParetoFront)
                && ranked.Select(r => r.Rank).SequenceEqual(Enumerable.Range(1, ranked.Count));
        });

    [Property(MaxTest = 300)]
    public Property Candidates_meeting_the_slo_rank_first_cheapest_first() =>
        Prop.ForAll(Results().ToArbitrary(), results =>
        {
            var ranked = Ranking.Rank(results);
            var meeting = ranked.TakeWhile(r => r.MeetsSlo).ToList();
            return meeting.Count == results.Count(r => r.MeetsSlo)
                && meeting.Zip(meeting.Skip(1)).All(p => p.First.CostDollars <= p.Second.CostDollars)
                && ranked.Skip(meeting.Count).Zip(ranked.Skip(meeting.Count + 1)).All(p => p.First.ViolationPercent <= p.Second.ViolationPercent);
        });

    [Property(MaxTest = 100)]
    public Property A_sweep_gives_exactly_one_candidate_per_value() =>
        Prop.ForAll(Gen.Choose(0, 5).ToArbitrary(), Gen.Choose(0, 12).ToArbitrary(), Gen.Choose(1, 3).ToArbitrary(), (from, span, step) =>
        {
            var to = from + span;
            var json = $$"""
                { "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 30 },
                  "candidates": [ { "name": "pool", "policy": "textbook", "loadTime": { "fixedSeconds": 25 },
                    "sweep": { "spares": { "from": {{from}}, "to": {{to}}, "step": {{step}} }, "baseReplicas": [1, 2] } } ] }
                """;
            var plan = new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadAsync(json, "c.json").GetAwaiter().GetResult();
            var values = Enumerable.Range(0, span / step + 1).Select(k => from + k * step).ToList();
            var expected = values.SelectMany(v => new[] { $"pool spares={v} baseReplicas=1", $"pool spares={v} baseReplicas=2" }).ToList();
            return plan.Candidates.Select(c => c.Name).SequenceEqual(expected)
                && plan.Candidates.All(c => c.SweepGroup == "pool");
        });
}
