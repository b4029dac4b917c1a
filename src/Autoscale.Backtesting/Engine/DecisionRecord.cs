using System.Globalization;
using NodaTime;

namespace Autoscale.Backtesting.Engine;

/// <summary>
/// What every run (count or serving replay) records of its decisions for the result: how often the policy asked for
/// engine.maxReplicas or more, and the policy's own metrics and warnings.
/// </summary>
internal sealed class DecisionRecord(IScalingPolicy policy, int maxReplicas)
{
    private long _decisions;
    private long _atEngineMax;
    private long _firstAtEngineMax = -1;

    /// <summary>Counts a decision at <paramref name="tick"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Decided(long tick, in ScalingDecision decision)
    {
        _decisions++;
        if (decision.DesiredReplicas >= maxReplicas && maxReplicas > 0)
        {
            _atEngineMax++;
            if (_firstAtEngineMax < 0)
            {
                _firstAtEngineMax = tick;
            }
        }
    }

    /// <summary>The policy's own metrics, when it reports any.</summary>
    public MetricSet PolicyMetrics()
    {
        if (policy is not IPolicyDiagnostics diagnostics)
        {
            return MetricSet.Empty;
        }

        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        diagnostics.Report(metrics);
        return new MetricSet(metrics);
    }

    /// <summary>The engine's warning about its cap, then <paramref name="more"/>, then the policy's own warnings.</summary>
    public TextList Warnings(Instant start, Duration tick, IEnumerable<string>? more = null)
    {
        var warnings = new List<string>();
        if (_atEngineMax > 0)
        {
            var ci = CultureInfo.InvariantCulture;
            var from = NodaTime.Text.InstantPattern.ExtendedIso.Format(start + (tick * _firstAtEngineMax));
            var share = 100.0 * _atEngineMax / _decisions;
            var percent = share.ToString(share < 0.1 ? "0.###" : share < 10 ? "0.##" : "0.#", ci);
            warnings.Add($"reached engine.maxReplicas ({maxReplicas}) in {_atEngineMax.ToString("N0", ci)} of {_decisions.ToString("N0", ci)} decisions ({percent}%), from {from}: it may have wanted more; raise engine.maxReplicas to see");
        }

        if (more is not null)
        {
            warnings.AddRange(more);
        }

        (policy as IPolicyDiagnostics)?.Warn(warnings);
        return new TextList(warnings);
    }
}
