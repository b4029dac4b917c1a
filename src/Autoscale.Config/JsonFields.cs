using System.Text.Json;

namespace Autoscale.Config;

/// <summary>Typed reads of one JSON object's members with errors that name the path.</summary>
internal readonly struct JsonFields
{
    private readonly JsonElement _object;
    private readonly string _file;

    public JsonFields(JsonElement obj, string file, string path, params string[] known)
    {
        _file = file;
        Path = path;
        if (obj.ValueKind != JsonValueKind.Object)
        {
            throw Error(path, $"must be an object, not {Kind(obj)}");
        }

        _object = obj;
        foreach (var member in obj.EnumerateObject())
        {
            if (!known.Contains(member.Name, StringComparer.Ordinal))
            {
                throw Error(Join(member.Name), $"unknown field (known: {string.Join(", ", known)})");
            }
        }
    }

    public string Path { get; }

    public string Join(string name) => Path.Length == 0 ? name : $"{Path}.{name}";

    public bool Has(string name) => _object.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    public JsonElement Get(string name) => _object.TryGetProperty(name, out var v) ? v : default;

    public double Number(string name, double fallback) => Has(name) ? Number(name) : fallback;

    public double Number(string name)
    {
        var value = Required(name);
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var d))
        {
            throw Error(Join(name), $"must be a number, not {Kind(value)}");
        }

        return d;
    }

    public double? OptionalNumber(string name) => Has(name) ? Number(name) : null;

    public int Integer(string name, int fallback)
    {
        if (!Has(name))
        {
            return fallback;
        }

        var value = Get(name);
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var i))
        {
            throw Error(Join(name), $"must be an integer, not {Kind(value)}");
        }

        return i;
    }

    public long Long(string name, long fallback)
    {
        if (!Has(name))
        {
            return fallback;
        }

        var value = Get(name);
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var i))
        {
            throw Error(Join(name), $"must be an integer, not {Kind(value)}");
        }

        return i;
    }

    public string String(string name)
    {
        var value = Required(name);
        if (value.ValueKind != JsonValueKind.String)
        {
            throw Error(Join(name), $"must be a string, not {Kind(value)}");
        }

        var s = value.GetString()!;
        if (string.IsNullOrWhiteSpace(s))
        {
            throw Error(Join(name), "must not be empty");
        }

        return s;
    }

    public JsonElement Required(string name)
    {
        if (!Has(name))
        {
            throw Error(Join(name), "is required");
        }

        return Get(name);
    }

    public ConfigException Error(string path, string problem) => new(_file, path, problem);

    public static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => $"the string {value.GetRawText()}",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {value.GetRawText()}",
        _ => "null",
    };
}
