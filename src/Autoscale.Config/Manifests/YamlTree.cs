using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Autoscale.Config.Manifests;

/// <summary>Reads one YAML document into a JSON tree (YamlDotNet's representation model: no reflection, so the native build reads it too).</summary>
internal static class YamlTree
{
    /// <summary>The first document of <paramref name="text"/>; throws <see cref="ConfigException"/> naming the line and column when it is not YAML.</summary>
    public static JsonNode? Read(string file, string text) => ReadAll(file, text) is [var first, ..] ? first : null;

    /// <summary>
    /// Every document of <paramref name="text"/> (<c>---</c> between them), in order; the limits on size, depth and
    /// expansion hold for the documents together.
    /// </summary>
    public static IReadOnlyList<JsonNode?> ReadAll(string file, string text)
    {
        // A manifest is a few kilobytes; refuse what could exhaust memory or the stack before parsing it.
        if (text.Length > MaxChars)
        {
            throw new ConfigException(file, "", $"is {text.Length:N0} characters long; a manifest this tool reads is at most {MaxChars:N0}");
        }

        if (FlowDepth(text) is { } deep)
        {
            throw new ConfigException(file, $"line {deep.Line}", $"nests brackets deeper than {MaxDepth} levels");
        }

        if (BlockDepth(text) is { } line)
        {
            throw new ConfigException(file, $"line {line}", $"nests deeper than {MaxDepth} levels (indentation or \"- \" entries)");
        }

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            var what = e.InnerException?.Message ?? e.Message;
            var (atLine, atColumn) = ((long)e.Start.Line, (long)e.Start.Column);
            if (e is AnchorNotFoundException or { InnerException: AnchorNotFoundException }
                && System.Text.RegularExpressions.Regex.Match(what, "'([^']+)'") is { Success: true } anchor && atLine <= 1 && atColumn <= 1)
            {
                // An alias whose anchor is in another document (anchors do not cross "---"): the parser reports no position.
                (atLine, atColumn) = Position(text, "*" + anchor.Groups[1].Value);
                what = $"the alias *{anchor.Groups[1].Value} has no anchor &{anchor.Groups[1].Value} before it in its own document (anchors do not cross \"---\")";
            }

            throw new ConfigException(file, $"line {atLine}, column {atColumn}", $"is not YAML: {FirstLine(what)}", e);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or FormatException)
        {
            // YamlDotNet's scanner fails this way on some damaged text (a flow sequence left open inside a block one).
            throw new ConfigException(file, "", $"is not YAML: the parser stopped on it (a bracket or a quote left open?)", e);
        }

        var budget = new Budget(file);
        return stream.Documents.Select(d => Convert(d.RootNode, budget, 0)).ToList();
    }

    internal const int MaxChars = 1 << 20;
    internal const int MaxDepth = 64;
    internal const int MaxNodes = 100_000;

    /// <summary>Counts the nodes a document expands to: aliases repeat whole subtrees, and a few lines can stand for billions.</summary>
    private sealed class Budget(string file)
    {
        private int _nodes;

        public string File => file;

        public void Take(int depth)
        {
            if (++_nodes > MaxNodes)
            {
                throw new ConfigException(file, "", $"expands to more than {MaxNodes:N0} values (through aliases?); a manifest this tool reads is smaller");
            }

            if (depth > MaxDepth)
            {
                throw new ConfigException(file, "", $"nests deeper than {MaxDepth} levels");
            }
        }
    }

    /// <summary>
    /// The first line that nests block collections too deep for the parser's recursion: more than
    /// <see cref="MaxDepth"/> compact entries (<c>- - - x</c>) on one line, or an indentation past 8 columns a level.
    /// </summary>
    private static int? BlockDepth(string text)
    {
        var line = 0;
        foreach (var raw in text.Split('\n'))
        {
            line++;
            var indent = 0;
            while (indent < raw.Length && raw[indent] == ' ')
            {
                indent++;
            }

            if (indent > MaxDepth * 8)
            {
                return line;
            }

            var compact = 0;
            for (var i = indent; i + 1 < raw.Length && raw[i] is '-' or '?' && raw[i + 1] == ' ';)
            {
                compact++;
                i += 2;
                while (i < raw.Length && raw[i] == ' ')
                {
                    i++;
                }
            }

            if (compact > MaxDepth)
            {
                return line;
            }
        }

        return null;
    }

    /// <summary>The first line where flow brackets nest deeper than <see cref="MaxDepth"/>, outside quotes and comments; null when none does.</summary>
    private static (int Line, int Depth)? FlowDepth(string text)
    {
        int depth = 0, line = 1;
        char quote = '\0';
        var comment = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n')
            {
                line++;
                comment = false;
                continue;
            }

            if (comment)
            {
                continue;
            }

            if (quote != '\0')
            {
                quote = c == quote ? '\0' : quote;
                continue;
            }

            switch (c)
            {
                case '#' when i == 0 || char.IsWhiteSpace(text[i - 1]):
                    comment = true;
                    break;
                case '"' or '\'':
                    quote = c;
                    break;
                case '[' or '{':
                    if (++depth > MaxDepth)
                    {
                        return (line, depth);
                    }

                    break;
                case ']' or '}':
                    depth = Math.Max(0, depth - 1);
                    break;
            }
        }

        return null;
    }

    private static JsonNode? Convert(YamlNode node, Budget budget, int depth)
    {
        budget.Take(depth);
        return node switch
        {
            YamlMappingNode map => Map(map, budget, depth),
            YamlSequenceNode list => new JsonArray(list.Children.Select(n => Convert(n, budget, depth + 1)).ToArray()),
            YamlScalarNode scalar => Scalar(scalar),
            _ => null,
        };
    }

    private static JsonObject Map(YamlMappingNode map, Budget budget, int depth)
    {
        var result = new JsonObject();
        foreach (var (key, value) in map.Children)
        {
            var name = (key as YamlScalarNode)?.Value ?? "";
            if (result.ContainsKey(name))
            {
                throw new ConfigException(budget.File, name, "is given twice in one mapping");
            }

            result[name] = Convert(value, budget, depth + 1);
        }

        return result;
    }

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        if (scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded)
        {
            return JsonValue.Create(value);
        }

        if (value is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (value is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            return JsonValue.Create(value.StartsWith('t') || value.StartsWith('T'));
        }

        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
        {
            return JsonValue.Create(whole);
        }

        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
        {
            return JsonValue.Create(number);
        }

        return JsonValue.Create(value);
    }

    /// <summary>The line and column (1-based) of the first <paramref name="token"/> in <paramref name="text"/>; (1, 1) when it is not there.</summary>
    private static (long Line, long Column) Position(string text, string token)
    {
        var at = text.IndexOf(token, StringComparison.Ordinal);
        if (at < 0)
        {
            return (1, 1);
        }

        var line = text.AsSpan(0, at).Count('\n') + 1;
        var column = at - (text.LastIndexOf('\n', Math.Max(0, at - 1)) + 1) + 1;
        return (line, column);
    }

    private static string FirstLine(string text)
    {
        var cut = text.IndexOfAny(['\r', '\n']);
        return (cut < 0 ? text : text[..cut]).Trim();
    }
}
