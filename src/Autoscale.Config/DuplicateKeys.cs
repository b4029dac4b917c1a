using System.Text.Json;

namespace Autoscale.Config;

/// <summary>
/// Refuses a JSON document that gives a key twice in one object, in any case (<c>"spares"</c> beside
/// <c>"Spares"</c>): JSON parsers keep one of them silently, and names here are not case-sensitive.
/// </summary>
internal static class DuplicateKeys
{
    /// <summary>Throws <see cref="ConfigException"/> naming the first duplicate and its path.</summary>
    public static void ThrowIfAny(JsonElement element, string file, string path = "")
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (var member in element.EnumerateObject())
                {
                    var at = path.Length == 0 ? member.Name : $"{path}.{member.Name}";
                    if (!seen.TryAdd(member.Name, member.Name))
                    {
                        throw new ConfigException(file, at, seen[member.Name] == member.Name
                            ? "is given twice in the same object"
                            : $"is given twice in the same object (also as \"{seen[member.Name]}\"; names are not case-sensitive)");
                    }

                    ThrowIfAny(member.Value, file, at);
                }

                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    ThrowIfAny(item, file, $"{path}[{index++}]");
                }

                break;
        }
    }
}
