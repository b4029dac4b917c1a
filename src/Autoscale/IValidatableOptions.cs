using System.Diagnostics.CodeAnalysis;

namespace Autoscale;

/// <summary>
/// Options that check the rules between their values (a minimum below a maximum). The unit and range of each
/// value are declared with <see cref="OptionAttribute"/> and checked by <see cref="OptionRules"/>, which also
/// calls <see cref="Validate"/>; policies check their options when they are built.
/// </summary>
/// <remarks>The public properties of implementations are kept for reflection (options are bound and checked by name).</remarks>
[DynamicallyAccessedMembers(OptionRules.Members)]
public interface IValidatableOptions
{
    /// <summary>Every rule between options that is broken, one whole sentence each naming the options and their values; empty when valid.</summary>
    IReadOnlyList<string> Validate();
}
