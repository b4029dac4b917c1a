using Autoscale.Backtesting.Engine;
using NodaTime;

namespace Autoscale.Config.Tuning;

/// <summary>What one replay (or one day of it) cost and how it held the SLO.</summary>
/// <param name="Dollars">Billed dollars.</param>
/// <param name="CostDollars">Billed dollars plus <c>slo.dollarsPerViolation</c> per violation: what the ranking orders by.</param>
/// <param name="Requests">Requests that arrived.</param>
/// <param name="Violations">Late and dropped requests.</param>
/// <param name="MeetsSlo">Whether the on-time share reached the SLO target.</param>
/// <param name="Error">Why the setting could not run (its policy threw, or its options break a rule); null when it ran.</param>
public sealed record TuneScore(double Dollars, double CostDollars, long Requests, long Violations, bool MeetsSlo, string? Error = null)
{
    /// <summary>The days the replay covers, each judged alone (0 when it was not judged by day).</summary>
    public int Days { get; init; }

    /// <summary>Of <see cref="Days"/>, those on which the SLO held.</summary>
    public int DaysMet { get; init; }

    /// <summary>Whether the SLO held over the whole replay and on each of its days.</summary>
    public bool MeetsEveryDay => MeetsSlo && DaysMet == Days;

    /// <summary>Violations as a percentage of requests.</summary>
    public double ViolationPercent => Requests == 0 ? 0 : 100.0 * Violations / Requests;

    /// <summary>Whether the setting could not run.</summary>
    public bool Failed => Error is not null;

    internal static TuneScore Of(CandidateResult result, int days = 0, int daysMet = 0) => result.Failed
        ? new TuneScore(0, 0, 0, 0, false, result.Error) { Days = days }
        : new TuneScore(result.Dollars, result.CostDollars, result.Requests, result.Violations, result.MeetsSlo) { Days = days, DaysMet = daysMet };

    internal static TuneScore Failure(string error) => new(0, 0, 0, 0, false, error);

    /// <summary>Whether the on-time share of <paramref name="requests"/> with <paramref name="violations"/> reaches the target (as a backtest judges it).</summary>
    internal static bool Meets(long requests, long violations, double targetPercent) =>
        requests == 0 || 100.0 * (requests - violations) >= targetPercent * requests;

    /// <summary>
    /// The tuner's order: settings that meet the SLO over their days and on each day alone, cheapest first (then lowest
    /// violation %); then those that meet it over their days but miss some day, most days met first (then cheapest); then
    /// the others, fewest violations first (then cheapest); failed settings last.
    /// </summary>
    public static int Compare(TuneScore a, TuneScore b)
    {
        static int Group(TuneScore s) => s.Failed ? 3 : s.MeetsEveryDay ? 0 : s.MeetsSlo ? 1 : 2;
        var (groupA, groupB) = (Group(a), Group(b));
        if (groupA != groupB)
        {
            return groupA.CompareTo(groupB);
        }

        return groupA switch
        {
            0 => (a.CostDollars, a.ViolationPercent).CompareTo((b.CostDollars, b.ViolationPercent)),
            1 => (b.DaysMet, a.CostDollars, a.ViolationPercent).CompareTo((a.DaysMet, b.CostDollars, b.ViolationPercent)),
            _ => (a.ViolationPercent, a.CostDollars).CompareTo((b.ViolationPercent, b.CostDollars)),
        };
    }
}

/// <summary>One calendar day of a continuous replay: the difference between the replays that end before and after it.</summary>
/// <remarks>A day whose replay failed (the policy threw) has <see cref="Error"/> and counts as missed, with no dollars.</remarks>
public sealed record TuneDay(Instant Start, double Dollars, double CostDollars, long Requests, long Violations, bool MeetsSlo, string? Error = null);

/// <summary>One setting evaluated on (the last days of) a training window.</summary>
/// <param name="Values">The setting, one value per tuned option.</param>
/// <param name="Days">The training days it was judged on (fewer than the window's on a successive-halving rung).</param>
/// <param name="Score">What the backtest of those days gave.</param>
public sealed record TuneEvaluation(IReadOnlyList<double> Values, int Days, TuneScore Score);

/// <summary>
/// A figure over some days as the result shows it: billed dollars, violation percentage and whether the SLO held over them
/// all, and on how many of the days (each judged alone) it held.
/// </summary>
public sealed record TuneFigure(double Dollars, double CostDollars, double ViolationPercent, bool MeetsSlo, int Days, int DaysMet)
{
    /// <summary>Why a day of the figure could not be replayed; null when every day was.</summary>
    public string? Error { get; init; }

    public static TuneFigure OfDays(IReadOnlyList<TuneDay> days, double targetPercent)
    {
        var requests = days.Sum(d => d.Requests);
        var violations = days.Sum(d => d.Violations);
        var error = days.FirstOrDefault(d => d.Error is not null)?.Error;
        return new TuneFigure(days.Sum(d => d.Dollars), days.Sum(d => d.CostDollars), requests == 0 ? 0 : 100.0 * violations / requests,
            error is null && TuneScore.Meets(requests, violations, targetPercent), days.Count, days.Count(d => d.MeetsSlo)) { Error = error };
    }

    public static TuneFigure OfWindow(TuneScore window, IReadOnlyList<TuneDay> days) =>
        new(window.Dollars, window.CostDollars, window.ViolationPercent, window.MeetsSlo, days.Count, days.Count(d => d.MeetsSlo)) { Error = window.Error };
}

/// <summary>
/// What one training window of one candidate gave: every setting evaluated, the pick, and (for a fold) the pick and the
/// baseline judged day by day on the test days after it.
/// </summary>
public sealed record TuneUnit
{
    /// <summary>The candidate's number among those tuned.</summary>
    public required int Candidate { get; init; }

    /// <summary>The training window (and its held-out days).</summary>
    public required TuneWindow Window { get; init; }

    /// <summary>The SLO target the days were judged against.</summary>
    public required double TargetPercent { get; init; }

    /// <summary><c>grid</c> (every point of the space) or <c>tpe</c> (successive halving with a Parzen estimator).</summary>
    public required string Search { get; init; }

    /// <summary>Every setting evaluated, on every rung, in the order evaluated.</summary>
    public required IReadOnlyList<TuneEvaluation> Evaluations { get; init; }

    /// <summary>The pick: one value per tuned option.</summary>
    public required IReadOnlyList<double> Pick { get; init; }

    /// <summary>The candidate's options at the pick.</summary>
    public required System.Text.Json.Nodes.JsonObject PickOptions { get; init; }

    /// <summary>Whether some setting met the SLO on the training window and on each of its days (else the pick is the best of those that did not).</summary>
    public required bool PickMetSlo { get; init; }

    /// <summary>The pick on the whole training window (a backtest of it alone).</summary>
    public required TuneScore PickTrain { get; init; }

    /// <summary>The pick day by day on the training window.</summary>
    public required IReadOnlyList<TuneDay> PickTrainDays { get; init; }

    /// <summary>The pick on each held-out day, replayed from the start of the training days.</summary>
    public required IReadOnlyList<TuneDay> PickTestDays { get; init; }

    /// <summary>The baseline on the whole training window.</summary>
    public required TuneScore BaselineTrain { get; init; }

    /// <summary>The baseline on each held-out day, replayed as the pick is.</summary>
    public required IReadOnlyList<TuneDay> BaselineTestDays { get; init; }
}
