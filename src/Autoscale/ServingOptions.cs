using NodaTime;
namespace Autoscale;

/// <summary>
/// A replica's serving profile (<c>replica.serving</c>): how a continuously batching model server (vLLM, SGLang, TGI)
/// turns tokens into time. Absent, a replica serves <c>capacityRps</c> requests per second.
/// </summary>
/// <remarks>
/// One step's time is <c>stepSeconds.base + stepSeconds.perPrefillToken * prefill tokens scheduled +
/// stepSeconds.perDecodeToken * sequences decoding</c>: the linear model of BLIS (inference-sim), whose
/// scheduler docs/serving.md describes step by step.
/// </remarks>
public sealed class ServingOptions : IValidatableOptions
{
    /// <summary>The step-time coefficients (optional with <see cref="Hardware"/>, which derives them; a coefficient given here overrides the derived one).</summary>
    [Option]
    public StepSecondsOptions? StepSeconds { get; set; }

    /// <summary>
    /// The model and the GPU the replica serves with: every step coefficient, <c>kvCacheTokens</c>, <c>maxModelLen</c> and
    /// the time outside the GPU are derived from them (<c>autoscale serving profile</c> prints how); a field given
    /// explicitly beside it overrides the derived one.
    /// </summary>
    [Option]
    public HardwareOptions? Hardware { get; set; }

    /// <summary>Requests running at once in one replica's batch (vLLM's <c>max_num_seqs</c>).</summary>
    [Option(Unit = "requests", Min = 1, Max = 1_000_000)]
    public int MaxSequences { get; set; } = 256;

    /// <summary>Prefill plus decode tokens scheduled in one step (vLLM's <c>max_num_batched_tokens</c>).</summary>
    [Option(Unit = "tokens", Min = 1, Max = 100_000_000)]
    public int MaxBatchedTokens { get; set; } = 8192;

    /// <summary>Tokens the KV cache of one replica holds.</summary>
    [Option(Unit = "tokens", Min = 1, Max = 1e12)]
    public long KvCacheTokens { get; set; } = 1_000_000;

    /// <summary>Tokens per KV cache block.</summary>
    [Option(Unit = "tokens", Min = 1, Max = 65_536)]
    public int BlockTokens { get; set; } = 16;

    /// <summary>The longest request, input plus output tokens.</summary>
    [Option(Unit = "tokens", Min = 1, Max = 100_000_000)]
    public int MaxModelLen { get; set; } = 131_072;

    /// <summary>
    /// <c>least-loaded</c> (fewest waiting plus running), <c>round-robin</c>, <c>shared-queue</c> (held at the gateway until
    /// a replica admits it) or <c>prefix-aware</c> (the highest weighted score of cached prefix blocks, queue depth and KV
    /// use, as llm-d's scheduler and BLIS's weighted routing score replicas; see <see cref="RoutingWeights"/>).
    /// </summary>
    [Option]
    public string Routing { get; set; } = "least-loaded";

    /// <summary>The weights of <c>prefix-aware</c> routing's three scores (each 0 to 1 per replica; the highest sum wins, ties to the lowest index).</summary>
    [Option]
    public RoutingWeightOptions? RoutingWeights { get; set; }

    /// <summary>
    /// Prefix caching (vLLM V1's automatic prefix caching, on by default): a prompt's full KV blocks that a replica already
    /// holds (from any earlier request with the same prefix, kept until evicted least recently used) are not prefilled
    /// again. Needs a trace with prefix columns (<c>hash_ids</c>, or <c>prefix_group</c> with <c>prefix_tokens</c>);
    /// without them no request shares a block and the replay is as without caching.
    /// </summary>
    [Option]
    public bool PrefixCaching { get; set; } = true;

    /// <summary>Prompt tokens each entry of a trace's <c>hash_ids</c> covers (Mooncake's 512); a multiple of <see cref="BlockTokens"/>.</summary>
    [Option(Unit = "tokens", Min = 1, Max = 1_048_576)]
    public int HashBlockTokens { get; set; } = 512;

    /// <summary>
    /// What a request preempted for KV space redoes: <c>recompute</c> (its prompt and the tokens it had generated are
    /// prefilled again and generation goes on, as vLLM does) or <c>restart</c> (its prompt is prefilled again and every
    /// output token generated again, as BLIS models it).
    /// </summary>
    [Option]
    public string Preemption { get; set; } = "recompute";

