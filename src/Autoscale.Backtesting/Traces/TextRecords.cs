using System.Text;
using System.Text.Json;

namespace Autoscale.Backtesting.Traces;

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

    private static IEnumerable<TextRecord> ReadCsv(string path, string name)
    {
        using var reader = new StreamReader(path);
        var header = reader.ReadLine();
        if (header is null || header.Trim().Length == 0)
        {
            throw new TraceFormatException(name, "the file is empty (expected a header such as timestamp,requests)");
        }

        var columns = SplitCsv(header.TrimStart('\uFEFF')).Select(c => c.Trim()).ToArray();
        long row = 0, line = 1;
        string? text;
        while ((text = reader.ReadLine()) is not null)
        {
            line++;
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
        using var reader = new StreamReader(path);
        long row = 0, line = 0;
        string? text;
        while ((text = reader.ReadLine()) is not null)
        {
            line++;
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
                    fields[member.Name] = member.Value.ValueKind switch
                    {
                        JsonValueKind.String => member.Value.GetString(),
                        JsonValueKind.Null => null,
                        _ => member.Value.GetRawText(),
                    };
                }
            }
            catch (JsonException e)
            {
                throw new TraceFormatException(name, $"not valid JSON (line {line}): {e.Message.Split(". ")[0].TrimEnd('.')}", row: row);
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
