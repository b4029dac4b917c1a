namespace Autoscale.Config.Hardware;

/// <summary>A GPU's datasheet figures.</summary>
/// <param name="Name">The catalogue's name.</param>
/// <param name="Bf16Tflops">Dense BF16 tensor throughput, TFLOPS (without sparsity).</param>
/// <param name="Fp8Tflops">Dense FP8 tensor throughput, TFLOPS; 0 without FP8 tensor cores (FP8 weights then compute in BF16).</param>
/// <param name="MemoryGiB">Device memory, GiB (as the driver reports it).</param>
/// <param name="HbmTBs">Memory bandwidth, TB/s.</param>
/// <param name="InterconnectGBs">GPU-to-GPU bandwidth, GB/s both ways together (NVLink, else PCIe).</param>
/// <param name="Source">Where the figures come from.</param>
internal sealed record GpuSpec(string Name, double Bf16Tflops, double Fp8Tflops, double MemoryGiB, double HbmTBs, double InterconnectGBs, string Source);

/// <summary>The GPUs a profile can name, from NVIDIA's datasheets.</summary>
internal static class GpuCatalog
{
    public static IReadOnlyList<GpuSpec> All { get; } =
    [
        new("A100-40GB", 312, 0, 40, 1.555, 600, "NVIDIA A100 datasheet (SXM): 312 TFLOPS BF16 dense, 1,555 GB/s, NVLink 600 GB/s"),
        new("A100-80GB", 312, 0, 80, 2.039, 600, "NVIDIA A100 datasheet (SXM 80GB): 312 TFLOPS BF16 dense, 2,039 GB/s, NVLink 600 GB/s"),
        new("H100-SXM", 989.5, 1979, 79.6, 3.35, 900, "NVIDIA H100 datasheet (SXM5): 989.5 TFLOPS BF16 and 1,979 FP8 dense, 3.35 TB/s, NVLink 900 GB/s"),
        new("H100-PCIe", 756, 1513, 79.6, 2.0, 600, "NVIDIA H100 datasheet (PCIe): 756 TFLOPS BF16 and 1,513 FP8 dense, 2.0 TB/s, NVLink bridge 600 GB/s"),
        new("H200", 989.5, 1979, 140.4, 4.8, 900, "NVIDIA H200 datasheet (SXM): 989.5 TFLOPS BF16 and 1,979 FP8 dense, 141 GB at 4.8 TB/s, NVLink 900 GB/s"),
        new("L40S", 362.05, 733, 45, 0.864, 64, "NVIDIA L40S datasheet: 362 TFLOPS BF16 and 733 FP8 dense, 48 GB at 864 GB/s, PCIe Gen4 x16 (64 GB/s)"),
        new("L4", 121, 242.5, 22.5, 0.3, 64, "NVIDIA L4 datasheet: 121 TFLOPS BF16 and 242.5 FP8 dense, 24 GB at 300 GB/s, PCIe Gen4 x16 (64 GB/s)"),
        new("A10G", 125, 0, 22.5, 0.6, 64, "NVIDIA A10 datasheet (the A10G is AWS's A10 variant; its own figures are unpublished): 125 TFLOPS BF16 dense, 24 GB at 600 GB/s, PCIe Gen4 x16"),
        new("B200", 2250, 4500, 179, 8.0, 1800, "NVIDIA HGX B200 datasheet: 2.25 PFLOPS BF16 and 4.5 FP8 dense per GPU, 180 GB at 8 TB/s, NVLink 1,800 GB/s"),
    ];

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["H100"] = "H100-SXM",
        ["H100-80GB"] = "H100-SXM",
        ["h100-80gb-pcap"] = "H100-SXM",
        ["A100"] = "A100-80GB",
        ["A100-80"] = "A100-80GB",
        ["A100-SXM"] = "A100-80GB",
        ["A100-40"] = "A100-40GB",
    };

    /// <summary>The GPU <paramref name="name"/> names (case-insensitive); null when none.</summary>
    public static GpuSpec? Find(string name)
    {
        var key = Aliases.TryGetValue(name.Trim(), out var alias) ? alias : name.Trim();
        return All.FirstOrDefault(g => string.Equals(g.Name, key, StringComparison.OrdinalIgnoreCase));
    }
}

