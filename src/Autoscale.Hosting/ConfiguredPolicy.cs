using System.Globalization;
using System.Text.Json.Nodes;
using Autoscale.Policies.Catalog;
using Microsoft.Extensions.Configuration;

namespace Autoscale.Hosting;

/// <summary>
/// A policy named in configuration, in the shape of a backtest candidate:
/// <c>{"policy": "warm-floor", "options": {...}, "loadTime": {"fixedSeconds": 90}}</c>.
/// Configuration values are text; numbers and booleans are recognised so options bind as in a config file.
/// </summary>
public static class ConfiguredPolicy
{
    /// <summary>Builds the policy the section names from <paramref name="catalog"/>.</summary>
    /// <exception cref="InvalidOperationException">The section names no policy, an unknown one, or invalid options (one message naming the path).</exception>
    public static IScalingPolicy Create(IConfigurationSection section, PolicyCatalog catalog)
    {
        var name = section["policy"];
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new InvalidOperationException($"{section.Path}:policy is required (a policy name such as warm-floor)");
        }

        var options = ToJson(section.GetSection("options"));
        try
        {
            return catalog.Create(name, System.Text.Json.JsonSerializer.SerializeToElement(options), $"{section.Path}:options");
        }
        catch (Exception e) when (e is OptionsBindingException or InvalidOptionsException or KeyNotFoundException)
        {
            throw new InvalidOperationException($"{section.Path}: {e.Message.Trim('"')}", e);
        }
    }

    /// <summary>The fixed load time a section gives (<c>loadTime:fixedSeconds</c>), if any.</summary>
    public static double? FixedLoadSeconds(IConfigurationSection section) =>
        double.TryParse(section["loadTime:fixedSeconds"], NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? s : null;

    /// <summary>Turns a configuration section into JSON: children named 0, 1, ... become arrays; numbers and booleans are typed.</summary>
    public static JsonNode? ToJson(IConfigurationSection section)
    {
        var children = section.GetChildren().ToList();
        if (children.Count == 0)
        {
            return section.Value is null ? null : Scalar(section.Value);
        }

        if (children.All(c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            var array = new JsonArray();
            foreach (var child in children.OrderBy(c => int.Parse(c.Key, CultureInfo.InvariantCulture)))
            {
                array.Add(ToJson(child));
            }

            return array;
        }

        var obj = new JsonObject();
        foreach (var child in children)
        {
            obj[child.Key] = ToJson(child);
        }

        return obj;
    }

    private static JsonNode Scalar(string value) =>
        long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? JsonValue.Create(l)
        : double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? JsonValue.Create(d)
        : bool.TryParse(value, out var b) ? JsonValue.Create(b)
        : JsonValue.Create(value);
}
