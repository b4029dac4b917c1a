namespace Autoscale.Traces;

/// <summary>
/// A trace file that cannot be used. The message reads <c>FILE: column X, row N: what is wrong</c>
/// (column and row where they apply; rows count from 1, data rows only).
/// </summary>
public sealed class TraceFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TraceFormatException(string file, string problem, string? column = null, long? row = null, Exception? inner = null)
        : base(Format(file, problem, column, row), inner)
    {
        File = file;
        Column = column;
        Row = row;
    }

    /// <summary>The file, as the user named it.</summary>
    public string File { get; }

    /// <summary>The column at fault, if one is.</summary>
    public string? Column { get; }

    /// <summary>The row at fault (from 1), if one is.</summary>
    public long? Row { get; }

    private static string Format(string file, string problem, string? column, long? row)
    {
        var where = column is null ? "" : $"column {column}, ";
        where += row is null ? "" : $"row {row}, ";
        return where.Length == 0 ? $"{file}: {problem}" : $"{file}: {where.TrimEnd(' ', ',')}: {problem}";
    }
}
