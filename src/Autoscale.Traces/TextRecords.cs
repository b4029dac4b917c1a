using System.Text;
using System.Text.Json;

namespace Autoscale.Traces;

/// <summary>One record of a text input: its row (from 1, data rows only), its line, and its fields as raw text.</summary>
internal readonly record struct TextRecord(long Row, long Line, IReadOnlyDictionary<string, string?> Fields);

/// <summary>Reads CSV (header row, RFC 4180 quoting) or JSON Lines into records keyed by field name (case-insensitive).</summary>
internal static class TextRecords
{
    public static IEnumerable<TextRecord> Read(string path, string name, ImportFormat format)
    {
        if (format == ImportFormat.Auto)
        {
            format = DetectFormat(path);
        }

        return format == ImportFormat.Jsonl ? ReadJsonl(path, name) : ReadCsv(path, name);
    }

    /// <summary>JSON Lines for <c>.jsonl</c>/<c>.ndjson</c> or a first character <c>{</c>; CSV otherwise.</summary>
    public static ImportFormat DetectFormat(string path)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is ".jsonl" or ".ndjson")
        {
            return ImportFormat.Jsonl;
        }

        if (ext is ".csv" or ".tsv")
        {
            return ImportFormat.Csv;
        }

        using var reader = new StreamReader(path);
        int c;
        while ((c = reader.Read()) >= 0)
        {
            if (!char.IsWhiteSpace((char)c) && c != '\uFEFF')
            {
                return c == '{' ? ImportFormat.Jsonl : ImportFormat.Csv;
            }
        }

        return ImportFormat.Csv;
    }

    /// <summary>UTF-8 that refuses invalid bytes instead of replacing them with U+FFFD.</summary>
    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Lines of a text file read as strict UTF-8; a byte that is not UTF-8 is an error naming the line.</summary>
    private static IEnumerable<(long Line, string Text)> Lines(string path, string name)
    {
        using var reader = new StreamReader(path, StrictUtf8, detectEncodingFromByteOrderMarks: false);
        long line = 0;
        while (true)
        {
            string? text;
            try
            {
                text = reader.ReadLine();
            }
            catch (System.Text.DecoderFallbackException)
            {
                throw new TraceFormatException(name, $"is not UTF-8 text (an invalid byte after line {line})");
            }

            if (text is null)
            {
                yield break;
            }

            line++;
            yield return (line, line == 1 ? text.TrimStart('\uFEFF') : text);
        }
    }

    private static IEnumerable<TextRecord> ReadCsv(string path, string name)
    {
        using var lines = Lines(path, name).GetEnumerator();
        var header = lines.MoveNext() ? lines.Current.Text : null;
        if (header is null || header.Trim().Length == 0)
        {
            throw new TraceFormatException(name, "the file is empty (expected a header such as timestamp,requests)");
        }

        var columns = SplitCsv(header).Select(c => c.Trim()).ToArray();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var column in columns)
        {
            if (!seen.Add(column))
            {
                throw new TraceFormatException(name, $"the header names the column twice (names are not case-sensitive) (line 1)", column);
            }
        }

        long row = 0;
        while (lines.MoveNext())
        {
            var (line, text) = lines.Current;
            if (text.Trim().Length == 0)
            {
                continue;
            }

            row++;
            var values = SplitCsv(text);
            if (values.Count != columns.Length)
            {
                throw new TraceFormatException(name, $"expected {columns.Length} fields, found {values.Count} (line {line})", row: row);
            }

            var fields = new Dictionary<string, string?>(columns.Length, StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < columns.Length; i++)
            {
                fields[columns[i]] = values[i].Trim();
            }

            yield return new TextRecord(row, line, fields);
        }

        if (row == 0)
        {
            throw new TraceFormatException(name, "the file has a header but no rows");
        }
    }

    private static IEnumerable<TextRecord> ReadJsonl(string path, string name)
    {
        long row = 0;
        foreach (var (line, text) in Lines(path, name))
        {
            if (text.Trim().Length == 0)
            {
                continue;
            }

            row++;
            Dictionary<string, string?> fields;
            try
            {
                using var doc = JsonDocument.Parse(text);
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new TraceFormatException(name, $"expected a JSON object per line (line {line})", row: row);
                }

                fields = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
                foreach (var member in doc.RootElement.EnumerateObject())
                {
                    var value = member.Value.ValueKind switch
                    {
                        JsonValueKind.String => member.Value.GetString(),
                        JsonValueKind.Null => null,
                        _ => member.Value.GetRawText(),
                    };
                    if (!fields.TryAdd(member.Name, value))
                    {
                        throw new TraceFormatException(name, $"the field is given twice in one object (names are not case-sensitive) (line {line})", member.Name, row);
                    }
                }
            }
            catch (JsonException e)
            {
                throw new TraceFormatException(name, $"not valid JSON (line {line}): {e.Message.Split(". ")[0].TrimEnd('.')}", row: row);
            }
            catch (InvalidOperationException)
            {
                // A \ud800 escape: JSON allows it, but it is no character.
                throw new TraceFormatException(name, $"a string holds an unpaired surrogate escape such as \\ud800, which is no character (line {line})", row: row);
            }

            yield return new TextRecord(row, line, fields);
        }

        if (row == 0)
        {
            throw new TraceFormatException(name, "the file is empty (expected one JSON object per line)");
        }
    }

    private static List<string> SplitCsv(string line)
    {
        var result = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                result.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }

        result.Add(field.ToString());
        return result;
    }
}