    /// <summary>
    /// Reproduce BLIS b563c440 where it departs from a real server: a replica whose batch empties (every request in it
    /// finishes in this step) with nothing queued takes a new request at once, during that last step, so two steps
    /// overlap; and with prefix caching a finishing request takes a KV slot for its last token too (a block from the free
    /// queue's head when that token starts one, which can evict a cached block), freed with the rest. Off, a replica is
    /// busy until its step ends and the last token takes no slot, as in vLLM. For comparisons with BLIS only.
    /// </summary>
    [Option]
    public bool OverlapLastStep { get; set; }

    /// <summary>Seconds after a replica becomes ready during which its steps are slower by <see cref="WarmupSlowdown"/>.</summary>
    [Option(Unit = "s", Min = 0, Max = 86_400)]
    public Duration WarmupSeconds { get; set; }

    /// <summary>How much slower steps run during warm-up (1: not slower).</summary>
    [Option(Unit = "x", Min = 1, Max = 1000)]
    public double WarmupSlowdown { get; set; } = 1;

    /// <summary>Seconds a released replica may finish its running requests before they are dropped.</summary>
    [Option(Unit = "s", Min = 0, Max = 86_400)]
    public Duration DrainTimeoutSeconds { get; set; } = Duration.FromSeconds(600);

    /// <summary>Token counts for a trace that has none (each side optional when the trace has that column).</summary>
    [Option]
    public TokenOptions? Tokens { get; set; }

    /// <summary>Seconds from a request's arrival until it reaches the scheduler's queue (ingestion, tokenization): BLIS's alpha0.</summary>
    [Option(Unit = "s", Min = 0, Max = 60)]
    public double RequestOverheadSeconds { get; set; }

    /// <summary>Seconds per input token added to that time (tokenizing the prompt).</summary>
    [Option(Unit = "s", Min = 0, Max = 1e-3)]
    public double PerInputTokenOverheadSeconds { get; set; }

    /// <summary>Seconds each output token reaches the client after the one before it, outside the GPU (detokenizing, streaming): TTFT grows by one, end-to-end latency by the output tokens.</summary>
    [Option(Unit = "s", Min = 0, Max = 1)]
    public double PerOutputTokenOverheadSeconds { get; set; }

    /// <summary>
    /// Prefill and decode on separate pools (NVIDIA Dynamo, llm-d): a request is prefilled on a prefill replica, its KV
    /// cache moves to a decode replica, which generates its output. Each pool lays its own fields over this profile. A
    /// candidate then names a policy per pool (<c>"policies": {"prefill": {...}, "decode": {...}}</c>).
    /// </summary>
    [Option]
    public DisaggregationOptions? Disaggregation { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(StepSecondsOptions))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(DisaggregationOptions))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(TokenOptions))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(HardwareOptions))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(RoutingWeightOptions))]
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Hardware is null && StepSeconds?.Base is null)
        {
            errors.Add(StepSeconds is null
                ? "stepSeconds is required (or name the model and GPU with hardware, which derives it)"
                : "stepSeconds.base is required (or name the model and GPU with hardware, which derives it)");
        }

        if (Routing is not ("least-loaded" or "round-robin" or "shared-queue" or "prefix-aware"))
        {
            errors.Add($"routing (\"{Routing}\") must be \"least-loaded\", \"round-robin\", \"shared-queue\" or \"prefix-aware\"");
        }

        if (RoutingWeights is { } w && !(w.PrefixCache + w.QueueDepth + w.KvUtilization > 0))
        {
            errors.Add("routingWeights: at least one weight must be above 0");
        }

        if (HashBlockTokens % BlockTokens != 0)
        {
            errors.Add($"hashBlockTokens ({HashBlockTokens}) must be a multiple of blockTokens ({BlockTokens}): each hash covers whole KV blocks");
        }

        if (Preemption is not ("recompute" or "restart"))
        {
            errors.Add($"preemption (\"{Preemption}\") must be \"recompute\" or \"restart\"");
        }

        if (KvCacheTokens < BlockTokens)
        {
            errors.Add($"kvCacheTokens ({KvCacheTokens}) must hold at least one block of blockTokens ({BlockTokens})");
        }

        // A draw is capped at maxModelLen; a fixed count or a histogram entirely above it would cap every request,
        // which is no distribution the user meant.
        foreach (var (side, tokens) in new[] { ("input", Tokens?.Input), ("output", Tokens?.Output) })
        {
            var least = tokens?.Fixed ?? (tokens?.Histogram is { Count: > 0 } h && h.All(p => p is [_, _]) ? h.Where(p => p[1] > 0).Select(p => p[0]).DefaultIfEmpty(0).Min() : 0);
            if (least >= MaxModelLen)
            {
                errors.Add($"tokens.{side}: {(tokens!.Fixed is not null ? $"fixed ({least:0})" : $"every histogram entry (the least {least:0})")} must be below maxModelLen ({MaxModelLen}), the longest request, input and output together");
            }
        }

        return errors;
    }
}

