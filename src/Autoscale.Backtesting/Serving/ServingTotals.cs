using Autoscale.Backtesting.Histograms;

namespace Autoscale.Backtesting.Serving;

/// <summary>What both serving replays total for a result, turned into its <see cref="ServingMetrics"/> one way.</summary>
internal readonly record struct ServingTotals(
    ILatencyPercentiles Ttft,
    ILatencyPercentiles Tpot,
    ILatencyPercentiles E2e,
    double SpanSeconds,
    double GoodRequests,
    double ServedInput,
    double ServedOutput,
    double KvCacheUtilization,
    double Dollars,
    double NominalCapacityRps,
    long Preemptions,
    double MeanInputTokens,
    double MeanOutputTokens)
{
    /// <summary>
    /// The metrics. A percentile of nothing (no request reached a first token, or none decoded a second one) is NaN, and
    /// so is the cost per token when no token was served: results write them as null, never as a 0 that reads as fast or
    /// free.
    /// </summary>
    public ServingMetrics Metrics() => new()
    {
        TtftP50Seconds = Of(Ttft, 50),
        TtftP90Seconds = Of(Ttft, 90),
        TtftP99Seconds = Of(Ttft, 99),
        TpotP50Seconds = Of(Tpot, 50),
        TpotP99Seconds = Of(Tpot, 99),
        E2eP50Seconds = Of(E2e, 50),
        E2eP99Seconds = Of(E2e, 99),
        TtftMeanSeconds = Ttft.MeanSeconds,
        TpotMeanSeconds = Tpot.MeanSeconds,
        E2eMeanSeconds = E2e.MeanSeconds,
        GoodputRps = SpanSeconds > 0 ? GoodRequests / SpanSeconds : 0,
        InputTokensPerSecond = SpanSeconds > 0 ? ServedInput / SpanSeconds : 0,
        OutputTokensPerSecond = SpanSeconds > 0 ? ServedOutput / SpanSeconds : 0,
        KvCacheUtilization = KvCacheUtilization,
        DollarsPerMillionTokens = ServedInput + ServedOutput > 0 ? Dollars / ((ServedInput + ServedOutput) / 1e6) : double.NaN,
        NominalCapacityRps = NominalCapacityRps,
        Preemptions = Preemptions,
        MeanInputTokens = MeanInputTokens,
        MeanOutputTokens = MeanOutputTokens,
    };

    private static double Of(ILatencyPercentiles latencies, double percent) => latencies.IsEmpty ? double.NaN : latencies.PercentileSeconds(percent);
}
