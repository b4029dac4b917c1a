namespace Autoscale;

/// <summary>An options object could not be bound: <see cref="Path"/> says where, the message says what.</summary>
public sealed class OptionsBindingException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OptionsBindingException(string path, string problem)
        : base($"{path}: {problem}")
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>The JSON path of the offending value.</summary>
    public string Path { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}
