namespace Autoscale.Backtesting.Engine;

/// <summary>
/// Orders candidates as README.md ("What a replay does, tick by tick") says: those that meet the SLO target, cheapest first; then the
/// others, lowest violation percentage first; failed candidates last. Ties go by name (ordinal), so
/// output is byte-stable. Marks the Pareto front of (violation %, dollars).
/// </summary>
public static class Ranking
{
    /// <summary>Returns the results in rank order with <see cref="CandidateResult.Rank"/> and the Pareto flag set.</summary>
    public static IReadOnlyList<CandidateResult> Rank(IEnumerable<CandidateResult> results)
    {
        var all = results.ToList();
        var ordered = all
            .OrderBy(r => r.Failed ? 2 : r.MeetsSlo ? 0 : 1)
            .ThenBy(r => r.MeetsSlo ? r.CostDollars : r.ViolationPercent)
            .ThenBy(r => r.MeetsSlo ? r.ViolationPercent : r.CostDollars)
            .ThenBy(r => r.Name, StringComparer.Ordinal)
            .ToList();

        var ranked = new List<CandidateResult>(ordered.Count);
        for (var i = 0; i < ordered.Count; i++)
        {
            var r = ordered[i];
            ranked.Add(r with { Rank = i + 1, OnParetoFront = !r.Failed && !all.Any(o => Dominates(o, r)) });
        }

        return ranked;
    }

    /// <summary>Whether <paramref name="a"/> is no worse than <paramref name="b"/> on violation % and dollars and better on one.</summary>
    public static bool Dominates(CandidateResult a, CandidateResult b) =>
        !a.Failed && !b.Failed &&
        a.ViolationPercent <= b.ViolationPercent && a.CostDollars <= b.CostDollars &&
        (a.ViolationPercent < b.ViolationPercent || a.CostDollars < b.CostDollars);
}
