namespace Autoscale.Config.Hardware;

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