/// <summary>The weights of <c>prefix-aware</c> routing (<c>replica.serving.routingWeights</c>); BLIS's and llm-d's default profile is 2, 1, 1.</summary>
public sealed class RoutingWeightOptions : IValidatableOptions
{
    /// <summary>Weight of the cached prefix score: the replica's leading cached blocks of the prompt, min-max scaled over the ready replicas (all equal: 1).</summary>
    [Option(Min = 0, Max = 1000)]
    public double PrefixCache { get; set; } = 2;

    /// <summary>Weight of the queue score: the replica's waiting requests, scaled so the fewest score 1 and the most 0 (all equal: 1).</summary>
    [Option(Min = 0, Max = 1000)]
    public double QueueDepth { get; set; } = 1;

    /// <summary>Weight of the free KV score: 1 minus the replica's used share of KV blocks.</summary>
    [Option(Min = 0, Max = 1000)]
    public double KvUtilization { get; set; } = 1;

    /// <inheritdoc />
    /// <remarks>The weights' one rule between them (one above 0) is <see cref="ServingOptions.Validate"/>'s, which names them with the routing.</remarks>
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>The model and GPU a serving profile is derived from (<c>replica.serving.hardware</c>).</summary>
public sealed class HardwareOptions : IValidatableOptions
{
    /// <summary>A model of the catalogue, by its Hugging Face id (<c>meta-llama/Llama-2-70b-hf</c>) or the id's last segment (<c>llama-2-70b-hf</c>, <c>Llama-2-70B</c>), case-insensitive; or the path of a Hugging Face <c>config.json</c>.</summary>
    [Option(Required = true)]
    public string? Model { get; set; }

    /// <summary>A GPU of the catalogue: H100-SXM, H100-PCIe, H200, A100-80GB, A100-40GB, L40S, L4, A10G, B200 (case-insensitive).</summary>
    [Option(Required = true)]
    public string? Gpu { get; set; }

    /// <summary>GPUs the model is sharded over (tensor parallelism); <c>replica.gpus</c> defaults to it.</summary>
    [Option(Unit = "GPUs", Min = 1, Max = 64)]
    public int TensorParallel { get; set; } = 1;

    /// <summary>The weights' data type: <c>bf16</c>, <c>fp16</c> or <c>fp8</c> (the KV cache is kept in 16 bits).</summary>
    [Option]
    public string Dtype { get; set; } = "bf16";

    /// <summary>The share of GPU memory the server may use (vLLM's <c>--gpu-memory-utilization</c>).</summary>
    [Option(Min = 0, MinExclusive = true, Max = 1)]
    public double GpuMemoryUtilization { get; set; } = 0.9;

    /// <summary>The correction factors and overheads of the hardware model (<c>autoscale serving fit</c> prints them); BLIS's trained set by default.</summary>
    [Option]
    public HardwareCalibrationOptions? Calibration { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(HardwareCalibrationOptions))]
    public IReadOnlyList<string> Validate() =>
        Dtype is "bf16" or "fp16" or "fp8" ? [] : [$"dtype (\"{Dtype}\") must be bf16, fp16 or fp8"];
}

/// <summary>
/// The factors the hardware model multiplies its roofline times by, and its fixed overheads: each left out takes the
/// calibration set's value (BLIS's trained-physics coefficients by default).
/// </summary>
public sealed class HardwareCalibrationOptions : IValidatableOptions
{
    /// <summary>The calibration set the other fields start from: <c>blis-trained-physics</c> (the default), <c>vidur-2024-prefill</c> (BLIS's with the prefill compute of Vidur's operator profiles, for prompts not prefix-cached) or <c>splitwise-2023</c>.</summary>
    [Option]
    public string? Name { get; set; }

