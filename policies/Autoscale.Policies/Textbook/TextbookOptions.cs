namespace Autoscale.Policies.Textbook;

/// <summary>Options of <see cref="TextbookPolicy"/>: the always-on base and the warm spares above it.</summary>
public sealed class TextbookOptions : IValidatableOptions
{
    /// <summary>Replicas needed for steady traffic, always on (the seed's <c>N_BASE</c>).</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int BaseReplicas { get; set; } = 2;

    /// <summary>Warm spare replicas held above the base (the seed's <c>warm_spares</c>).</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int Spares { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}
