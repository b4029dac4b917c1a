using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace Autoscale.Policies.Catalog;

/// <summary>
/// Turns a user's policy class into a catalog entry. The options are the parameter of a public
/// one-parameter constructor (a class with a public parameterless constructor, bound from the
/// candidate's <c>options</c>); a policy with only a parameterless constructor binds its own public
/// settable properties instead. Either way options that implement <see cref="IValidatableOptions"/>
/// are validated like the built-ins'.
/// </summary>
public static class PolicyTypes
{
    /// <summary>Why the members that bind users' policy classes need untrimmed code.</summary>
    internal const string ReflectionWarning = "Builds a user's policy class and its options by reflection over members a trimmer may remove.";

    /// <summary>Whether <paramref name="type"/> is a concrete policy class the catalog can build.</summary>
    public static bool IsPolicy(Type type) =>
        typeof(IScalingPolicy).IsAssignableFrom(type) && type is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: false } && (type.IsPublic || type.IsNestedPublic);

    /// <summary>Describes <paramref name="type"/> as a catalog entry named <paramref name="name"/>.</summary>
    /// <exception cref="InvalidOptionsException">The type is not a policy, or has no usable constructor.</exception>
    [RequiresUnreferencedCode(ReflectionWarning)]
    public static PolicyDescriptor Describe(Type type, string name)
    {
        if (!typeof(IScalingPolicy).IsAssignableFrom(type))
        {
            throw new InvalidOptionsException([$"{type.FullName} (in {type.Assembly.GetName().Name}) does not implement Autoscale.IScalingPolicy"]);
        }

        if (!IsPolicy(type))
        {
            throw new InvalidOptionsException([$"{type.FullName} must be a public, non-abstract class to be used as a policy"]);
        }

        var withOptions = type.GetConstructors()
            .Where(c => c.GetParameters() is [{ ParameterType: { IsClass: true } p }] && p.GetConstructor(Type.EmptyTypes) is not null)
            .FirstOrDefault();
        if (withOptions is not null)
        {
            var optionsType = withOptions.GetParameters()[0].ParameterType;
            return new PolicyDescriptor(name, optionsType, o =>
            {
                ThrowIfInvalid(o, optionsType);
                return (IScalingPolicy)Invoke(withOptions, [o]);
            }, $"{type.FullName} from {type.Assembly.GetName().Name}");
        }

        var parameterless = type.GetConstructor(Type.EmptyTypes)
            ?? throw new InvalidOptionsException([$"{type.FullName} needs a public constructor taking an options class, or a parameterless one"]);
        return new PolicyDescriptor(name, type, bound =>
        {
            // The bound object carries the options; each run gets a fresh copy of it.
            var fresh = (IScalingPolicy)Invoke(parameterless, []);
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.SetMethod is { IsPublic: true }))
            {
                property.SetValue(fresh, property.GetValue(bound));
            }

            ThrowIfInvalid(fresh, type);
            return fresh;
        }, $"{type.FullName} from {type.Assembly.GetName().Name}");
    }

    /// <summary>Finds a policy type by full name (<c>Ns.Type</c>) or assembly-qualified name (<c>Ns.Type, Assembly</c>) in <paramref name="assemblies"/>.</summary>
    [RequiresUnreferencedCode(ReflectionWarning)]
    public static Type? Find(string name, IEnumerable<Assembly> assemblies)
    {
        var comma = name.IndexOf(',', StringComparison.Ordinal);
        var typeName = (comma < 0 ? name : name[..comma]).Trim();
        var assemblyName = comma < 0 ? null : name[(comma + 1)..].Trim();
        foreach (var assembly in assemblies)
        {
            if (assemblyName is not null && !string.Equals(assembly.GetName().Name, assemblyName, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var type = assembly.GetType(typeName, throwOnError: false, ignoreCase: false);
            if (type is not null)
            {
                return type;
            }
        }

        return null;
    }

    [UnconditionalSuppressMessage("Trimming", "IL2067", Justification = "Users' policy classes are read by reflection only in the framework-dependent build, which is not trimmed.")]
    private static void ThrowIfInvalid(object options, Type type) => InvalidOptionsException.ThrowIfAny(OptionRules.Validate(options, type));

    private static object Invoke(ConstructorInfo constructor, object[] arguments)
    {
        try
        {
            return constructor.Invoke(arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }
}