    /// <summary>Times the prefill's compute (projections, MLP and attention FLOPs at the GPU's peak).</summary>
    [Option(Min = 0, Max = 100)]
    public double? PrefillCompute { get; set; }

    /// <summary>Times the decode's KV cache reads and writes at the GPU's memory bandwidth.</summary>
    [Option(Min = 0, Max = 100)]
    public double? DecodeMemory { get; set; }

    /// <summary>Times the decode's compute.</summary>
    [Option(Min = 0, Max = 100)]
    public double? DecodeCompute { get; set; }

    /// <summary>Times reading the weights once a step at the GPU's memory bandwidth.</summary>
    [Option(Min = 0, Max = 100)]
    public double? WeightLoad { get; set; }

    /// <summary>Times the tensor-parallel all-reduces (two per layer, a token's hidden state each).</summary>
    [Option(Min = 0, Max = 100)]
    public double? TensorParallelComm { get; set; }

    /// <summary>Seconds per layer per step (kernel launches, norms).</summary>
    [Option(Unit = "s", Min = 0, Max = 0.01)]
    public double? PerLayerSeconds { get; set; }

    /// <summary>Seconds per sequence in a step (scheduling, sampling).</summary>
    [Option(Unit = "s", Min = 0, Max = 0.01)]
    public double? PerSequenceSeconds { get; set; }

    /// <summary>Seconds per step, whatever it holds.</summary>
    [Option(Unit = "s", Min = 0, Max = 1)]
    public double? PerStepSeconds { get; set; }

    /// <summary>Seconds from arrival to the scheduler's queue, per request.</summary>
    [Option(Unit = "s", Min = 0, Max = 60)]
    public double? RequestOverheadSeconds { get; set; }

    /// <summary>Seconds each output token reaches the client after the one before it.</summary>
    [Option(Unit = "s", Min = 0, Max = 1)]
    public double? PerOutputTokenOverheadSeconds { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() =>
        Name is null or "blis-trained-physics" or "vidur-2024-prefill" or "splitwise-2023" ? [] : [$"name (\"{Name}\") must be blis-trained-physics, vidur-2024-prefill or splitwise-2023"];
}

/// <summary>The step-time coefficients of a serving profile, in seconds.</summary>
public sealed class StepSecondsOptions : IValidatableOptions
{
    /// <summary>Seconds every step takes, whatever it holds (must be positive; required without hardware).</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 60)]
    public double? Base { get; set; }

    /// <summary>Seconds per prefill (prompt) token scheduled in a step.</summary>
    [Option(Unit = "s", Min = 0, Max = 1)]
    public double PerPrefillToken { get; set; }

    /// <summary>Seconds per sequence decoding one token in a step.</summary>
    [Option(Unit = "s", Min = 0, Max = 1)]
    public double PerDecodeToken { get; set; }

    /// <summary>Seconds per prefill token and context token: times the sum, over the step's prefill chunks, of the chunk's tokens times the context at the chunk's end (attention, quadratic in a prompt's length).</summary>
    [Option(Unit = "s", Min = 0, Max = 1e-3)]
    public double PerPrefillAttentionToken { get; set; }

