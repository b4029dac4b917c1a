using System.Globalization;

namespace Autoscale.Config.Hardware;

/// <summary>
/// The roofline times one step's work takes on a replica of <c>tensorParallel</c> GPUs, per unit of each step feature:
/// the basis the calibration's factors multiply (after BLIS's trained-physics model; our own code from its equations).
/// </summary>
/// <param name="ComputePerToken">Seconds of projection and MLP FLOPs per token at the GPU's peak (a mixture of experts counts the experts a token runs).</param>
/// <param name="AttentionPerContextToken">Seconds of attention FLOPs per token and context token at the peak, times 1.5 (BLIS's prefill basis, chunk x (prompt + chunk / 2), on a prompt of one chunk).</param>
/// <param name="KvPerToken">Seconds to move one token's keys and values (every layer, this GPU's heads) at memory bandwidth.</param>
/// <param name="WeightSeconds">Seconds to read this GPU's share of the layers' weights (every expert) at memory bandwidth.</param>
/// <param name="CommPerToken">Seconds of the tensor-parallel all-reduces per token (two per layer, a hidden state each, ring) at interconnect bandwidth; 0 on one GPU.</param>
/// <param name="Layers">The model's layers.</param>
internal sealed record StepBasis(double ComputePerToken, double AttentionPerContextToken, double KvPerToken, double WeightSeconds, double CommPerToken, int Layers);

/// <summary>A serving profile derived from a model and a GPU, with how each number came about.</summary>
public sealed record DerivedProfile(
    double BaseSeconds,
    double PerPrefillTokenSeconds,
    double PerPrefillAttentionTokenSeconds,
    double PerDecodeTokenSeconds,
    double PerDecodeContextTokenSeconds,
    double RequestOverheadSeconds,
    double PerOutputTokenOverheadSeconds,
    long KvCacheTokens,
    int MaxModelLen,
    IReadOnlyList<string> Derivation);

/// <summary>Derives a serving profile from a model, a GPU, the tensor-parallel degree, the weights' type and a calibration.</summary>
internal static class HardwareModel
{
    /// <summary>Memory vLLM's activations take on a replica (llm-d-benchmark's capacity planner, as BLIS uses it): 5.5 GiB dense, 8 GiB for a mixture of experts.</summary>
    private const double ActivationGiBDense = 5.5, ActivationGiBMoE = 8;

    /// <summary>Memory outside PyTorch per GPU (CUDA context, NCCL buffers): 0.15 GiB alone, 0.6 GiB with tensor parallelism.</summary>
    private const double NonTorchGiBAlone = 0.15, NonTorchGiBParallel = 0.6;

    private const double GiB = 1024.0 * 1024 * 1024;

    /// <summary>The basis of <paramref name="model"/> on <paramref name="tp"/> x <paramref name="gpu"/> with weights of <paramref name="dtype"/>.</summary>
    public static StepBasis Basis(ModelSpec model, GpuSpec gpu, int tp, string dtype)
    {
        var flops = Peak(gpu, dtype);
        var bandwidth = gpu.HbmTBs * 1e12;
        var weightBytes = WeightBytes(dtype);
        double L = model.Layers, d = model.Hidden;
        var activeExperts = model.IsMoE ? model.ExpertsPerToken : 1;
        var perTokenFlops = L * 2 * ((d * ((2 * model.QueryWidth) + (2 * model.KvWidth))) + (model.MlpMatrices * d * model.Intermediate * activeExperts)) / tp;
        var attention = 1.5 * L * 4 * ((double)model.Heads / tp) * model.HeadDim / flops;
        var kv = L * 2 * (Math.Max(1.0, (double)model.KvHeads / tp) * model.HeadDim) * 2 / bandwidth;
        var weights = L * (model.AttentionParameters + model.MlpParameters) * weightBytes / tp / bandwidth;
        var comm = tp > 1 ? 2 * L * d * 2 * 2 * (tp - 1.0) / tp / (gpu.InterconnectGBs * 1e9) : 0;
        return new StepBasis(perTokenFlops / flops, attention, kv, weights, comm, model.Layers);
    }

    /// <summary>FLOP/s a GPU computes with weights of <paramref name="dtype"/>: FP8 tensor cores for FP8 weights where there are some.</summary>
    public static double Peak(GpuSpec gpu, string dtype) => (dtype == "fp8" && gpu.Fp8Tflops > 0 ? gpu.Fp8Tflops : gpu.Bf16Tflops) * 1e12;

