using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Autoscale.Config;
using Autoscale.Policies.Catalog;

namespace Autoscale.Cli.Reference;

/// <summary>
/// The reference of every option: the config file's fields, the load-time models and each policy's options, with
/// JSON name, type, unit, default, valid range and meaning. Made from the options classes themselves (their
/// <see cref="OptionAttribute"/> rules, a fresh instance's defaults and their doc comments), so it cannot drift
/// from the code: docs/options.md is this text, and a test fails when the committed file is stale.
/// </summary>
internal static class OptionsReference
{
    private const string Header = "| option | type | unit | default | range | meaning |\n|---|---|---|---|---|---|\n";

    /// <summary>The whole reference as Markdown.</summary>
    public static string Markdown(PolicyCatalog catalog, XmlDocs docs)
    {
        var text = new StringBuilder();
        text.Append("""
            # Options reference

            Every field of a backtest config and every option of the built-in policies and load-time models: its JSON
            name, type, unit, default, valid range and meaning. Names are not case-sensitive, but a name given twice
            in one object is an error. Ranges are inclusive unless a bracket says otherwise: `(0, 1]` excludes 0.
            Numbers must be finite. A `duration` is a number of seconds (`90`, `0.5`) or a text with a unit (`"90s"`,
            `"250ms"`, `"5m"`, `"2h"`, `"1d"`), an ISO-8601 duration (`"PT90S"`) or a time span (`"00:01:30"`); its
            default and range are in seconds, and it is kept to the nanosecond.

            This page is generated from the options classes and their doc comments (`autoscale policy list --options`
            prints it; `autoscale policy describe NAME` prints one policy), and a test fails when it is stale.

            ## The config file


            """);
        Section(text, "The top level", ConfigSchema.File, docs, null, expandNested: false);
        Section(text, "`slo`", typeof(SloOptions), docs, null);
        Section(text, "`replica`", typeof(ReplicaOptions), docs, null);
        Section(text, "`engine`", typeof(EngineOptions), docs, null);
        Section(text, "`billing`", typeof(BillingOptions), docs, null);
        Section(text, "`report`", ConfigSchema.Report, docs, null);
        Section(text, "`candidates[]`", ConfigSchema.Candidate, docs, null);
        text.Append("## Load-time models (`candidates[].loadTime`)\n\n");
        Section(text, "`{\"fixedSeconds\": ...}`", ConfigSchema.FixedSecondsLoadTime, docs, null);
        Section(text, "`{\"model\": \"fixed\", ...}`", ConfigSchema.FixedLoadTime, docs, null);
        Section(text, "`{\"model\": \"phased\", ...}`", typeof(PhasedLoadTimeOptions), docs, null);
        Section(text, "`{\"model\": \"empirical\", ...}`", ConfigSchema.EmpiricalLoadTime, docs, null);
        text.Append("## Policies (`candidates[].options`)\n\n");
        foreach (var name in BuiltInNames(catalog))
        {
            catalog.TryGet(name, out var descriptor);
            Policy(text, descriptor!, catalog, docs);
        }

        var loaded = LoadedPolicies(catalog).ToList();
        if (loaded.Count > 0)
        {
            text.Append("## Your policies\n\n");
            foreach (var descriptor in loaded)
            {
                Policy(text, descriptor, catalog, docs);
            }
        }

        return text.ToString();
    }

    /// <summary>One policy's options as Markdown.</summary>
    public static string Describe(PolicyDescriptor descriptor, PolicyCatalog catalog, XmlDocs docs)
    {
        var text = new StringBuilder();
        Policy(text, descriptor, catalog, docs);
        return text.ToString();
    }

    /// <summary>Policies brought in by --policy-file, --project or --assembly, once each, under their full names.</summary>
    private static IEnumerable<PolicyDescriptor> LoadedPolicies(PolicyCatalog catalog) =>
        catalog.Names.Select(n => catalog.TryGet(n, out var d) ? d : null)
            .OfType<PolicyDescriptor>()
            .Where(d => d.OptionsType.Assembly != typeof(PolicyCatalog).Assembly)
            .DistinctBy(d => d.Name)
            .OrderBy(d => d.Name, StringComparer.Ordinal);

    private static IEnumerable<string> BuiltInNames(PolicyCatalog catalog) =>
        catalog.Names.Where(n => catalog.TryGet(n, out var d) && d.Name == n && d.OptionsType.Assembly == typeof(PolicyCatalog).Assembly);

    private static void Policy(StringBuilder text, PolicyDescriptor descriptor, PolicyCatalog catalog, XmlDocs docs)
    {
        // An options class that extends another built-in policy's shows only what it adds and the defaults it changes.
        var parent = BuiltInNames(catalog)
            .Select(n => catalog.TryGet(n, out var d) ? d : null)
            .FirstOrDefault(d => d is not null && d.OptionsType != descriptor.OptionsType && d.OptionsType.IsAssignableFrom(descriptor.OptionsType)
                && d.OptionsType == descriptor.OptionsType.BaseType);
        text.Append(CultureInfo.InvariantCulture, $"### {descriptor.Name}\n\n");
        var summary = descriptor.Summary.Length > 0 ? descriptor.Summary : docs.Summary(descriptor.OptionsType);
        if (!string.IsNullOrEmpty(summary))
        {
            text.Append(CultureInfo.InvariantCulture, $"{Capitalize(summary)}.\n\n");
        }

        Section(text, null, descriptor.OptionsType, docs, parent);
    }

    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Nested options classes implement IValidatableOptions, whose annotation keeps their constructor and public properties.")]
    [UnconditionalSuppressMessage("Trimming", "IL2077", Justification = "As above: the nested types gathered in the list are options classes.")]
    private static void Section(StringBuilder text, string? title, [DynamicallyAccessedMembers(OptionRules.Members)] Type type, XmlDocs docs, PolicyDescriptor? parent, bool expandNested = true)
    {
        if (title is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"### {title}\n\n");
            if (docs.Summary(type) is { } summary)
            {
                text.Append(summary).Append("\n\n");
            }
        }

