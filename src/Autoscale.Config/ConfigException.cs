namespace Autoscale.Config;

/// <summary>A backtest config that cannot be used: <c>FILE: path.to.field: what is wrong</c>.</summary>
public sealed class ConfigException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ConfigException(string file, string path, string problem, Exception? inner = null)
        : base(path.Length == 0 ? $"{file}: {problem}" : $"{file}: {path}: {problem}", inner)
    {
        File = file;
        Path = path;
        Problem = problem;
    }

    /// <summary>The config file, as the user named it.</summary>
    public string File { get; }

    /// <summary>The JSON path of the offending field (empty for the whole file).</summary>
    public string Path { get; }

    /// <summary>What is wrong.</summary>
    public string Problem { get; }
}
