using Autoscale.Policies.Fixed;
using Autoscale.Policies.Textbook;

namespace Autoscale.Policies.Catalog;

/// <summary>
/// Finds a policy by the name a backtest config or the live host's configuration gives it.
/// The backtest and the live host share this catalog, so a name means the same policy in both.
/// </summary>
/// <remarks>Build it, then only read it: reading is thread-safe, adding is not.</remarks>
public sealed class PolicyCatalog
{
    private readonly Dictionary<string, PolicyDescriptor> _byName = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>A catalog holding the built-in policies.</summary>
    public static PolicyCatalog CreateBuiltIn() => new PolicyCatalog()
        .Add<TextbookOptions>("textbook", o => new TextbookPolicy(o),
            "the textbook's autoscaler: base + spares + running max of queue // capacity, never scales down")
        .Add<FixedOptions>("fixed", o => new FixedPolicy(o), "a constant fleet");

    /// <summary>The names known, in ordinal order.</summary>
    public IReadOnlyList<string> Names => _byName.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>Adds a policy under <paramref name="name"/>; a later add of the same name replaces it.</summary>
    public PolicyCatalog Add<TOptions>(string name, Func<TOptions, IScalingPolicy> create, string summary = "")
        where TOptions : class, new()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(create);
        _byName[name] = new PolicyDescriptor(name, typeof(TOptions), o => create((TOptions)o), summary);
        return this;
    }

    /// <summary>Looks a policy up by name (case-insensitive).</summary>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PolicyDescriptor? descriptor) =>
        _byName.TryGetValue(name, out descriptor);
}
