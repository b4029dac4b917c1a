using NodaTime;

namespace Autoscale.Backtesting.Serving;

/// <summary>How requests are routed to a serving fleet's replicas.</summary>
public enum ServingRouting
{
    /// <summary>To the ready replica with the fewest requests waiting plus running; ties to the lowest index.</summary>
    LeastLoaded,

    /// <summary>To the ready replicas in index order, continuing after the last one used.</summary>
    RoundRobin,

    /// <summary>Held at the gateway until a replica can admit it.</summary>
    SharedQueue,

    /// <summary>To the ready replica of the highest weighted score of cached prefix blocks, queue depth and KV use; ties to the lowest index.</summary>
    PrefixAware,
}

/// <summary>
/// A replica's serving profile, immutable: the linear step-time model and the scheduler's limits
/// (the <c>replica.serving</c> section, see <see cref="ServingOptions"/>).
/// </summary>
/// <remarks>Safe to share between threads and runs.</remarks>
public sealed record ServingProfile
{
    /// <summary>Seconds every step takes.</summary>
    public required double BaseSeconds { get; init; }

    /// <summary>Seconds per prefill token scheduled in a step.</summary>
    public double PerPrefillTokenSeconds { get; init; }

    /// <summary>Seconds per sequence decoding in a step.</summary>
    public double PerDecodeTokenSeconds { get; init; }

    /// <summary>Seconds per prefill token times its context at the chunk's end (attention).</summary>
    public double PerPrefillAttentionTokenSeconds { get; init; }

    /// <summary>Seconds per context token of each sequence decoding (its KV cache read).</summary>
    public double PerDecodeContextTokenSeconds { get; init; }

    /// <summary>Seconds from arrival to the scheduler's queue, per request.</summary>
    public double RequestOverheadSeconds { get; init; }

    /// <summary>Seconds from arrival to the scheduler's queue, per input token.</summary>
    public double PerInputTokenOverheadSeconds { get; init; }

    /// <summary>Seconds each output token reaches the client after the one before it, outside the GPU.</summary>
    public double PerOutputTokenOverheadSeconds { get; init; }

    /// <summary>Whether any time outside the GPU is modelled.</summary>
    public bool HasOverheads => RequestOverheadSeconds > 0 || PerInputTokenOverheadSeconds > 0 || PerOutputTokenOverheadSeconds > 0;

    /// <summary>Requests running at once.</summary>
    public int MaxSequences { get; init; } = 256;

    /// <summary>Prefill plus decode tokens per step.</summary>
    public int MaxBatchedTokens { get; init; } = 8192;

    /// <summary>Tokens the KV cache holds.</summary>
    public long KvCacheTokens { get; init; } = 1_000_000;

    /// <summary>Tokens per KV block.</summary>
    public int BlockTokens { get; init; } = 16;

    /// <summary>The longest request, input plus output tokens.</summary>
    public int MaxModelLen { get; init; } = 131_072;

    /// <summary>How arrivals reach replicas.</summary>
    public ServingRouting Routing { get; init; }

    /// <summary>Whether full prompt blocks a replica holds are reused by later requests with the same prefix (vLLM's automatic prefix caching).</summary>
    public bool PrefixCaching { get; init; } = true;

    /// <summary>Prompt tokens per entry of a trace's hash_ids.</summary>
    public int HashBlockTokens { get; init; } = 512;

    /// <summary>Prefix-aware routing's weights: cached prefix, queue depth, KV use.</summary>
    public (double PrefixCache, double QueueDepth, double KvUtilization) RoutingWeights { get; init; } = (2, 1, 1);

    /// <summary>Whether a preempted request generates its output again from the first token (BLIS) rather than going on (vLLM).</summary>
    public bool RestartOnPreemption { get; init; }

    /// <summary>Whether a replica whose batch empties takes new requests during its last step (BLIS's behaviour; off, it is busy until the step ends).</summary>
    public bool OverlapLastStep { get; init; }

    /// <summary>How long steps are slower after a replica becomes ready.</summary>
    public Duration Warmup { get; init; }

    /// <summary>How much slower steps are during warm-up.</summary>
    public double WarmupSlowdown { get; init; } = 1;

    /// <summary>How long a released replica may finish its running requests.</summary>
    public Duration DrainTimeout { get; init; } = Duration.FromSeconds(600);

    /// <summary>Input tokens for traces without them; null to require them in the trace.</summary>
    public TokenDistribution? InputTokens { get; init; }

