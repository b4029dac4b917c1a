using System.Diagnostics.CodeAnalysis;

namespace Autoscale.Policies.Catalog;

/// <summary>A policy the catalog can build by name: its options type and how to build it from them.</summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed class PolicyDescriptor
{
    private readonly Func<object, IScalingPolicy> _create;

    internal PolicyDescriptor(string name, [DynamicallyAccessedMembers(OptionsBinder.OptionsMembers)] Type optionsType, Func<object, IScalingPolicy> create, string summary)
    {
        Name = name;
        OptionsType = optionsType;
        Summary = summary;
        _create = create;
    }

    /// <summary>The name a config uses (<c>"policy": "textbook"</c>).</summary>
    public string Name { get; }

    /// <summary>The options class bound from a candidate's <c>options</c> object.</summary>
    [DynamicallyAccessedMembers(OptionsBinder.OptionsMembers)]
    public Type OptionsType { get; }

    /// <summary>One line on what the policy does.</summary>
    public string Summary { get; }

    /// <summary>Builds a policy from options of <see cref="OptionsType"/>; throws <see cref="InvalidOptionsException"/> when they are invalid.</summary>
    public IScalingPolicy Create(object options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!OptionsType.IsInstanceOfType(options))
        {
            throw new ArgumentException($"options of policy '{Name}' must be {OptionsType.Name}, not {options.GetType().Name}", nameof(options));
        }

        return _create(options);
    }
}
