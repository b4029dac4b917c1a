namespace Autoscale.Policies.Textbook;

/// <summary>Options of <see cref="TextbookPolicy"/>: the always-on base and the warm spares above it.</summary>
public sealed class TextbookOptions : IValidatableOptions
{
    /// <summary>Replicas needed for steady traffic, always on (the seed's <c>N_BASE</c>). Default 2.</summary>
    public int BaseReplicas { get; set; } = 2;

    /// <summary>Warm spare replicas held above the base (the seed's <c>warm_spares</c>). Default 0.</summary>
    public int Spares { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (BaseReplicas < 0)
        {
            errors.Add($"BaseReplicas ({BaseReplicas}) must be >= 0");
        }

        if (Spares < 0)
        {
            errors.Add($"Spares ({Spares}) must be >= 0");
        }

        return errors;
    }
}
