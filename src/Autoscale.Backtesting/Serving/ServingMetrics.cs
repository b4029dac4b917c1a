namespace Autoscale.Backtesting.Serving;

/// <summary>
/// What a serving replay adds to a candidate's result: latencies per request (nearest rank over histograms of 1 ms or
/// 1 % buckets, each percentile its bucket's upper edge; a dropped request counts as an infinite TTFT and E2E), token
/// throughput, KV cache use and the cost per token.
/// </summary>
public sealed record ServingMetrics
{
    /// <summary>Median time to first token, seconds.</summary>
    public double TtftP50Seconds { get; init; }

    /// <summary>90th percentile time to first token, seconds.</summary>
    public double TtftP90Seconds { get; init; }

    /// <summary>99th percentile time to first token, seconds.</summary>
    public double TtftP99Seconds { get; init; }

    /// <summary>Median time per output token after the first (requests with more than one output token), seconds.</summary>
    public double TpotP50Seconds { get; init; }

    /// <summary>99th percentile time per output token, seconds.</summary>
    public double TpotP99Seconds { get; init; }

    /// <summary>Median time from arrival to the last token, seconds.</summary>
    public double E2eP50Seconds { get; init; }

    /// <summary>99th percentile time from arrival to the last token, seconds.</summary>
    public double E2eP99Seconds { get; init; }

    /// <summary>Mean time to first token of the requests that had one, seconds (NaN when none did).</summary>
    public double TtftMeanSeconds { get; init; }

    /// <summary>Mean time per output token after the first, seconds (NaN when no request decoded a second token).</summary>
    public double TpotMeanSeconds { get; init; }

    /// <summary>Mean time from arrival to the last token of the requests that finished, seconds (NaN when none did).</summary>
    public double E2eMeanSeconds { get; init; }

    /// <summary>Requests per second of the trace's span that finished within every SLO.</summary>
    public double GoodputRps { get; init; }

    /// <summary>Input tokens of finished requests per second of the span.</summary>
    public double InputTokensPerSecond { get; init; }

    /// <summary>Output tokens of finished requests per second of the span.</summary>
    public double OutputTokensPerSecond { get; init; }

    /// <summary>Used KV blocks over all blocks, mean over ready replica-seconds (0 to 1).</summary>
    public double KvCacheUtilization { get; init; }

    /// <summary>
    /// Prompt tokens served from the prefix cache over prompt tokens admitted (0 to 1; each admission counts, a preempted
    /// request's again); null without prefix caching or without prefix columns in the trace.
    /// </summary>
    public double? PrefixCacheHitRate { get; init; }

    /// <summary>Dollars per million tokens (input plus output) of finished requests.</summary>
    public double DollarsPerMillionTokens { get; init; }

    /// <summary>A replica's nominal request rate at the trace's mean tokens: what policies see as capacity per replica.</summary>
    public double NominalCapacityRps { get; init; }

    /// <summary>Requests preempted because the KV cache was full.</summary>
    public long Preemptions { get; init; }

    /// <summary>The trace's mean input tokens per request.</summary>
    public double MeanInputTokens { get; init; }

    /// <summary>The trace's mean output tokens per request.</summary>
    public double MeanOutputTokens { get; init; }
}
