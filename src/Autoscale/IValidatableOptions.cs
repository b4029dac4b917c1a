namespace Autoscale;

/// <summary>
/// Options that can say which of their rules they break. Policies validate their options when they
/// are built; the catalog and the live host also call <see cref="Validate"/> before building.
/// </summary>
public interface IValidatableOptions
{
    /// <summary>Every rule the options break, one message each naming option, value and rule; empty when valid.</summary>
    IReadOnlyList<string> Validate();
}