    /// <summary>Output tokens for traces without them; null to require them in the trace.</summary>
    public TokenDistribution? OutputTokens { get; init; }

    /// <summary>Prefill and decode on separate pools; null for a fleet whose replicas do both.</summary>
    public Disaggregation? Disaggregation { get; init; }

    /// <summary>The step-time model a policy sees (<see cref="ScalingSignal.Performance"/>), for replicas of <paramref name="gpus"/> GPUs.</summary>
    public ServingPerformance Performance(int gpus) =>
        new(BaseSeconds, PerPrefillTokenSeconds, PerPrefillAttentionTokenSeconds, PerDecodeTokenSeconds, PerDecodeContextTokenSeconds, MaxSequences, MaxBatchedTokens, KvCacheTokens, gpus);

    /// <summary>
    /// A replica's nominal request rate in a pool: the whole request colocated (<see cref="NominalRate(double, double)"/>), its prompt alone
    /// in the prefill pool, its output alone (with the prompt as context) in the decode pool.
    /// </summary>
    public double NominalRate(double input, double output, ServingPool pool)
    {
        if (pool == ServingPool.Colocated)
        {
            return NominalRate(input, output);
        }

        var i = Math.Max(1, input);
        if (pool == ServingPool.Prefill)
        {
            // Prompts back to back in full steps of maxBatchedTokens prompt tokens.
            var step = BaseSeconds + (MaxBatchedTokens * PerPrefillTokenSeconds) + (MaxBatchedTokens * Math.Min(i, MaxBatchedTokens) * PerPrefillAttentionTokenSeconds);
            return MaxBatchedTokens / step / i;
        }

        var o = Math.Max(1, output);
        var perRequestBlocks = Math.Max(1, Math.Ceiling((i + o) / BlockTokens));
        var b = Math.Max(1, Math.Min(MaxSequences, Math.Floor(KvBlocks / perRequestBlocks)));
        return b / (o * (BaseSeconds + (b * (PerDecodeTokenSeconds + ((i + (o / 2)) * PerDecodeContextTokenSeconds)))));
    }

    /// <summary>KV blocks per replica.</summary>
    public long KvBlocks => KvCacheTokens / BlockTokens;

    /// <summary>The profile of <paramref name="options"/> (validated by the caller).</summary>
    public static ServingProfile From(ServingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ServingProfile
        {
            BaseSeconds = options.StepSeconds?.Base ?? throw new ArgumentException("stepSeconds.base is required", nameof(options)),
            PerPrefillTokenSeconds = options.StepSeconds.PerPrefillToken,
            PerDecodeTokenSeconds = options.StepSeconds.PerDecodeToken,
            PerPrefillAttentionTokenSeconds = options.StepSeconds.PerPrefillAttentionToken,
            PerDecodeContextTokenSeconds = options.StepSeconds.PerDecodeContextToken,
            RequestOverheadSeconds = options.RequestOverheadSeconds,
            PerInputTokenOverheadSeconds = options.PerInputTokenOverheadSeconds,
            PerOutputTokenOverheadSeconds = options.PerOutputTokenOverheadSeconds,
            MaxSequences = options.MaxSequences,
            MaxBatchedTokens = options.MaxBatchedTokens,
            KvCacheTokens = options.KvCacheTokens,
            BlockTokens = options.BlockTokens,
            MaxModelLen = options.MaxModelLen,
            Routing = options.Routing switch
            {
                "round-robin" => ServingRouting.RoundRobin,
                "shared-queue" => ServingRouting.SharedQueue,
                "prefix-aware" => ServingRouting.PrefixAware,
                _ => ServingRouting.LeastLoaded,
            },
            PrefixCaching = options.PrefixCaching,
            HashBlockTokens = options.HashBlockTokens,
            RoutingWeights = options.RoutingWeights is { } w ? (w.PrefixCache, w.QueueDepth, w.KvUtilization) : (2, 1, 1),
            RestartOnPreemption = options.Preemption == "restart",
            OverlapLastStep = options.OverlapLastStep,
            Warmup = options.WarmupSeconds,
            WarmupSlowdown = options.WarmupSlowdown,
            DrainTimeout = options.DrainTimeoutSeconds,
            InputTokens = TokenDistribution.From(options.Tokens?.Input),
            OutputTokens = TokenDistribution.From(options.Tokens?.Output),
        };
    }

