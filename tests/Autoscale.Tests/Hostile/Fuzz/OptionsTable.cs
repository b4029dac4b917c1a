using System.Globalization;
using System.Text.RegularExpressions;

namespace Autoscale.Tests.Hostile.Fuzz;

/// <summary>One option as docs/options.md lists it.</summary>
internal sealed record OptionRow(string Name, string Type, string Range, bool Required)
{
    /// <summary>The documented range as bounds: (low, low inclusive, high, high inclusive); nulls where unbounded.</summary>
    public (double? Low, bool LowIn, double? High, bool HighIn) Bounds
    {
        get
        {
            var interval = Regex.Match(Range, @"^([\[(])(-?[\d.eE+]+), (-?[\d.eE+]+)([\])])$");
            if (interval.Success)
            {
                return (Parse(interval.Groups[2].Value), interval.Groups[1].Value == "[", Parse(interval.Groups[3].Value), interval.Groups[4].Value == "]");
            }

            var low = Regex.Match(Range, @"^(>=?) (-?[\d.eE+]+)$");
            return low.Success ? (Parse(low.Groups[2].Value), low.Groups[1].Value == ">=", null, false) : (null, false, null, false);
        }
    }

    public bool Admits(double value)
    {
        var (low, lowIn, high, highIn) = Bounds;
        return (low is not { } l || (lowIn ? value >= l : value > l)) && (high is not { } h || (highIn ? value <= h : value < h));
    }

    private static double Parse(string text) => double.Parse(text, CultureInfo.InvariantCulture);
}

/// <summary>
/// The options reference (docs/options.md, generated from the options classes) read back as tables, so the
/// config generator follows every option the config and the built-in policies have, with their ranges.
/// </summary>
internal static class OptionsTable
{
    private static readonly Lazy<(Dictionary<string, List<OptionRow>> Sections, Dictionary<string, string> Inherits, List<string> Policies)> Parsed = new(Parse);

    /// <summary>Tables by section: <c>slo</c>, <c>candidates[]</c>, <c>load:fixedSeconds</c>, <c>load:phased</c>, <c>jitter</c>, a policy's name, <c>schedule[]</c>...</summary>
    public static IReadOnlyDictionary<string, List<OptionRow>> Sections => Parsed.Value.Sections;

    /// <summary>The built-in policies' names.</summary>
    public static IReadOnlyList<string> Policies => Parsed.Value.Policies;

    /// <summary>The options of <paramref name="section"/>, with those of the section it says it inherits first.</summary>
    public static IReadOnlyList<OptionRow> Rows(string section)
    {
        var own = Sections.TryGetValue(section, out var rows) ? rows : [];
        return Parsed.Value.Inherits.TryGetValue(section, out var parent)
            ? [.. Rows(parent).Where(p => own.All(o => !o.Name.Equals(p.Name, StringComparison.OrdinalIgnoreCase))), .. own]
            : own;
    }

    private static (Dictionary<string, List<OptionRow>>, Dictionary<string, string>, List<string>) Parse()
    {
        var sections = new Dictionary<string, List<OptionRow>>();
        var inherits = new Dictionary<string, string>();
        var policies = new List<string>();
        string? current = null;
        var inPolicies = false;
        foreach (var line in File.ReadLines(Path.Combine(TestPaths.Root, "docs", "options.md")))
        {
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                inPolicies = line.StartsWith("## Policies", StringComparison.Ordinal);
                current = null;
            }
            else if (line.StartsWith("### ", StringComparison.Ordinal))
            {
                current = SectionName(line[4..]);
                if (inPolicies)
                {
                    policies.Add(current);
                }
            }
            else if (Regex.Match(line, @"^Each `([^`]+)`:") is { Success: true } each)
            {
                current = each.Groups[1].Value;
            }
            else if (current is not null && Regex.Match(line, @"^Every option of \[`([^`]+)`\]") is { Success: true } parent)
            {
                inherits[current] = parent.Groups[1].Value;
            }
            else if (current is not null && line.StartsWith("| `", StringComparison.Ordinal))
            {
                var cells = line.Split('|').Select(c => c.Trim()).ToArray();
                var row = new OptionRow(cells[1].Trim('`'), cells[2], cells[5], cells[4] == "**required**");
                (sections.TryGetValue(current, out var list) ? list : sections[current] = []).Add(row);
            }
        }

        return (sections, inherits, policies);
    }

    private static string SectionName(string heading)
    {
        var model = Regex.Match(heading, "\"model\": \"([a-z]+)\"");
        if (model.Success)
        {
            return "load:" + model.Groups[1].Value;
        }

        return heading.Contains("fixedSeconds", StringComparison.Ordinal) ? "load:fixedSeconds" : heading.Trim('`');
    }
}
