using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Autoscale;

/// <summary>
/// Binds a JSON object onto an options class: each member names a public settable (or init)
/// property, matched without regard to case. Unknown members and values of the wrong type are
/// errors that name the JSON path, so a typo never silently becomes a default.
/// </summary>
/// <remarks>
/// Values of the types the built-in options use are read with metadata made at compile time; any other
/// type (a user's options) is read by reflection where the runtime can generate code (not in a native build).
/// </remarks>
public static class OptionsBinder
{
    /// <summary>What an options class must keep when trimmed: its parameterless constructor and public properties.</summary>
    public const DynamicallyAccessedMemberTypes OptionsMembers = DynamicallyAccessedMemberTypes.PublicParameterlessConstructor | DynamicallyAccessedMemberTypes.PublicProperties;

    private static readonly Lock Gate = new();
    private static (Func<IJsonTypeInfoResolver> Resolver, Func<IEnumerable<JsonConverter>>? Converters)[] _metadata = [(static () => CoreOptionsJson.Default, null)];
    private static JsonSerializerOptions? _valueOptions;

    /// <summary>
    /// Adds compile-time JSON metadata (a source-generated <see cref="JsonSerializerContext"/>) for the value types an
    /// assembly's options use, with converters for its enums, so those options bind where no code can be generated at
    /// run time (a native build). Elsewhere any type binds by reflection and metadata only spares that work.
    /// </summary>
    /// <param name="resolver">Gives the metadata, usually a context's <c>Default</c>; called when options are first bound, not before.</param>
    /// <param name="converters">Gives converters the metadata does not carry (a <see cref="JsonStringEnumConverter{TEnum}"/> per enum).</param>
    /// <remarks>
    /// Thread-safe. The built-in policies add theirs when their assembly loads; both functions wait for the first
    /// binding, so a program that binds no options never builds the metadata.
    /// </remarks>
    public static void AddMetadata(Func<IJsonTypeInfoResolver> resolver, Func<IEnumerable<JsonConverter>>? converters = null)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        lock (Gate)
        {
            if (_metadata.Any(m => m.Resolver == resolver))
            {
                return;
            }

            _metadata = [.. _metadata, (resolver, converters)];
            _valueOptions = null;
        }
    }

    /// <summary>
    /// Whether values of <paramref name="type"/> bind from the compile-time metadata alone, as they must in a native build
    /// (where no reflection fallback exists); for the test that walks every option.
    /// </summary>
    internal static bool HasCompileTimeMetadata(Type type)
    {
        var resolver = JsonTypeInfoResolver.Combine([.. Volatile.Read(ref _metadata).Select(m => m.Resolver())]);
        var options = new JsonSerializerOptions { TypeInfoResolver = resolver };
        try
        {
            return resolver.GetTypeInfo(type, options) is not null;
        }
        catch (NotSupportedException)
        {
            return false;
        }
    }

    private static JsonSerializerOptions ValueOptions
    {
        get
        {
            var options = Volatile.Read(ref _valueOptions);
            if (options is not null)
            {
                return options;
            }

            lock (Gate)
            {
                return _valueOptions ??= CreateValueOptions(_metadata);
            }
        }
    }

    /// <summary>
    /// Creates an options object of <paramref name="optionsType"/> with defaults, then sets each member
    /// of <paramref name="json"/> (which may be undefined or null: all defaults).
    /// </summary>
    /// <param name="optionsType">A class with a public parameterless constructor.</param>
    /// <param name="json">The JSON object of options.</param>
    /// <param name="path">Where the object sits in its document, for messages (<c>candidates[0].options</c>).</param>
    /// <exception cref="OptionsBindingException">A member is unknown or its value has the wrong type.</exception>
    public static object Bind([DynamicallyAccessedMembers(OptionsMembers)] Type optionsType, JsonElement json, string path)
    {
        var options = Activator.CreateInstance(optionsType)
            ?? throw new OptionsBindingException(path, $"cannot create {optionsType.Name}");
        Populate(options, optionsType, json, path);
        return options;
    }

    /// <summary>
    /// Sets each member of <paramref name="json"/> on an existing <paramref name="options"/> object of <paramref name="optionsType"/>
    /// (what an options callback of dotnet/extensions does with configuration), with the rules of <see cref="Bind"/>.
    /// </summary>
    /// <param name="options">The object to set.</param>
    /// <param name="optionsType">Its type.</param>
    /// <param name="json">The JSON object of options.</param>
    /// <param name="path">Where the object sits in its document, for messages.</param>
    /// <param name="ignore">Members that belong to someone else (a policy section beside the autoscaler's options).</param>
    public static void Populate(object options, [DynamicallyAccessedMembers(OptionsMembers)] Type optionsType, JsonElement json, string path, params string[] ignore)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (json.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return;
        }

        if (json.ValueKind != JsonValueKind.Object)
        {
            throw new OptionsBindingException(path, $"must be an object, not {Describe(json)}");
        }

        var properties = Settable(optionsType);
        var skipped = new HashSet<string>(ignore, StringComparer.OrdinalIgnoreCase);
        var given = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var member in json.EnumerateObject())
        {
            string name;
            try
            {
                name = member.Name;
            }
            catch (InvalidOperationException)
            {
                throw new OptionsBindingException(path, "a name " + Unpaired);
            }

            var memberPath = $"{path}.{name}";
            if (!given.TryAdd(name, name))
            {
                throw new OptionsBindingException(memberPath, given[name] == name
                    ? "is given twice"
                    : $"is given twice (also as \"{given[name]}\"; names are not case-sensitive)");
            }

            if (skipped.Contains(name))
            {
                continue;
            }

            if (!properties.TryGetValue(name, out var property))
            {
                var known = string.Join(", ", properties.Values.Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)).Order(StringComparer.Ordinal));
                throw new OptionsBindingException(memberPath, $"unknown option for {optionsType.Name} (known: {known})");
            }

            property.SetValue(options, ReadMember(options, property, member.Value, memberPath));
        }
    }

    /// <summary>
    /// Reads a member: options objects nested in options (classes implementing <see cref="IValidatableOptions"/>,
    /// and lists of them) bind as options, with the same rules and paths; other values through JSON metadata.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Nested options classes implement IValidatableOptions, whose annotation keeps their constructor and public properties.")]
    [UnconditionalSuppressMessage("Trimming", "IL2067", Justification = "As above.")]
    private static object? ReadMember(object options, PropertyInfo property, JsonElement value, string path)
    {
        var type = property.PropertyType;
        if (IsNestedOptions(type))
        {
            return value.ValueKind == JsonValueKind.Null ? null : Bind(type, value, path);
        }

        if (OptionRules.ItemType(type) is { } item && IsNestedOptions(item) && !type.IsArray)
        {
            if (value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (value.ValueKind != JsonValueKind.Array)
            {
                throw new OptionsBindingException(path, $"must be a list, not {Describe(value)}");
            }

            var list = (property.GetValue(options) as System.Collections.IList) ?? (System.Collections.IList)Activator.CreateInstance(type)!;
            list.Clear();
            var index = 0;
            foreach (var element in value.EnumerateArray())
            {
                var elementPath = $"{path}[{index++}]";
                list.Add(element.ValueKind == JsonValueKind.Null ? throw new OptionsBindingException(elementPath, "must be an object, not null") : Bind(item, element, elementPath));
            }

            return list;
        }

        // A number of seconds too large for a duration still gets its option's range in the message.
        if ((Nullable.GetUnderlyingType(type) ?? type) == typeof(NodaTime.Duration) && value.ValueKind == JsonValueKind.Number
            && value.TryGetDouble(out var seconds) && !(Math.Abs(seconds) <= OptionDuration.Limit.TotalSeconds))
        {
            var rule = property.GetCustomAttribute<OptionAttribute>();
            var number = seconds.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            throw new OptionsBindingException(path, rule is not null && !rule.Contains(seconds) && rule.RequirementText.Length > 0
                ? $"must be {rule.RequirementText} (was {number})"
                : $"must be a duration of at most a hundred years (was {number} s)");
        }

        // A whole number too large for an integer option gets its option's range too.
        var integer = Nullable.GetUnderlyingType(type) ?? type;
        if ((integer == typeof(int) || integer == typeof(long)) && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var whole)
            && (integer == typeof(int) ? !value.TryGetInt32(out _) : !value.TryGetInt64(out _)) && whole == Math.Floor(whole)
            && property.GetCustomAttribute<OptionAttribute>() is { } range && !range.Contains(whole) && range.RequirementText.Length > 0)
        {
            throw new OptionsBindingException(path, $"must be {range.RequirementText} (was {value.GetRawText()})");
        }

        return ReadValue(value, type, path);
    }

    private static bool IsNestedOptions(Type type) => type.IsClass && typeof(IValidatableOptions).IsAssignableFrom(type);

    /// <summary>Reads one JSON value as <paramref name="type"/>, naming the path and the expected type when it does not fit.</summary>
    public static object? ReadValue(JsonElement value, Type type, string path)
    {
        if (TryReadPlain(value, type, out var plain))
        {
            return plain;
        }

        try
        {
            JsonTypeInfo info;
            try
            {
                info = ValueOptions.GetTypeInfo(type);
            }
            catch (NotSupportedException)
            {
                throw new OptionsBindingException(path, $"values of type {type.Name} cannot be read by this build, which cannot generate code at run time (use the framework-dependent autoscale)");
            }

            var result = value.Deserialize(info);
            if (result is null && type.IsValueType && Nullable.GetUnderlyingType(type) is null)
            {
                throw new OptionsBindingException(path, $"must be {Describe(type)}, not null");
            }

            return result;
        }
        catch (JsonException) when (HoldsNoText(value))
        {
            throw new OptionsBindingException(path, Unpaired);
        }
        catch (JsonException e)
        {
            var detail = e.Path is { Length: > 1 } inner ? $" (at {inner.TrimStart('$')})" : "";
            var t = Nullable.GetUnderlyingType(type) ?? type;
            if (value.ValueKind == JsonValueKind.Number && detail.Length == 0 && (t == typeof(int) || t == typeof(long)) && value.TryGetDouble(out var number))
            {
                // A whole number too large for the field is a range problem, not a type problem.
                var (min, max) = t == typeof(int) ? ((double)int.MinValue, (double)int.MaxValue) : (long.MinValue, long.MaxValue);
                if (number == Math.Floor(number) && (number < min || number > max))
                {
                    throw new OptionsBindingException(path, $"must be a whole number from {min:R} to {max:R} (was {value.GetRawText()})");
                }
            }

            throw new OptionsBindingException(path, $"must be {Describe(type)}, not {Describe(value)}{detail}");
        }
        catch (InvalidOperationException e) when (e.Message.Contains("UTF-16", StringComparison.Ordinal) || e.Message.Contains("surrogate", StringComparison.OrdinalIgnoreCase))
        {
            throw new OptionsBindingException(path, Unpaired);
        }
        catch (InvalidOperationException e)
        {
            throw new OptionsBindingException(path, e.Message);
        }
    }

    /// <summary>
    /// A number, true or false, a text, or a duration given as a number of seconds, read straight from the element where
    /// that is exactly the value the serializer gives: a config of such options then never builds the serializer's
    /// metadata, a sixth of a short backtest's start in the native build. Everything else (null, another kind, a number
    /// that does not fit, a duration as text) goes the serializer's way, with its messages.
    /// </summary>
    private static bool TryReadPlain(JsonElement value, Type type, out object? result)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        switch (value.ValueKind)
        {
            case JsonValueKind.Number when t == typeof(double) && value.TryGetDouble(out var number):
                result = number;
                return true;
            case JsonValueKind.Number when t == typeof(int) && value.TryGetInt32(out var whole):
                result = whole;
                return true;
            case JsonValueKind.Number when t == typeof(long) && value.TryGetInt64(out var wide):
                result = wide;
                return true;
            case JsonValueKind.Number when t == typeof(NodaTime.Duration) && value.TryGetDouble(out var seconds) && Math.Abs(seconds) <= OptionDuration.Limit.TotalSeconds:
                result = OptionDuration.FromSeconds(seconds);
                return true;
            case JsonValueKind.True or JsonValueKind.False when t == typeof(bool):
                result = value.GetBoolean();
                return true;
            case JsonValueKind.String when type == typeof(string):
                try
                {
                    result = value.GetString();
                    return true;
                }
                catch (InvalidOperationException)
                {
                    break;
                }
        }

        result = null;
        return false;
    }

    /// <summary>Whether a string anywhere in <paramref name="value"/> (or a name in it) is no text: an unpaired surrogate escape.</summary>
    internal static bool HoldsNoText(JsonElement value)
    {
        try
        {
            switch (value.ValueKind)
            {
                case JsonValueKind.String:
                    _ = value.GetString();
                    return false;
                case JsonValueKind.Array:
                    return value.EnumerateArray().Any(HoldsNoText);
                case JsonValueKind.Object:
                    return value.EnumerateObject().Any(member => member.Name is null || HoldsNoText(member.Value));
                default:
                    return false;
            }
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    /// <summary>What is wrong with a JSON string holding <c>\ud800</c> and the like: valid JSON, but no text.</summary>
    public const string UnpairedText = Unpaired;

    internal const string Unpaired = "holds an unpaired surrogate escape such as \\ud800, which is no character";

    private static JsonSerializerOptions CreateValueOptions((Func<IJsonTypeInfoResolver> Resolver, Func<IEnumerable<JsonConverter>>? Converters)[] metadata)
    {
        var options = new JsonSerializerOptions
        {
            PropertyNameCaseInsensitive = true,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            NumberHandling = JsonNumberHandling.Strict,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            TypeInfoResolver = Resolver([.. metadata.Select(m => m.Resolver())]),
        };
        foreach (var converter in EnumConverters(metadata))
        {
            options.Converters.Add(converter);
        }

        options.Converters.Add(new DurationJsonConverter());

        options.MakeReadOnly();
        return options;
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Reflection serves only types the compile-time metadata lacks (users' options) and only where code can be generated.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Guarded by RuntimeFeature.IsDynamicCodeSupported.")]
    private static IJsonTypeInfoResolver Resolver(IJsonTypeInfoResolver[] metadata) => RuntimeFeature.IsDynamicCodeSupported
        ? JsonTypeInfoResolver.Combine([.. metadata, new DefaultJsonTypeInfoResolver()])
        : JsonTypeInfoResolver.Combine(metadata);

    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Guarded by RuntimeFeature.IsDynamicCodeSupported; the native build reads the built-in enums.")]
    private static JsonConverter[] EnumConverters((Func<IJsonTypeInfoResolver> Resolver, Func<IEnumerable<JsonConverter>>? Converters)[] metadata) => RuntimeFeature.IsDynamicCodeSupported
        ? [new JsonStringEnumConverter(JsonNamingPolicy.CamelCase)]
        : [.. metadata.SelectMany(m => m.Converters?.Invoke() ?? [])];

    private static Dictionary<string, PropertyInfo> Settable([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type type)
    {
        var result = new Dictionary<string, PropertyInfo>(StringComparer.OrdinalIgnoreCase);
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.SetMethod is { IsPublic: true } && property.GetIndexParameters().Length == 0)
            {
                result[property.Name] = property;
            }
        }

        return result;
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string {value.GetRawText()}",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {value.GetRawText()}",
        _ => Describe(value.ValueKind),
    };

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static string Describe(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t == typeof(NodaTime.Duration) ? "a duration such as 15 (seconds), \"90s\", \"5m\" or \"PT15S\""
            : t == typeof(int) || t == typeof(long) ? "an integer"
            : t == typeof(double) || t == typeof(float) || t == typeof(decimal) ? "a number"
            : t == typeof(bool) ? "a boolean"
            : t == typeof(string) ? "a string"
            : t.IsEnum ? $"one of {string.Join(", ", Enum.GetNames(t).Select(JsonNamingPolicy.CamelCase.ConvertName))}"
            : t.IsArray || (t.IsGenericType && typeof(System.Collections.IEnumerable).IsAssignableFrom(t)) ? "a list"
            : $"a {t.Name} object";
    }
}
