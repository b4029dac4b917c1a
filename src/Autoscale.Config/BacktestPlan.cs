using Autoscale.Backtesting.Engine;

namespace Autoscale.Config;

/// <summary>A loaded, validated backtest config: shared settings and the candidates (sweeps expanded).</summary>
/// <param name="Settings">Settings shared by every candidate.</param>
/// <param name="Candidates">The candidates, in config order, sweeps expanded in place.</param>
public sealed record BacktestPlan(ReplaySettings Settings, IReadOnlyList<CandidateSpec> Candidates)
{
    /// <summary>The IANA time zone reports show times in (<c>report.timeZone</c>).</summary>
    public string TimeZone { get; init; } = "UTC";

    /// <summary>The manifest each candidate with <c>policyFrom</c> came from, by candidate name (sweeps included).</summary>
    public IReadOnlyDictionary<string, Manifests.ManifestSource> Sources { get; init; } = new Dictionary<string, Manifests.ManifestSource>();

    /// <summary>The tune space of each candidate with <c>tune</c>, by candidate name.</summary>
    public IReadOnlyDictionary<string, Tuning.TuneTarget> Tunes { get; init; } = new Dictionary<string, Tuning.TuneTarget>();

    /// <summary>What <paramref name="candidate"/> replays that the live loop's replayed fleet does not (a serving profile), as a phrase naming the config's section; null when it can be replayed live.</summary>
    internal static string? BeyondCountModel(ReplaySettings settings, CandidateSpec candidate) =>
        settings.Serving is not null || candidate.Serving is not null ? "a serving profile (replica.serving)" : null;
}
