namespace Autoscale;

/// <summary>
/// The step-time model of one replica, as a serving replay runs it: a step of <c>P</c> prompt tokens and <c>D</c> decoding
/// sequences takes <c>base + perPrefillToken x P + perPrefillAttentionToken x sum(chunk x context) + perDecodeToken x D +
/// perDecodeContextToken x sum(context)</c> seconds. What a planner's pre-deployment profiling (Dynamo's) measures, from
/// the profile instead.
/// </summary>
/// <param name="BaseSeconds">Fixed time of every step.</param>
/// <param name="PerPrefillTokenSeconds">Time per prompt token in the step.</param>
/// <param name="PerPrefillAttentionTokenSeconds">Time per prompt token per token of its context.</param>
/// <param name="PerDecodeTokenSeconds">Time per decoding sequence in the step.</param>
/// <param name="PerDecodeContextTokenSeconds">Time per token of a decoding sequence's context.</param>
/// <param name="MaxSequences">The most sequences a step runs.</param>
/// <param name="MaxBatchedTokens">The most tokens a step runs (a longer prompt is prefilled in chunks).</param>
/// <param name="KvCacheTokens">Tokens the KV cache holds.</param>
/// <param name="Gpus">GPUs per replica.</param>
public sealed record ServingPerformance(
    double BaseSeconds,
    double PerPrefillTokenSeconds,
    double PerPrefillAttentionTokenSeconds,
    double PerDecodeTokenSeconds,
    double PerDecodeContextTokenSeconds,
    int MaxSequences,
    int MaxBatchedTokens,
    long KvCacheTokens,
    int Gpus)
{
    /// <summary>Seconds to prefill a prompt of <paramref name="tokens"/> alone on an idle replica, in chunks of <see cref="MaxBatchedTokens"/>: its time to first token.</summary>
    public double PrefillSeconds(double tokens)
    {
        var left = Math.Max(1, tokens);
        var done = 0.0;
        var seconds = 0.0;
        while (left > 0)
        {
            var chunk = Math.Min(left, MaxBatchedTokens);
            seconds += BaseSeconds + (PerPrefillTokenSeconds * chunk) + (PerPrefillAttentionTokenSeconds * chunk * (done + chunk));
            done += chunk;
            left -= chunk;
        }

        return seconds;
    }

    /// <summary>Seconds of one decode step of <paramref name="sequences"/> sequences of <paramref name="context"/> tokens each: their inter-token latency.</summary>
    public double DecodeStepSeconds(double sequences, double context) =>
        BaseSeconds + (sequences * (PerDecodeTokenSeconds + (PerDecodeContextTokenSeconds * context)));

    /// <summary>The most sequences of <paramref name="context"/> tokens a replica decodes at once: <see cref="MaxSequences"/>, or fewer when their KV cache does not fit.</summary>
    public int MaxConcurrency(double context) =>
        (int)Math.Max(1, Math.Min(MaxSequences, Math.Floor(KvCacheTokens / Math.Max(1, context))));
}
