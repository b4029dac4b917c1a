using System.Text.Json;

namespace Autoscale.Policies.Combinators;

/// <summary>Options of <see cref="MaxPolicy"/>: the policies whose largest answer is taken.</summary>
public sealed class MaxOptions : IValidatableOptions
{

    /// <summary>The policies (each: <c>policy</c>, a catalog name, and its <c>options</c>); the largest answer wins.</summary>
    [Option(Required = true)]
    public List<PolicyReference> Policies { get; set; } = [];

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(PolicyReference))]
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Policies.Count == 0)
        {
            errors.Add("policies must name at least one policy");
        }

        return errors;
    }
}

/// <summary>A policy named in another policy's options: its catalog name and its options object.</summary>
public sealed class PolicyReference : IValidatableOptions
{
    /// <summary>The catalog name, e.g. <c>scheduled-floor</c>.</summary>
    [Option(Required = true)]
    public string Policy { get; set; } = "";

    /// <summary>Its options, as in a candidate's <c>options</c>.</summary>
    [Option]
    public JsonElement Options { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}
