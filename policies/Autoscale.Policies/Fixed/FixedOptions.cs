namespace Autoscale.Policies.Fixed;

/// <summary>Options of <see cref="FixedPolicy"/>.</summary>
public sealed class FixedOptions : IValidatableOptions
{
    /// <summary>The replica count to hold.</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int Replicas { get; set; } = 1;

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}