    /// <summary>Seconds per context token of the sequences decoding in a step (reading their KV cache).</summary>
    [Option(Unit = "s", Min = 0, Max = 1e-3)]
    public double PerDecodeContextToken { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>Where a replay takes token counts from when the trace has none: one distribution per side.</summary>
public sealed class TokenOptions : IValidatableOptions
{
    /// <summary>Input (prompt) tokens per request.</summary>
    [Option]
    public TokenDistributionOptions? Input { get; set; }

    /// <summary>Output tokens per request.</summary>
    [Option]
    public TokenDistributionOptions? Output { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(TokenDistributionOptions))]
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>
/// A distribution of token counts: <c>{"fixed": 500}</c>, <c>{"median": 500, "sigma": 1.0}</c> (log-normal), or
/// <c>{"histogram": [[tokens, weight], ...]}</c> (an empirical one). Draws are rounded to whole tokens, at least 1.
/// </summary>
public sealed class TokenDistributionOptions : IValidatableOptions
{
    /// <summary>Every request has this many tokens.</summary>
    [Option(Unit = "tokens", Min = 1, Max = 100_000_000)]
    public int? Fixed { get; set; }

    /// <summary>The median of a log-normal distribution.</summary>
    [Option(Unit = "tokens", Min = 1, Max = 100_000_000)]
    public double? Median { get; set; }

    /// <summary>The log-normal's sigma (standard deviation of the natural log).</summary>
    [Option(Min = 0, Max = 10)]
    public double? Sigma { get; set; }

    /// <summary>An empirical distribution: pairs of [tokens, weight].</summary>
    [Option]
    public List<List<double>>? Histogram { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate()
    {
        var kinds = (Fixed is null ? 0 : 1) + (Median is null && Sigma is null ? 0 : 1) + (Histogram is null ? 0 : 1);
        if (kinds != 1)
        {
            return ["give exactly one of fixed, median with sigma (log-normal), or histogram"];
        }

        if ((Median is null) != (Sigma is null))
        {
            return ["a log-normal needs both median and sigma"];
        }

        if (Histogram is { } h)
        {
            if (h.Count == 0)
            {
                return ["histogram must have at least one [tokens, weight] pair"];
            }

            for (var i = 0; i < h.Count; i++)
            {
                if (h[i] is not [var tokens, var weight] || !double.IsFinite(tokens) || !double.IsFinite(weight)
                    || tokens < 1 || tokens > 100_000_000 || tokens != Math.Floor(tokens) || weight < 0)
                {
                    return [$"histogram[{i}] must be [tokens, weight]: a whole number of tokens from 1 to 100000000 and a weight >= 0"];
                }
            }

            if (h.Sum(p => p[1]) <= 0)
            {
                return ["histogram's weights must add up to more than 0"];
            }
        }

        return [];
    }
}

/// <summary>Prefill and decode pools of a disaggregated fleet, and the KV cache transfer between them.</summary>
public sealed class DisaggregationOptions : IValidatableOptions
{
    /// <summary>The prefill pool: any of <c>replica.serving</c>'s fields it changes (<c>hardware</c>, <c>stepSeconds</c>, <c>maxBatchedTokens</c>, ...), and <c>gpus</c> and <c>dollarsPerGpuHour</c> of its replicas (default: the replica section's).</summary>
    [Option(Required = true)]
    public System.Text.Json.JsonElement Prefill { get; set; }

    /// <summary>The decode pool, as <c>prefill</c>.</summary>
    [Option(Required = true)]
    public System.Text.Json.JsonElement Decode { get; set; }

    /// <summary>How a request's KV cache moves from its prefill replica to its decode replica.</summary>
    [Option(Required = true)]
    public KvTransferOptions? KvTransfer { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(KvTransferOptions))]
    public IReadOnlyList<string> Validate() =>
    [
        .. Prefill.ValueKind == System.Text.Json.JsonValueKind.Object ? Array.Empty<string>() : [$"prefill must be an object of the pool's serving fields, not {Prefill.ValueKind.ToString().ToLowerInvariant()}"],
        .. Decode.ValueKind == System.Text.Json.JsonValueKind.Object ? Array.Empty<string>() : [$"decode must be an object of the pool's serving fields, not {Decode.ValueKind.ToString().ToLowerInvariant()}"],
    ];
}

/// <summary>
/// The KV cache transfer of a disaggregated fleet (NIXL over RDMA in Dynamo and llm-d): a request's prompt blocks, whole,
/// cross one link per GPU of its prefill replica in parallel, after a fixed latency.
/// </summary>
public sealed class KvTransferOptions : IValidatableOptions
{
    /// <summary>Bandwidth of one GPU's link, in GB/s (10^9 bytes a second).</summary>
    [Option(Unit = "GB/s", Min = 0, MinExclusive = true, Max = 1e6, Required = true)]
    public double BandwidthGBps { get; set; }

    /// <summary>Fixed time of every transfer before its bytes move.</summary>
    [Option(Unit = "s", Min = 0, Max = 60)]
    public Duration BaseLatencySeconds { get; set; } = Duration.FromNanoseconds(50_000);

    /// <summary>KV cache bytes of one token over the whole model; default: from the prefill pool's hardware (layers x 2 x KV heads x head dimension x the dtype's bytes: 2, or 1 for fp8). Required without hardware.</summary>
    [Option(Unit = "bytes", Min = 0, MinExclusive = true, Max = 1e9)]
    public double? KvBytesPerToken { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}
