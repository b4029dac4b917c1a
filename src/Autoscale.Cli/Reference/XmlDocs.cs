using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Autoscale.Cli.Reference;

/// <summary>
/// The libraries' doc comments, read from their XML documentation files embedded in the command, as Markdown
/// one-liners: the meaning column of the options reference.
/// </summary>
/// <remarks>Immutable once built; thread-safe.</remarks>
internal sealed partial class XmlDocs
{
    private readonly Dictionary<string, string> _summaries = new(StringComparer.Ordinal);

    /// <summary>The documentation embedded in the command (empty when a build carries none).</summary>
    public static XmlDocs Embedded { get; } = Load(typeof(XmlDocs).Assembly);

    /// <summary>The summary of a property, or null.</summary>
    public string? Summary(PropertyInfo property) =>
        _summaries.GetValueOrDefault($"P:{Name(property.DeclaringType!)}.{property.Name}");

    /// <summary>The summary of a type, or null.</summary>
    public string? Summary(Type type) => _summaries.GetValueOrDefault($"T:{Name(type)}");

    private static XmlDocs Load(Assembly assembly)
    {
        var docs = new XmlDocs();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("docs/", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            foreach (var member in XDocument.Load(stream).Descendants("member"))
            {
                if (member.Attribute("name")?.Value is { } name && member.Element("summary") is { } summary)
                {
                    docs._summaries[name] = Markdown(summary);
                }
            }
        }

        return docs;
    }

    private static string Name(Type type) => (type.FullName ?? type.Name).Replace('+', '.');

    /// <summary>The text of a doc comment element with its markup as Markdown, on one line.</summary>
    private static string Markdown(XElement element)
    {
        var text = new StringBuilder();
        foreach (var node in element.Nodes())
        {
            text.Append(node switch
            {
                XText t => t.Value,
                XElement { Name.LocalName: "c" } c => $"`{c.Value}`",
                XElement { Name.LocalName: "see" } see when see.Attribute("langword") is { } word => $"`{word.Value}`",
                XElement { Name.LocalName: "see" or "seealso" } see => $"`{Reference(see.Attribute("cref")?.Value ?? "")}`",
                XElement { Name.LocalName: "paramref" or "typeparamref" } p => p.Attribute("name")?.Value ?? "",
                XElement e => Markdown(e),
                _ => "",
            });
        }

        return Whitespace().Replace(text.ToString(), " ").Trim();
    }

    /// <summary>A cref as a reader knows it: an option by its JSON name, a type or method by its short name.</summary>
    private static string Reference(string cref)
    {
        var name = cref.Length > 2 && cref[1] == ':' ? cref[2..] : cref;
        var paren = name.IndexOf('(', StringComparison.Ordinal);
        if (paren >= 0)
        {
            name = name[..paren];
        }

        var last = name[(name.LastIndexOf('.') + 1)..];
        return cref.StartsWith("P:", StringComparison.Ordinal) ? System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(last) : last;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
