namespace Autoscale.Policies.Fixed;

/// <summary>Options of <see cref="FixedPolicy"/>.</summary>
public sealed class FixedOptions : IValidatableOptions
{
    /// <summary>The replica count to hold. Default 1.</summary>
    public int Replicas { get; set; } = 1;

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() =>
        Replicas < 0 ? [$"Replicas ({Replicas}) must be >= 0"] : [];
}