/// <summary>
/// A calibration of the hardware model: the factors its roofline times are multiplied by and its fixed overheads. The
/// roofline basis follows BLIS's trained-physics model (inference-sim/inference-sim, Apache-2.0), written here from its
/// equations; the factors of the default set are its published coefficients.
/// </summary>
internal sealed record HardwareCalibration(
    string Name,
    double PrefillCompute,
    double PrefillMemory,
    double DecodeCompute,
    double DecodeMemory,
    double WeightLoad,
    double TensorParallelComm,
    double PerLayerSeconds,
    double PerSequenceSeconds,
    double PerStepSeconds,
    double RequestOverheadSeconds,
    double PerOutputTokenOverheadSeconds,
    string Source)
{
    /// <summary>
    /// BLIS's trained-physics coefficients: <c>trained_physics_coefficients</c> of its defaults.yaml at commit
    /// f90a1e3a6787da17c2cd463dab6fb2660b1b1760 ("iter29", fitted on vLLM v0.15 runs of four models on H100s). Its
    /// all-reduce factor (0.752 on a basis at HBM bandwidth) is converted to our basis at interconnect bandwidth on the
    /// H100 it was fitted on: 0.752 x 900 GB/s / 3,350 GB/s.
    /// </summary>
    public static HardwareCalibration BlisTrainedPhysics { get; } = new(
        "blis-trained-physics", PrefillCompute: 0.152128, PrefillMemory: 0, DecodeCompute: 0, DecodeMemory: 1.94710771, WeightLoad: 1.36252915,
        TensorParallelComm: 0.752037 * 900 / 3350, PerLayerSeconds: 32.09546717e-6, PerSequenceSeconds: 4.41684444e-6, PerStepSeconds: 126.024825e-6,
        RequestOverheadSeconds: 15563.199579e-6, PerOutputTokenOverheadSeconds: 45.907545e-6,
        "BLIS (inference-sim/inference-sim, Apache-2.0) defaults.yaml trained_physics_coefficients at f90a1e3, fitted on vLLM v0.15.1 on H100");

    /// <summary>The sets a config can name.</summary>
    public static IReadOnlyList<HardwareCalibration> Sets => [BlisTrainedPhysics, Splitwise2023, VidurPrefill];

    /// <summary>
    /// BLIS's set with the prefill compute factor Vidur's operator profiles imply (microsoft/vidur at 7d47513, MIT,
    /// data/profiling/compute/*/mlp.csv: projections, MLP, norms and activation of a layer on H100 and A100, 512 to 8,192
    /// tokens, TP 1 to 8; the median of measured over peak-FLOPs time is 1.62; tools/vidur-compare.py computes it). BLIS's
    /// 0.152 was fitted on runs with prefix caching, where most prompt tokens are never prefilled; for prompts that are,
    /// this set is the one.
    /// </summary>
    public static HardwareCalibration VidurPrefill { get; } = BlisTrainedPhysics with
    {
        Name = "vidur-2024-prefill",
        PrefillCompute = 1.62,
        Source = "BLIS's trained-physics set with the prefill compute factor of Vidur's operator profiles (microsoft/vidur data/profiling, MIT)",
    };

    /// <summary>
    /// Fitted by <c>HardwareFit</c> (a test re-derives it) on Splitwise's measured step times
    /// (data/calibration/splitwise-perf-model.csv, MIT; the power-capped rows left out): Llama-2-70B and BLOOM-176B on
    /// A100 and H100, a 2023 serving stack. The all-reduce factor is BLIS's (the data cannot tell it from compute); the
    /// time outside the GPU is BLIS's too (Splitwise measured none).
    /// </summary>
    public static HardwareCalibration Splitwise2023 { get; } = new(
        "splitwise-2023", PrefillCompute: 0.37780327766570104, PrefillMemory: 0, DecodeCompute: 1.1651198983619875, DecodeMemory: 0.7262501870179878, WeightLoad: 0.8185197103094158,
        TensorParallelComm: 0.20203979104477612, PerLayerSeconds: 0, PerSequenceSeconds: 3.781509278303437E-05, PerStepSeconds: 0.03101312902420043,
        RequestOverheadSeconds: 15563.199579e-6, PerOutputTokenOverheadSeconds: 45.907545e-6,
        "fitted on Splitwise's measured step times (Mutinifni/splitwise-sim data/perf_model.csv, MIT): Llama-2-70B and BLOOM-176B, A100 and H100, 2023");

    /// <summary>The set <paramref name="options"/> names (the default when it names none), with its fields over it.</summary>
    public static HardwareCalibration From(Autoscale.HardwareCalibrationOptions? options)
    {
        var set = options?.Name is { } name ? Sets.First(s => s.Name == name) : BlisTrainedPhysics;
        if (options is null)
        {
            return set;
        }

        return set with
        {
            Name = options.Name is null && HasOverrides(options) ? set.Name + " (with fitted fields)" : set.Name,
            PrefillCompute = options.PrefillCompute ?? set.PrefillCompute,
            DecodeCompute = options.DecodeCompute ?? set.DecodeCompute,
            DecodeMemory = options.DecodeMemory ?? set.DecodeMemory,
            WeightLoad = options.WeightLoad ?? set.WeightLoad,
            TensorParallelComm = options.TensorParallelComm ?? set.TensorParallelComm,
            PerLayerSeconds = options.PerLayerSeconds ?? set.PerLayerSeconds,
            PerSequenceSeconds = options.PerSequenceSeconds ?? set.PerSequenceSeconds,
            PerStepSeconds = options.PerStepSeconds ?? set.PerStepSeconds,
            RequestOverheadSeconds = options.RequestOverheadSeconds ?? set.RequestOverheadSeconds,
            PerOutputTokenOverheadSeconds = options.PerOutputTokenOverheadSeconds ?? set.PerOutputTokenOverheadSeconds,
        };
    }

    private static bool HasOverrides(Autoscale.HardwareCalibrationOptions o) =>
        o.PrefillCompute is not null || o.DecodeCompute is not null || o.DecodeMemory is not null || o.WeightLoad is not null || o.TensorParallelComm is not null
        || o.PerLayerSeconds is not null || o.PerSequenceSeconds is not null || o.PerStepSeconds is not null || o.RequestOverheadSeconds is not null || o.PerOutputTokenOverheadSeconds is not null;
}
