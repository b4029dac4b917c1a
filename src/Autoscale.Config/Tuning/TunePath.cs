using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using NodaTime;

namespace Autoscale.Config.Tuning;

/// <summary>A tune path that names no option, or one that cannot be tuned.</summary>
internal sealed class TunePathException(string problem) : Exception(problem);

/// <summary>
/// A tuned option's path, <c>behavior.scaleDown.stabilizationWindowSeconds</c> or <c>metrics[0].pods.target.averageValue</c>:
/// camelCase names as a candidate's options are written, dotted into nested options, <c>[i]</c> into lists. Resolved
/// against the options class (to say what is wrong with it before anything runs) and written into the options' JSON.
/// </summary>
internal static class TunePath
{
    private readonly record struct Segment(string Name, int? Index);

    /// <summary>Checks that <paramref name="path"/> names a number of <paramref name="optionsType"/>; says whether it is whole and whether JSON writes it as a string.</summary>
    /// <exception cref="TunePathException">The path names no option, or one that is not a number.</exception>
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Nested options types are classes of the options that declare them, kept as the binder keeps them.")]
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "As above.")]
    public static (bool Integer, bool AsString) Resolve([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type optionsType, string path)
    {
        var segments = Parse(path);
        Type? type = optionsType;
        var inMap = false;
        var walked = "";
        foreach (var segment in segments)
        {
            walked = walked.Length == 0 ? segment.Name : $"{walked}.{segment.Name}";
            if (type is null)
            {
                // Inside options written as free JSON (a combinator's inner policies): the policy's own rules check the values.
                continue;
            }

            inMap = false;
            if (MapValueType(type) is { } valueType)
            {
                type = valueType;
                inMap = true;
            }
            else if (Autoscale.OptionRules.IsSection(type))
            {
                var property = Autoscale.OptionRules.Settable(type).FirstOrDefault(p => Autoscale.OptionRules.JsonName(p).Equals(segment.Name, StringComparison.OrdinalIgnoreCase));
                if (property is null)
                {
                    var known = string.Join(", ", Autoscale.OptionRules.Settable(type).Select(Autoscale.OptionRules.JsonName).Order(StringComparer.Ordinal));
                    throw new TunePathException($"no option \"{segment.Name}\" in {type.Name} (known: {known})");
                }

                type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            }
            else
            {
                throw new TunePathException($"\"{walked}\": {Describe(type)} has no options inside it");
            }

            if (type == typeof(JsonElement) || type == typeof(JsonNode) || type == typeof(JsonObject))
            {
                type = null;
                continue;
            }

            if (segment.Index is not null)
            {
                type = Autoscale.OptionRules.ItemType(type) is { } item && type != typeof(string)
                    ? Nullable.GetUnderlyingType(item) ?? item
                    : throw new TunePathException($"\"{walked}\" is not a list: [{segment.Index}] cannot index it");
                walked += $"[{segment.Index}]";
            }
        }

        return Kind(type, inMap, path);
    }

    /// <summary>Whether the option the path ends at is whole and written as a string; anything but a number refused, naming what it is.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Nested options types are classes of the options that declare them, kept as the binder keeps them.")]
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "As above.")]
    private static (bool Integer, bool AsString) Kind([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type? type, bool inMap, string path)
    {
        if (type is null)
        {
            return (false, false);
        }

        if (type == typeof(int) || type == typeof(long) || type == typeof(short))
        {
            return (true, false);
        }

        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal) || type == typeof(Duration))
        {
            return (false, false);
        }

        if (type == typeof(string) && inMap)
        {
            // A map of strings (a KEDA trigger's metadata): numbers are written as strings, as the manifest has them.
            return (false, true);
        }

        if (Autoscale.OptionRules.IsSection(type))
        {
            var known = string.Join(", ", Autoscale.OptionRules.Settable(type).Select(Autoscale.OptionRules.JsonName).Order(StringComparer.Ordinal));
            throw new TunePathException($"\"{path}\" is a section of options ({type.Name}), not a number: name one of its options (known: {known})");
        }

        throw new TunePathException($"\"{path}\" is {Describe(type)}: only numbers can be tuned");
    }

    /// <summary>The option's value in <paramref name="options"/> (a number, or a string holding one); null when the options do not give it.</summary>
    public static double? Read(JsonObject options, string path)
    {
        JsonNode? node = options;
        foreach (var segment in Parse(path))
        {
            node = node is JsonObject obj ? Child(obj, segment.Name) : null;
            if (segment.Index is { } i)
            {
                node = node is JsonArray list && i < list.Count ? list[i] : null;
            }
        }

        return node is JsonValue value
            ? value.TryGetValue<double>(out var d) ? d
            : value.TryGetValue<string>(out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : null
            : null;
    }

    /// <summary>Sets the option to <paramref name="value"/> in <paramref name="options"/>, adding the sections on its way that the options leave out.</summary>
    /// <exception cref="TunePathException">The path goes into a list entry the options do not have.</exception>
    public static void Write(JsonObject options, TuneDimension dimension, double value)
    {
        var segments = Parse(dimension.Path);
        JsonNode current = options;
        var walked = "";
        for (var s = 0; s < segments.Count; s++)
        {
            var (name, index) = segments[s];
            walked = walked.Length == 0 ? name : $"{walked}.{name}";
            var obj = current as JsonObject ?? throw new TunePathException($"\"{walked}\": the options hold {Kind(current)} where an object of options belongs");
            var last = s == segments.Count - 1;
            var key = obj.Select(p => p.Key).FirstOrDefault(k => k.Equals(name, StringComparison.OrdinalIgnoreCase)) ?? name;
            if (last && index is null)
            {
                obj[key] = dimension.AsString ? JsonValue.Create(TuneDimension.Format(value))
                    : dimension.Integer || (value == Math.Floor(value) && Math.Abs(value) < 1e15) ? JsonValue.Create((long)value)
                    : JsonValue.Create(value);
                return;
            }

            if (index is { } i)
            {
                if (obj[key] is not JsonArray list || i >= list.Count)
                {
                    throw new TunePathException($"the options have no {walked}[{i}]: write the list in options (as policy import prints it) to tune inside it");
                }

                walked += $"[{i}]";
                if (last)
                {
                    list[i] = dimension.Integer ? JsonValue.Create((long)value) : JsonValue.Create(value);
                    return;
                }

                current = list[i] ?? throw new TunePathException($"{walked} is null in the options");
                continue;
            }

            if (obj[key] is not { } child)
            {
                child = new JsonObject();
                obj[key] = child;
            }

            current = child;
        }
    }

    private static JsonNode? Child(JsonObject obj, string name) =>
        obj.FirstOrDefault(p => p.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    private static string Kind(JsonNode node) => node switch
    {
        JsonArray => "a list",
        JsonValue => "a value",
        _ => "an object",
    };

    /// <summary>Splits a path into its names, each with an optional index.</summary>
    /// <exception cref="TunePathException">The path is not names joined by dots, each optionally followed by [i].</exception>
    private static List<Segment> Parse(string path)
    {
        var segments = new List<Segment>();
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new TunePathException("an empty path names no option");
        }

        foreach (var part in path.Split('.'))
        {
            var open = part.IndexOf('[', StringComparison.Ordinal);
            var name = open < 0 ? part : part[..open];
            int? index = null;
            if (open >= 0)
            {
                if (!part.EndsWith(']') || !int.TryParse(part.AsSpan(open + 1, part.Length - open - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var i))
                {
                    throw new TunePathException($"\"{part}\" is not NAME or NAME[i] with i a whole number >= 0");
                }

                index = i;
            }

            if (name.Length == 0 || !name.All(c => char.IsLetterOrDigit(c) || c is '_' or '-'))
            {
                throw new TunePathException($"\"{path}\" is not a path of option names joined by dots (\"behavior.scaleDown.stabilizationWindowSeconds\", \"metrics[0].pods.target.averageValue\")");
            }

            segments.Add(new Segment(name, index));
        }

        return segments;
    }

    private static Type? MapValueType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() is var definition
        && (definition == typeof(Dictionary<,>) || definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>))
        && type.GetGenericArguments()[0] == typeof(string)
            ? type.GetGenericArguments()[1]
            : null;

    private static string Describe(Type type) =>
        type == typeof(string) ? "a string"
        : type == typeof(bool) ? "true or false"
        : Autoscale.OptionRules.ItemType(type) is not null ? "a list"
        : Autoscale.OptionRules.IsSection(type) ? $"a section of options ({type.Name})"
        : type.IsEnum ? "one of a set of names"
        : $"a {type.Name}";
}
