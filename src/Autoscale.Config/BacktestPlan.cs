using Autoscale.Backtesting.Engine;

namespace Autoscale.Config;

/// <summary>A loaded, validated backtest config: shared settings and the candidates (sweeps expanded).</summary>
/// <param name="Settings">Settings shared by every candidate.</param>
/// <param name="Candidates">The candidates, in config order, sweeps expanded in place.</param>
public sealed record BacktestPlan(ReplaySettings Settings, IReadOnlyList<CandidateSpec> Candidates)
{
    /// <summary>The IANA time zone reports show times in (<c>report.timeZone</c>).</summary>
    public string TimeZone { get; init; } = "UTC";
}
