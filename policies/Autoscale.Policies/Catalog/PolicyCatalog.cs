using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Autoscale.Policies.Combinators;
using Autoscale.Policies.Disaggregated;
using Autoscale.Policies.Fixed;
using Autoscale.Policies.Hpa;
using Autoscale.Policies.Keda;
using Autoscale.Policies.Knative;
using Autoscale.Policies.RayServe;
using Autoscale.Policies.Predictive;
using Autoscale.Policies.Reactive;
using Autoscale.Policies.ScheduledFloor;
using Autoscale.Policies.Textbook;
using Autoscale.Policies.WarmFloor;

namespace Autoscale.Policies.Catalog;

/// <summary>
/// Finds a policy by the name a backtest config or the live host's configuration gives it.
/// The backtest and the live host share this catalog, so a name means the same policy in both.
/// </summary>
/// <remarks>Thread-safe: a lookup may add a loaded policy class as it goes, so every read and write holds one lock (lookups are rare: once per candidate or host, never per decision).</remarks>
public sealed class PolicyCatalog
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, PolicyDescriptor> _byName = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<string>> _ambiguous = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Type> _types = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>A catalog holding the built-in policies.</summary>
    public static PolicyCatalog CreateBuiltIn()
    {
        var catalog = new PolicyCatalog();
        return catalog
            .Add<TextbookOptions>("textbook", o => new TextbookPolicy(o),
                "the textbook's autoscaler: base + spares + running max of queue // capacity, never scales down")
            .Add<FixedOptions>("fixed", o => new FixedPolicy(o), "a constant fleet")
            .Add<ReactiveOptions>("reactive", o => new ReactivePolicy(o),
                "HPA-style target with tolerance, stabilization windows, rate limits; optional panic mode and scale to zero")
            .Add<WarmFloorOptions>("warm-floor", o => new WarmFloorPolicy(o), "a floor of always-loaded replicas, reactive above it")
            .Add<ScheduledFloorOptions>("scheduled-floor", o => new ScheduledFloorPolicy(o),
                "floors by local time in an IANA zone, pre-warmed by the load time, reactive above")
            .Add<PredictiveOptions>("predictive", o => new PredictivePolicy(o),
                "seasonal forecast of the peak rate, launched ahead by the load time, never below reactive")
            .Add<HpaOptions>("hpa", o => new HpaPolicy(o), "the Kubernetes HorizontalPodAutoscaler (v1.33), exactly, from its manifest's fields")
            .Add<KedaOptions>("keda", o => new KedaPolicy(o), "KEDA (v2.16) over the HPA it creates: activation, cooldown to zero, triggers as External metrics")
            .Add<RayServeOptions>("ray-serve", o => new RayServePolicy(o), "Ray Serve's default autoscaling policy (Ray 2.49): ongoing requests per replica, upscale and downscale delays")
            .Add<KnativeOptions>("knative", o => new KnativePolicy(o), "the Knative Pod Autoscaler (Serving v1.16): stable and panic windows, rate limits, scale to zero after the grace period")
            .Add<PdRatioOptions>("pd-ratio", o => new PdRatioPolicy(o), "a disaggregated fleet's decode pool at a ratio to its prefill pool, within bounds")
            .Add<DynamoSlaOptions>("dynamo-sla", o => new DynamoSlaPolicy(o), "NVIDIA Dynamo's SLA planner for one pool of a disaggregated fleet: TTFT and ITL targets, load predicted, the profile for throughput")
            .Add<MaxOptions>("max", o => MaxPolicy.Create(o, catalog), "the largest answer of several policies");
    }

    /// <summary>The names known, in ordinal order.</summary>
    public IReadOnlyList<string> Names
    {
        get
        {
            lock (_gate)
            {
                return _byName.Keys.Order(StringComparer.Ordinal).ToArray();
            }
        }
    }

    /// <summary>Adds a policy under <paramref name="name"/>; a later add of the same name replaces it.</summary>
    public PolicyCatalog Add<[DynamicallyAccessedMembers(OptionsBinder.OptionsMembers)] TOptions>(string name, Func<TOptions, IScalingPolicy> create, string summary = "")
        where TOptions : class, new()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(create);
        lock (_gate)
        {
            _byName[name] = new PolicyDescriptor(name, typeof(TOptions), o => create((TOptions)o), summary);
        }

        return this;
    }

    /// <summary>Binds <paramref name="options"/> for the policy named <paramref name="name"/> and builds it.</summary>
    /// <exception cref="KeyNotFoundException">No policy has that name.</exception>
    /// <exception cref="OptionsBindingException">An option is unknown or has the wrong type.</exception>
    /// <exception cref="InvalidOptionsException">An option breaks a rule.</exception>
    public IScalingPolicy Create(string name, JsonElement options, string path = "options")
    {
        if (!TryGet(name, out var descriptor))
        {
            throw new KeyNotFoundException($"unknown policy \"{name}\" (known: {string.Join(", ", Names)})");
        }

        return descriptor.Create(OptionsBinder.Bind(descriptor.OptionsType, options, path));
    }

    /// <summary>
    /// Adds every public policy class of <paramref name="assembly"/> under its full name, its
    /// assembly-qualified name (<c>Ns.Type, Assembly</c>) and, where no other policy has it, its simple name.
    /// </summary>
    [RequiresUnreferencedCode(PolicyTypes.ReflectionWarning)]
    public PolicyCatalog AddAssembly(System.Reflection.Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        foreach (var type in assembly.GetExportedTypes().Where(PolicyTypes.IsPolicy).OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            AddType(type);
        }

        return this;
    }

    /// <summary>
    /// Adds one policy class under its full, assembly-qualified and simple names. A simple name two classes share
    /// (in different namespaces) names neither: the full names do.
    /// </summary>
    /// <exception cref="InvalidOptionsException">A class of the same full name came from another assembly (two files defining it).</exception>
    [RequiresUnreferencedCode(PolicyTypes.ReflectionWarning)]
    public PolicyCatalog AddType(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        lock (_gate)
        {
            AddTypeLocked(type);
        }

        return this;
    }

    [RequiresUnreferencedCode(PolicyTypes.ReflectionWarning)]
    private void AddTypeLocked(Type type)
    {
        var full = type.FullName ?? type.Name;
        if (_types.TryGetValue(full, out var earlier) && earlier != type)
        {
            throw new InvalidOptionsException([$"two policy classes are named {full} (in {earlier.Assembly.GetName().Name} and {type.Assembly.GetName().Name}): rename one, or put them in namespaces of their own"]);
        }

        _types[full] = type;
        var descriptor = PolicyTypes.Describe(type, full);
        _byName[full] = descriptor;
        _byName[$"{full}, {type.Assembly.GetName().Name}"] = descriptor;
        if (_ambiguous.TryGetValue(type.Name, out var sharing))
        {
            sharing.Add(full);
        }
        else if (_byName.TryGetValue(type.Name, out var other) && !ReferenceEquals(other, descriptor) && other.Name != type.Name)
        {
            _byName.Remove(type.Name);
            _ambiguous[type.Name] = [other.Name, full];
        }
        else
        {
            _byName.TryAdd(type.Name, descriptor);
        }
    }

    /// <summary>The full names a simple name is shared by (it then names none of them); empty when it is not shared.</summary>
    public IReadOnlyList<string> Sharing(string name)
    {
        lock (_gate)
        {
            return _ambiguous.TryGetValue(name, out var names) ? names.ToArray() : [];
        }
    }

    /// <summary>
    /// Looks a policy up by name (case-insensitive). A dotted name not in the catalog is also looked for
    /// as a type in the assemblies loaded in the process (<c>Ns.Type</c> or <c>Ns.Type, Assembly</c>), so a
    /// live host that references a policy's assembly can name it in configuration without registering it.
    /// </summary>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PolicyDescriptor? descriptor)
    {
        lock (_gate)
        {
            return _byName.TryGetValue(name, out descriptor) || TryAddLoadedType(name, out descriptor);
        }
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only names no registered policy has reach here: users' policy classes, which a trimmed build does not carry (the lookup then finds nothing).")]
    private bool TryAddLoadedType(string name, [NotNullWhen(true)] out PolicyDescriptor? descriptor)
    {
        descriptor = null;
        if (!name.Contains('.', StringComparison.Ordinal) || PolicyTypes.Find(name, AppDomain.CurrentDomain.GetAssemblies()) is not { } type || !PolicyTypes.IsPolicy(type))
        {
            return false;
        }

        AddTypeLocked(type);
        return _byName.TryGetValue(name, out descriptor);
    }

    /// <summary>
    /// Resolves a dotted name to a type in the loaded assemblies even when it is not a policy, so that a
    /// config naming the wrong class gets a message saying why; null when no such type is loaded.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Used to explain a name that is not a policy; a trimmed build may find fewer types.")]
    public static Type? FindLoadedType(string name) =>
        name.Contains('.', StringComparison.Ordinal) ? PolicyTypes.Find(name, AppDomain.CurrentDomain.GetAssemblies()) : null;
}
