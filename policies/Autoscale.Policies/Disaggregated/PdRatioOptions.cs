namespace Autoscale.Policies.Disaggregated;

/// <summary>Options of <see cref="PdRatioPolicy"/>.</summary>
public sealed class PdRatioOptions : IValidatableOptions
{
    /// <summary>Decode replicas per prefill replica: the decode pool is this times the prefill pool, rounded up.</summary>
    [Option(Unit = "x", Min = 0, Max = 1000)]
    public double Ratio { get; set; } = 1;

    /// <summary>The fewest decode replicas.</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int MinReplicas { get; set; } = 1;

    /// <summary>The most decode replicas.</summary>
    [Option(Unit = "replicas", Min = 1)]
    public int MaxReplicas { get; set; } = 100;

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() =>
        MinReplicas > MaxReplicas ? [$"minReplicas ({MinReplicas}) must not exceed maxReplicas ({MaxReplicas})"] : [];
}
