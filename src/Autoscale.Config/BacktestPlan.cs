using Autoscale.Backtesting.Engine;

namespace Autoscale.Config;

/// <summary>A loaded, validated backtest config: shared settings and the candidates (sweeps expanded).</summary>
/// <param name="Settings">Settings shared by every candidate.</param>
/// <param name="Candidates">The candidates, in config order, sweeps expanded in place.</param>
public sealed record BacktestPlan(ReplaySettings Settings, IReadOnlyList<CandidateSpec> Candidates)
{
    /// <summary>The IANA time zone reports show times in (<c>report.timeZone</c>).</summary>
    public string TimeZone { get; init; } = "UTC";

    /// <summary>What <paramref name="candidate"/> replays beyond the count model (a serving profile, a cluster), as a phrase naming the config's section; null when it replays only the count model.</summary>
    internal static string? BeyondCountModel(ReplaySettings settings, CandidateSpec candidate) =>
        settings.Serving is not null || candidate.Serving is not null ? "a serving profile (replica.serving)"
        : settings.Cluster is not null || candidate.Cluster is not null ? "a cluster (cluster)"
        : null;
}