    /// <summary>
    /// A replica's nominal request rate at mean input <paramref name="input"/> and output <paramref name="output"/> tokens:
    /// with B = min(maxSequences, the requests of that size the KV cache holds),
    /// B / (o * base + B * (i * perPrefillToken + o * perDecodeToken)).
    /// </summary>
    public double NominalRate(double input, double output)
    {
        var o = Math.Max(1, output);
        var i = Math.Max(0, input);
        var perRequestBlocks = Math.Max(1, Math.Ceiling((i + o) / BlockTokens));
        var b = Math.Max(1, Math.Min(MaxSequences, Math.Floor(KvBlocks / perRequestBlocks)));
        // The context terms at the mean sizes: a prompt's attention i * i (one chunk), a decoding sequence's context i + o / 2 on average.
        var perRequest = (i * PerPrefillTokenSeconds) + (o * PerDecodeTokenSeconds) + (i * i * PerPrefillAttentionTokenSeconds) + (o * (i + (o / 2)) * PerDecodeContextTokenSeconds);
        return b / ((o * BaseSeconds) + (b * perRequest));
    }
}

/// <summary>A distribution of token counts, drawn per request from a stream keyed by (seed, request ordinal).</summary>
public sealed record TokenDistribution
{
    private double[]? _cumulative;

    /// <summary>Every draw, when fixed.</summary>
    public int? Fixed { get; init; }

    /// <summary>The log-normal's median.</summary>
    public double? Median { get; init; }

    /// <summary>The log-normal's sigma.</summary>
    public double Sigma { get; init; }

    /// <summary>An empirical histogram: token counts and their weights.</summary>
    public IReadOnlyList<(int Tokens, double Weight)>? Histogram { get; init; }

    /// <summary>The distribution of <paramref name="options"/>; null for none.</summary>
    public static TokenDistribution? From(TokenDistributionOptions? options) => options switch
    {
        null => null,
        { Fixed: { } f } => new TokenDistribution { Fixed = f },
        { Median: { } m } => new TokenDistribution { Median = m, Sigma = options.Sigma ?? 0 },
        { Histogram: { } h } => new TokenDistribution { Histogram = h.Select(p => ((int)p[0], p[1])).ToArray() },
        _ => null,
    };

    /// <summary>The draw for request <paramref name="ordinal"/> from the stream <paramref name="seed"/>, <paramref name="side"/> (0 input, 1 output): at least 1.</summary>
    public int Draw(long seed, long ordinal, int side)
    {
        if (Fixed is { } f)
        {
            return f;
        }

        var u1 = Uniform(seed, ordinal, side * 2);
        if (Median is { } median)
        {
            var u2 = Uniform(seed, ordinal, (side * 2) + 1);
            var normal = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            var value = median * Math.Exp(Sigma * normal);
            return (int)Math.Clamp(Math.Round(value), 1, 100_000_000);
        }

        var cumulative = _cumulative ??= Cumulative(Histogram!);
        var target = u1 * cumulative[^1];
        var index = Array.BinarySearch(cumulative, target);
        index = index < 0 ? ~index : index;
        return Histogram![Math.Min(index, Histogram.Count - 1)].Tokens;
    }

    /// <summary>The mean of the distribution.</summary>
    public double Mean()
    {
        if (Fixed is { } f)
        {
            return f;
        }

        if (Median is { } m)
        {
            return m * Math.Exp(Sigma * Sigma / 2);
        }

        var total = Histogram!.Sum(p => p.Weight);
        return Histogram!.Sum(p => p.Tokens * p.Weight) / total;
    }

    private static double[] Cumulative(IReadOnlyList<(int Tokens, double Weight)> histogram)
    {
        var c = new double[histogram.Count];
        double sum = 0;
        for (var i = 0; i < c.Length; i++)
        {
            sum += histogram[i].Weight;
            c[i] = sum;
        }

        return c;
    }

    /// <summary>A uniform draw in (0, 1) from SplitMix64 over (seed, ordinal, lane): the same for every candidate and thread.</summary>
    internal static double Uniform(long seed, long ordinal, int lane)
    {
        var x = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL) ^ unchecked((ulong)ordinal * 0xBF58476D1CE4E5B9UL) ^ unchecked((ulong)lane * 0x94D049BB133111EBUL);
        x = unchecked(x + 0x9E3779B97F4A7C15UL);
        x = unchecked((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL);
        x = unchecked((x ^ (x >> 27)) * 0x94D049BB133111EBUL);
        x ^= x >> 31;
        return ((x >> 11) + 0.5) / (1UL << 53);
    }
}
