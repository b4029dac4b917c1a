namespace Autoscale;

/// <summary>One broken rule of an options object: where (the option's path, camelCase as in JSON) and what.</summary>
/// <param name="Path">The option's path inside the options object (<c>targetUtilization</c>, <c>schedule[1].from</c>); empty for a rule between options.</param>
/// <param name="Problem">What is wrong, with the value: <c>must be in (0, 1] (was 1.5)</c>.</param>
/// <remarks>An immutable value.</remarks>
public readonly record struct OptionError(string Path, string Problem)
{
    /// <summary>The error under an outer path (<c>candidates[0].options</c>).</summary>
    public OptionError Under(string outer) =>
        outer.Length == 0 ? this : new OptionError(Path.Length == 0 ? outer : Path.StartsWith('[') ? outer + Path : $"{outer}.{Path}", Problem);

    /// <summary><c>path: problem</c>, or the problem alone for a rule between options.</summary>
    public override string ToString() => Path.Length == 0 ? Problem : $"{Path}: {Problem}";
}
