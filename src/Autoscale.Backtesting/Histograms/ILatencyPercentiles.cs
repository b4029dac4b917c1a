namespace Autoscale.Backtesting.Histograms;

/// <summary>A latency distribution's nearest-rank percentiles in seconds (request by request, or weighted by cohort).</summary>
internal interface ILatencyPercentiles
{
    /// <summary>Whether nothing was noted (no percentile exists).</summary>
    bool IsEmpty { get; }

    double PercentileSeconds(double percent);

    /// <summary>The mean of the finite latencies noted (dropped requests left out), seconds; NaN when there is none.</summary>
    double MeanSeconds { get; }
}
