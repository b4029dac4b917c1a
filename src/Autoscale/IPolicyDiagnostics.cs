namespace Autoscale;

/// <summary>
/// A policy that reports about itself at the end of a run: figures (a forecast's error, say), which the backtest
/// puts in the candidate's results under <c>policyMetrics</c>, and warnings a user needs (a part that never changed
/// a decision, a cap that held it back), which reports print under the ranking and in <c>warnings</c>.
/// </summary>
public interface IPolicyDiagnostics
{
    /// <summary>Adds the policy's figures, by name, to <paramref name="metrics"/>.</summary>
    void Report(IDictionary<string, double> metrics);

    /// <summary>Adds one sentence per thing a user should know about the run to <paramref name="warnings"/>; none by default.</summary>
    void Warn(ICollection<string> warnings)
    {
    }
}
