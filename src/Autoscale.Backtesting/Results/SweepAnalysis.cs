using Autoscale.Backtesting.Engine;

namespace Autoscale.Backtesting.Results;

/// <summary>One value of a sweep: the candidate and where it stands.</summary>
/// <param name="Value">The swept values, as in the name (<c>spares=3</c>).</param>
/// <param name="Result">The candidate's result.</param>
public sealed record SweepRow(string Value, CandidateResult Result);

/// <summary>
/// A swept candidate's values side by side (Exercise 23.6.2): violations against idle dollars, the
/// knee (the cheapest value that meets the SLO target), and the smallest value with no violations.
/// </summary>
/// <param name="Group">The swept candidate's name.</param>
/// <param name="Rows">One row per value, in sweep order.</param>
/// <param name="Knee">The cheapest value that meets the SLO target; null when none does.</param>
/// <param name="FirstWithoutViolations">The first value (in sweep order) with no violations; null when none.</param>
public sealed record SweepAnalysis(string Group, IReadOnlyList<SweepRow> Rows, SweepRow? Knee, SweepRow? FirstWithoutViolations)
{
    /// <summary>Groups swept candidates and analyses each group; <paramref name="order"/> gives the sweep order (config order).</summary>
    public static IReadOnlyList<SweepAnalysis> Of(IEnumerable<CandidateResult> results, IReadOnlyList<string> order)
    {
        var position = order.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => x.i, StringComparer.Ordinal);
        return results
            .Where(r => r.SweepGroup is not null && !r.Failed)
            .GroupBy(r => r.SweepGroup!, StringComparer.Ordinal)
            .OrderBy(g => g.Min(r => position.GetValueOrDefault(r.Name, int.MaxValue)))
            .Select(g =>
            {
                var rows = g.OrderBy(r => position.GetValueOrDefault(r.Name, int.MaxValue)).Select(r => new SweepRow(r.SweepValue!, r)).ToList();
                var knee = rows.Where(r => r.Result.MeetsSlo).OrderBy(r => r.Result.CostDollars).ThenBy(r => rows.IndexOf(r)).FirstOrDefault();
                var clean = rows.FirstOrDefault(r => r.Result.Violations == 0);
                return new SweepAnalysis(g.Key, rows, knee, clean);
            })
            .ToList();
    }
}