        var defaults = Activator.CreateInstance(type)!;
        var properties = Ordered(type).ToList();
        var nested = new List<(string Path, Type Type)>();
        if (parent is not null)
        {
            var baseDefaults = Activator.CreateInstance(parent.OptionsType)!;
            var changed = properties.Where(p => p.DeclaringType != type && !Equals(Format(p.GetValue(defaults)), Format(p.GetValue(baseDefaults))))
                .Select(p => $"`{OptionRules.JsonName(p)}` {Format(p.GetValue(defaults))}")
                .ToList();
            text.Append(CultureInfo.InvariantCulture, $"Every option of [`{parent.Name}`](#{parent.Name}) applies");
            text.Append(changed.Count > 0 ? $", with these defaults: {string.Join(", ", changed)}." : ", with the same defaults.");
            text.Append('\n');
            properties = properties.Where(p => p.DeclaringType == type).ToList();
            if (properties.Count == 0)
            {
                text.Append('\n');
                return;
            }

            text.Append("\nIts own options:\n\n");
        }

        if (properties.Count == 0)
        {
            text.Append("No options.\n\n");
            return;
        }

        text.Append(Header);
        foreach (var property in properties)
        {
            var rule = property.GetCustomAttribute<OptionAttribute>();
            var name = OptionRules.JsonName(property);
            var value = property.GetValue(defaults);
            var propertyType = property.PropertyType;
            if (!expandNested)
            {
            }
            else if (IsNested(propertyType))
            {
                nested.Add((name, propertyType));
            }
            else if (OptionRules.ItemType(propertyType) is { } item && IsNested(item))
            {
                nested.Add((name + "[]", item));
            }

            text.Append(CultureInfo.InvariantCulture, $"| `{name}` | {TypeName(propertyType)} | {rule?.Unit ?? ""} | {(rule?.Required == true ? "**required**" : Escape(Format(value)))} | {Escape(rule?.RangeText ?? "")} | {Escape(docs.Summary(property) ?? "")} |\n");
        }

        text.Append('\n');
        foreach (var (path, nestedType) in nested)
        {
            text.Append(CultureInfo.InvariantCulture, $"Each `{path}`: {docs.Summary(nestedType) ?? ""}\n\n");
            Section(text, null, nestedType, docs, null);
        }
    }

    /// <summary>Properties from the base class down, each class's in declaration order (as reflection lists them).</summary>
    private static IEnumerable<PropertyInfo> Ordered([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type type)
    {
        var settable = OptionRules.Settable(type).ToList();
        return settable.OrderBy(p => Depth(p.DeclaringType!)).ThenBy(settable.IndexOf);
    }

    private static int Depth(Type type)
    {
        var depth = 0;
        for (var t = type.BaseType; t is not null; t = t.BaseType)
        {
            depth++;
        }

        return depth;
    }

    private static bool IsNested(Type type) => type.IsClass && typeof(IValidatableOptions).IsAssignableFrom(type);

    private static string TypeName(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(int) || t == typeof(long))
        {
            return "integer";
        }

        if (t == typeof(double) || t == typeof(float))
        {
            return "number";
        }

        if (t == typeof(NodaTime.Duration))
        {
            return "duration";
        }

        if (t == typeof(bool))
        {
            return "boolean";
        }

        if (t == typeof(string))
        {
            return "string";
        }

        if (t == typeof(JsonElement))
        {
            return "object";
        }

        if (t.IsEnum)
        {
            return "one of " + string.Join(", ", Enum.GetNames(t).Select(n => $"`{JsonNamingPolicy.CamelCase.ConvertName(n)}`"));
        }

        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            return $"object of {TypeName(t.GetGenericArguments()[1])}s";
        }

        if (OptionRules.ItemType(t) is { } item)
        {
            return IsNested(item) ? "list of objects" : $"list of {TypeName(item)}";
        }

        return IsNested(t) ? "object" : t.Name;
    }

    private static string Format(object? value) => value switch
    {
        null => "none",
        bool b => b ? "true" : "false",
        string s => $"\"{s}\"",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        NodaTime.Duration d => d.TotalSeconds.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        Enum e => JsonNamingPolicy.CamelCase.ConvertName(e.ToString()),
        JsonElement { ValueKind: JsonValueKind.Undefined } => "none",
        JsonElement j => j.GetRawText(),
        System.Collections.IDictionary { Count: 0 } => "{}",
        System.Collections.ICollection { Count: 0 } => "[]",
        IValidatableOptions => "see below",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..].TrimEnd('.');
}
