using System.Text;

namespace Autoscale.Tests.Builds;

/// <summary>Splits a command line as a POSIX shell does for the forms the README uses: words, quotes, backslash-newline.</summary>
internal static class ShellWords
{
    public static List<string> Split(string line)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c is '\'' or '"')
            {
                var end = line.IndexOf(c, i + 1);
                word.Append(line, i + 1, end - i - 1);
                i = end;
                inWord = true;
            }
            else if (c == '\\' && i + 1 < line.Length)
            {
                word.Append(line[++i]);
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
            }
            else if (c == '#' && !inWord)
            {
                break;
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return words;
    }

    /// <summary>The lines of the README's <c>sh</c> blocks that start with <paramref name="prefix"/>, continuations joined.</summary>
    public static List<string> Commands(string markdown, string prefix)
    {
        var commands = new List<string>();
        var inShell = false;
        string? pending = null;
        foreach (var raw in markdown.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                inShell = !inShell && line.Trim() == "```sh";
                continue;
            }

            if (!inShell)
            {
                continue;
            }

            if (pending is not null)
            {
                pending += " " + line.Trim().TrimEnd('\\');
                if (!line.TrimEnd().EndsWith('\\'))
                {
                    commands.Add(pending);
                    pending = null;
                }

                continue;
            }

            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                if (line.TrimEnd().EndsWith('\\'))
                {
                    pending = line.TrimEnd().TrimEnd('\\');
                }
                else
                {
                    commands.Add(line);
                }
            }
        }

        return commands;
    }
}
