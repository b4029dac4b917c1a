namespace Autoscale;

/// <summary>
/// A policy that reports figures about itself at the end of a run (a forecast's error, say); the
/// backtest puts them in the candidate's results under <c>policyMetrics</c>.
/// </summary>
public interface IPolicyDiagnostics
{
    /// <summary>Adds the policy's figures, by name, to <paramref name="metrics"/>.</summary>
    void Report(IDictionary<string, double> metrics);
}
