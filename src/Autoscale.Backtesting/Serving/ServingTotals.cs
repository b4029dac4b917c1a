namespace Autoscale.Backtesting.Serving;

/// <summary>A latency distribution's nearest-rank percentiles in seconds (request by request, or weighted by cohort).</summary>
internal interface ILatencyPercentiles
{
    double PercentileSeconds(double percent);
}

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
    public ServingMetrics Metrics() => new()
    {
        TtftP50Seconds = Ttft.PercentileSeconds(50),
        TtftP90Seconds = Ttft.PercentileSeconds(90),
        TtftP99Seconds = Ttft.PercentileSeconds(99),
        TpotP50Seconds = Tpot.PercentileSeconds(50),
        TpotP99Seconds = Tpot.PercentileSeconds(99),
        E2eP50Seconds = E2e.PercentileSeconds(50),
        E2eP99Seconds = E2e.PercentileSeconds(99),
        GoodputRps = SpanSeconds > 0 ? GoodRequests / SpanSeconds : 0,
        InputTokensPerSecond = SpanSeconds > 0 ? ServedInput / SpanSeconds : 0,
        OutputTokensPerSecond = SpanSeconds > 0 ? ServedOutput / SpanSeconds : 0,
        KvCacheUtilization = KvCacheUtilization,
        DollarsPerMillionTokens = ServedInput + ServedOutput > 0 ? Dollars / ((ServedInput + ServedOutput) / 1e6) : 0,
        NominalCapacityRps = NominalCapacityRps,
        Preemptions = Preemptions,
        MeanInputTokens = MeanInputTokens,
        MeanOutputTokens = MeanOutputTokens,
    };
}