    /// <summary>Bytes per weight.</summary>
    public static double WeightBytes(string dtype) => dtype == "fp8" ? 1 : 2;

    /// <summary>The profile of <paramref name="model"/> on <paramref name="tp"/> x <paramref name="gpu"/>; throws <see cref="ArgumentException"/> with a one-line reason when it cannot serve there.</summary>
    public static DerivedProfile Derive(ModelSpec model, GpuSpec gpu, int tp, string dtype, double memoryUtilization, HardwareCalibration c)
    {
        if (model.Heads % tp != 0)
        {
            throw new ArgumentException($"the model's {model.Heads} attention heads do not divide among {tp} GPUs (tensorParallel must divide them)");
        }

        if (model.KvHeads % tp != 0 && tp % model.KvHeads != 0)
        {
            throw new ArgumentException($"the model's {model.KvHeads} KV heads and {tp} GPUs: one must divide the other (vLLM shards or replicates KV heads)");
        }

        var b = Basis(model, gpu, tp, dtype);
        var weightGiB = model.Parameters * WeightBytes(dtype) / GiB;
        var available = gpu.MemoryGiB * memoryUtilization * tp;
        var reserve = (model.IsMoE ? ActivationGiBMoE : ActivationGiBDense) + ((tp == 1 ? NonTorchGiBAlone : NonTorchGiBParallel) * tp);
        var kvBytesPerToken = model.Layers * 2.0 * Math.Max(model.KvWidth, (long)tp * model.HeadDim) * 2;
        var free = available - weightGiB - reserve;
        if (free <= 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"the weights ({weightGiB:0.#} GiB in {dtype}) and the activation reserve ({reserve:0.#} GiB) do not fit in {tp} x {gpu.Name} at gpuMemoryUtilization {memoryUtilization} ({available:0.#} GiB); use more GPUs (tensorParallel) or fp8"));
        }

        var kvTokens = (long)Math.Floor(free * GiB / kvBytesPerToken);
        var derivation = new List<string>
        {
            Line($"model {model.Id}: {model.Layers} layers, hidden {model.Hidden}, MLP {model.Intermediate} x {model.MlpMatrices} matrices{(model.IsMoE ? $" x {model.Experts} experts ({model.ExpertsPerToken} a token)" : "")}, {model.Heads} heads ({model.KvHeads} KV) of {model.HeadDim}; {model.Parameters / 1e9:0.##} B parameters"),
            Line($"gpu {gpu.Name} x {tp}: {Peak(gpu, dtype) / 1e12:0.#} TFLOPS ({(dtype == "fp8" && gpu.Fp8Tflops > 0 ? "FP8" : "BF16")}), {gpu.HbmTBs} TB/s, {gpu.MemoryGiB} GiB, interconnect {gpu.InterconnectGBs} GB/s ({gpu.Source})"),
            Line($"calibration {c.Name}: prefill compute x {c.PrefillCompute}, decode memory x {c.DecodeMemory}, decode compute x {c.DecodeCompute}, weights x {c.WeightLoad}, all-reduce x {c.TensorParallelComm:0.######}, {c.PerLayerSeconds * 1e6:0.###} us a layer, {c.PerSequenceSeconds * 1e6:0.###} us a sequence, {c.PerStepSeconds * 1e6:0.###} us a step"),
            Line($"base = weights {b.WeightSeconds * 1e3:0.###} ms x {c.WeightLoad} + {model.Layers} layers x {c.PerLayerSeconds * 1e6:0.###} us + {c.PerStepSeconds * 1e6:0.###} us"),
            Line($"perPrefillToken = compute {b.ComputePerToken * 1e6:0.####} us x {c.PrefillCompute} + KV write {b.KvPerToken * 1e6:0.####} us x {c.PrefillMemory} + all-reduce {b.CommPerToken * 1e6:0.####} us x {c.TensorParallelComm:0.####}"),
            Line($"perPrefillAttentionToken = attention {b.AttentionPerContextToken * 1e9:0.####} ns x {c.PrefillCompute}"),
            Line($"perDecodeToken = compute {b.ComputePerToken * 1e6:0.####} us x {c.DecodeCompute} + KV write {b.KvPerToken * 1e6:0.####} us x {c.DecodeMemory} + all-reduce {b.CommPerToken * 1e6:0.####} us x {c.TensorParallelComm:0.####} + {c.PerSequenceSeconds * 1e6:0.###} us a sequence"),
            Line($"perDecodeContextToken = KV read {b.KvPerToken * 1e9:0.####} ns x {c.DecodeMemory} + attention {b.AttentionPerContextToken / 1.5 * 1e9:0.####} ns x {c.DecodeCompute}"),
            Line($"kvCacheTokens = ({gpu.MemoryGiB} GiB x {memoryUtilization} x {tp} - weights {weightGiB:0.##} GiB - reserve {reserve:0.##} GiB) / {kvBytesPerToken / 1024:0.###} KiB a token"),
            Line($"maxModelLen = max_position_embeddings {model.MaxPositions}{(kvTokens < model.MaxPositions ? $", cut to the KV cache's {kvTokens} tokens" : "")}"),
            Line($"requestOverheadSeconds = {c.RequestOverheadSeconds * 1e3:0.###} ms, perOutputTokenOverheadSeconds = {c.PerOutputTokenOverheadSeconds * 1e6:0.###} us (the calibration's time outside the GPU)"),
        };

        return new DerivedProfile(
            BaseSeconds: (c.WeightLoad * b.WeightSeconds) + (c.PerLayerSeconds * b.Layers) + c.PerStepSeconds,
            PerPrefillTokenSeconds: (c.PrefillCompute * b.ComputePerToken) + (c.PrefillMemory * b.KvPerToken) + (c.TensorParallelComm * b.CommPerToken),
            PerPrefillAttentionTokenSeconds: c.PrefillCompute * b.AttentionPerContextToken,
            PerDecodeTokenSeconds: (c.DecodeCompute * b.ComputePerToken) + (c.DecodeMemory * b.KvPerToken) + (c.TensorParallelComm * b.CommPerToken) + c.PerSequenceSeconds,
            PerDecodeContextTokenSeconds: (c.DecodeMemory * b.KvPerToken) + (c.DecodeCompute * b.AttentionPerContextToken / 1.5),
            RequestOverheadSeconds: c.RequestOverheadSeconds,
            PerOutputTokenOverheadSeconds: c.PerOutputTokenOverheadSeconds,
            KvCacheTokens: kvTokens,
            MaxModelLen: (int)Math.Min(model.MaxPositions, kvTokens),
            Derivation: derivation);
    }

    /// <summary>
    /// The step features a calibration's factors multiply, in the order of <see cref="Factors"/>: for a prefill of
    /// <paramref name="prefillTokens"/> with <paramref name="attention"/> (sum of chunk x context), and
    /// <paramref name="decoding"/> sequences reading <paramref name="context"/> context tokens.
    /// </summary>
    public static double[] Features(StepBasis b, double prefillTokens, double attention, double decoding, double context) =>
    [
        (b.ComputePerToken * prefillTokens) + (b.AttentionPerContextToken * attention), // prefill compute
        b.KvPerToken * (decoding + context), // decode memory
        (b.ComputePerToken * decoding) + (b.AttentionPerContextToken / 1.5 * context), // decode compute
        b.WeightSeconds, // weight load
        b.CommPerToken * (prefillTokens + decoding), // all-reduce
        b.Layers, // per layer
        decoding, // per sequence
        1, // per step
    ];

    /// <summary>The factors <see cref="Features"/> pairs with, from a calibration.</summary>
    public static double[] Factors(HardwareCalibration c) =>
        [c.PrefillCompute, c.DecodeMemory, c.DecodeCompute, c.WeightLoad, c.TensorParallelComm, c.PerLayerSeconds, c.PerSequenceSeconds, c.PerStepSeconds];

    /// <summary>A calibration with <paramref name="factors"/> (as <see cref="Factors"/> orders them) over <paramref name="start"/>.</summary>
    public static HardwareCalibration WithFactors(HardwareCalibration start, string name, double[] factors) => start with
    {
        Name = name,
        PrefillCompute = factors[0],
        PrefillMemory = 0,
        DecodeMemory = factors[1],
        DecodeCompute = factors[2],
        WeightLoad = factors[3],
        TensorParallelComm = factors[4],
        PerLayerSeconds = factors[5],
        PerSequenceSeconds = factors[6],
        PerStepSeconds = factors[7],
    };

    private static string Line(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
