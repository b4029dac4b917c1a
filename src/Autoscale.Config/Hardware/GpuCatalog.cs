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
