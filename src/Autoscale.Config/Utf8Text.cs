using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Autoscale.Config;

/// <summary>
/// Checks that text files read as UTF-8 are text: the first byte that begins no character, and the first
/// JSON string or name whose escapes make no character (<c>\ud800</c> alone), found before anything reads them.
/// </summary>
internal static class Utf8Text
{
    /// <summary>Where the first invalid UTF-8 sequence in <paramref name="bytes"/> starts (1-based line, byte column), or null when all of it is text.</summary>
    public static (int Line, int Column, byte Byte)? FirstInvalid(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return null;
        }

        var at = 0;
        while (at < bytes.Length)
        {
            if (Rune.DecodeFromUtf8(bytes[at..], out _, out var consumed) != OperationStatus.Done)
            {
                var before = bytes[..at];
                var line = before.Count((byte)'\n') + 1;
                var column = at - (before.LastIndexOf((byte)'\n') + 1) + 1;
                return (line, column, bytes[at]);
            }

            at += consumed;
        }

        return null;
    }

    /// <summary>The path of the first string or name under <paramref name="element"/> that is no text, or null.</summary>
    public static string? FirstUnpaired(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return Readable(() => element.GetString()) ? null : path;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (FirstUnpaired(item, $"{path}[{index++}]") is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.Object:
                foreach (var member in element.EnumerateObject())
                {
                    string name = "";
                    if (!Readable(() => name = member.Name))
                    {
                        return path.Length == 0 ? "(a name)" : $"{path} (a name in it)";
                    }

                    if (FirstUnpaired(member.Value, $"{path}.{name}") is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private static bool Readable(Action read)
    {
        try
        {
            read();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
