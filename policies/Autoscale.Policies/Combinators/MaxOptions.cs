using System.Text.Json;

namespace Autoscale.Policies.Combinators;

/// <summary>Options of <see cref="MaxPolicy"/>: the policies whose largest answer is taken.</summary>
public sealed class MaxOptions : IValidatableOptions
{
    /// <summary>The policies, each by catalog name with its options.</summary>
    public List<PolicyReference> Policies { get; set; } = [];

    /// <inheritdoc />
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Policies.Count == 0)
        {
            errors.Add("Policies must name at least one policy");
        }

        for (var i = 0; i < Policies.Count; i++)
        {
            if (Policies[i] is null || string.IsNullOrWhiteSpace(Policies[i].Policy))
            {
                errors.Add($"Policies[{i}].Policy must name a policy");
            }
        }

        return errors;
    }
}

/// <summary>A policy named in another policy's options: its catalog name and its options object.</summary>
public sealed class PolicyReference
{
    /// <summary>The catalog name, e.g. <c>scheduled-floor</c>.</summary>
    public string Policy { get; set; } = "";

    /// <summary>Its options, as in a candidate's <c>options</c>.</summary>
    public JsonElement Options { get; set; }
}
