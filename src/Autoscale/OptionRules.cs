using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text.Json;
using NodaTime;

namespace Autoscale;

/// <summary>
/// Checks an options object against the rules it declares: every number finite, every <see cref="OptionAttribute"/>
/// range and required option, the same for options objects nested in it (lists of them too), then the rules between
/// options of <see cref="IValidatableOptions.Validate"/>. The one place option rules are enforced.
/// </summary>
/// <remarks>Stateless and thread-safe.</remarks>
public static class OptionRules
{
    /// <summary>What an options class keeps for binding and checking: its parameterless constructor and public properties.</summary>
    public const DynamicallyAccessedMemberTypes Members = DynamicallyAccessedMemberTypes.PublicParameterlessConstructor | DynamicallyAccessedMemberTypes.PublicProperties;

    /// <summary>Every broken rule of <paramref name="options"/>; empty when valid.</summary>
    public static IReadOnlyList<OptionError> Validate(IValidatableOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Validate(options, options.GetType());
    }

    /// <summary>Every broken rule of <paramref name="options"/>, read as <paramref name="type"/>; empty when valid.</summary>
    public static IReadOnlyList<OptionError> Validate(object options, [DynamicallyAccessedMembers(Members)] Type type)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<OptionError>();
        Check(options, type, "", errors);
        return errors;
    }

    /// <summary>Throws <see cref="InvalidOptionsException"/> naming every broken rule of <paramref name="options"/>.</summary>
    public static void ThrowIfInvalid(IValidatableOptions options) => InvalidOptionsException.ThrowIfAny(Validate(options));

    /// <summary>
    /// What a policy or model does with the options it is built from: throws <see cref="InvalidOptionsException"/> when they
    /// break a rule, else returns its own deep copy (<see cref="Snapshot{T}"/>), so later changes to the caller's object do
    /// not reach it.
    /// </summary>
    public static T Adopt<[DynamicallyAccessedMembers(Members)] T>(T options)
        where T : class, IValidatableOptions
    {
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfInvalid(options);
        return Snapshot(options);
    }

    /// <summary>
    /// A deep copy of <paramref name="options"/>: every settable option copied, nested options objects and lists of them
    /// copied in turn, other lists copied shallowly. Policies and models keep such a copy when built, so the object a user
    /// (or a factory shared by many runs) holds can change without touching them.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "An options object's own type: kept as the options classes of policies are (see Check).")]
    public static T Snapshot<[DynamicallyAccessedMembers(Members)] T>(T options)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(options);
        return (T)Copy(options, options.GetType());
    }

    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "As for Check: nested options types are kept with the options that declare them.")]
    [UnconditionalSuppressMessage("Trimming", "IL2062", Justification = "As above.")]
    [UnconditionalSuppressMessage("Trimming", "IL2067", Justification = "As above.")]
    [UnconditionalSuppressMessage("Trimming", "IL2077", Justification = "As above.")]
    private static object Copy(object options, [DynamicallyAccessedMembers(Members)] Type type)
    {
        var copy = Activator.CreateInstance(type)!;
        foreach (var property in Settable(type))
        {
            var value = property.GetValue(options);
            if (value is null || value is string || property.PropertyType.IsValueType)
            {
                property.SetValue(copy, value);
            }
            else if (ItemType(property.PropertyType) is { } item && value is IList list)
            {
                var items = list.Cast<object?>().Select(x => x is not null && IsSection(item) ? Copy(x, x.GetType()) : x).ToList();
                IList target;
                if (property.PropertyType.IsArray)
                {
                    target = (IList)((Array)value).Clone();
                    for (var i = 0; i < items.Count; i++)
                    {
                        target[i] = items[i];
                    }
                }
                else
                {
                    target = (IList)Activator.CreateInstance(property.PropertyType)!;
                    foreach (var x in items)
                    {
                        target.Add(x);
                    }
                }

                property.SetValue(copy, target);
            }
            else if (IsSection(property.PropertyType))
            {
                property.SetValue(copy, Copy(value, value.GetType()));
            }
            else
            {
                property.SetValue(copy, value);
            }
        }

        return copy;
    }

    /// <summary>The public settable properties of an options class: the options a user can give.</summary>
    public static IEnumerable<PropertyInfo> Settable([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true } && p.GetIndexParameters().Length == 0);

    /// <summary>The name an option has in JSON and in messages: camelCase.</summary>
    public static string JsonName(PropertyInfo property) => JsonNamingPolicy.CamelCase.ConvertName(property.Name);

    /// <summary>The element type of a list option (<c>List&lt;T&gt;</c>, <c>T[]</c>), or null.</summary>
    public static Type? ItemType(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type) && type != typeof(string) ? type.GetGenericArguments()[0]
        : null;

    /// <summary>Whether values of <paramref name="type"/> are options objects of their own (nested sections, list items).</summary>
    public static bool IsSection(Type type) =>
        type.IsClass && !type.IsAbstract && type != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(type)
        && type.Namespace?.StartsWith("System", StringComparison.Ordinal) != true;

    /// <summary>Each options class's settable properties with their rules and JSON names, read once per class.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, (PropertyInfo Property, OptionAttribute? Rule, string Name)[]> RulesByType = new();

    /// <summary>
    /// The settable properties of <paramref name="type"/>, each with its <see cref="OptionAttribute"/> and JSON name. Read
    /// by reflection once per class (attributes are slow to read in a native build) and kept: a backtest checks the same
    /// sections for the config and again for every candidate's settings.
    /// </summary>
    private static (PropertyInfo Property, OptionAttribute? Rule, string Name)[] Rules([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type type)
    {
        if (!RulesByType.TryGetValue(type, out var rules))
        {
            rules = [.. Settable(type).Select(p => (p, p.GetCustomAttribute<OptionAttribute>(), JsonName(p)))];
            RulesByType.TryAdd(type, rules);
        }

        return rules;
    }

    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Nested options types are classes of the options that declare them; their members are kept by the compile-time JSON metadata of the built-in options and by the annotated options types of users' policies.")]
    [UnconditionalSuppressMessage("Trimming", "IL2062", Justification = "As above.")]
    private static void Check(object options, [DynamicallyAccessedMembers(Members)] Type type, string path, List<OptionError> errors)
    {
        foreach (var (property, rule, json) in Rules(type))
        {
            if (!property.CanRead)
            {
                continue;
            }

            var name = Join(path, json);
            var value = property.GetValue(options);
            if (value is null)
            {
                if (rule?.Required == true)
                {
                    errors.Add(new OptionError(name, "is required"));
                }

                continue;
            }

            switch (value)
            {
                case double d:
                    CheckNumber(d, rule, name, errors);
                    break;
                case float f:
                    CheckNumber(f, rule, name, errors);
                    break;
                case int i:
                    CheckNumber(i, rule, name, errors);
                    break;
                case long l:
                    CheckNumber(l, rule, name, errors);
                    break;
                case Duration duration:
                    CheckNumber(duration.TotalSeconds, rule, name, errors);
                    break;
                case string s when rule?.Required == true && string.IsNullOrWhiteSpace(s):
                    errors.Add(new OptionError(name, "must not be empty"));
                    break;
                case IList list when ItemType(property.PropertyType) is { } item && IsSection(item):
                    for (var k = 0; k < list.Count; k++)
                    {
                        if (list[k] is null)
                        {
                            errors.Add(new OptionError($"{name}[{k}]", "must be an object, not null"));
                        }
                        else
                        {
                            Check(list[k]!, item, $"{name}[{k}]", errors);
                        }
                    }

                    break;
                default:
                    if (IsSection(property.PropertyType))
                    {
                        Check(value, property.PropertyType, name, errors);
                    }

                    break;
            }
        }

        if (options is IValidatableOptions validatable)
        {
            foreach (var message in validatable.Validate())
            {
                errors.Add(new OptionError(path, message));
            }
        }
    }

    private static void CheckNumber(double value, OptionAttribute? rule, string name, List<OptionError> errors)
    {
        if (!double.IsFinite(value))
        {
            errors.Add(new OptionError(name, $"must be a finite number (was {OptionAttribute.Number(value)})"));
        }
        else if (rule is not null && !rule.Contains(value))
        {
            errors.Add(new OptionError(name, $"must be {rule.RequirementText} (was {OptionAttribute.Number(value)})"));
        }
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";
}
