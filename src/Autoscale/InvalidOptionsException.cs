namespace Autoscale;

/// <summary>
/// Thrown when a policy or model is built with options that break a rule. The message gathers
/// every failure, each naming the option, its value and the rule.
/// </summary>
public sealed class InvalidOptionsException : ArgumentException
{
    /// <summary>Creates the exception from the broken rules.</summary>
    public InvalidOptionsException(IReadOnlyList<OptionError> errors)
        : base(string.Join("; ", errors))
    {
        Errors = errors;
    }

    /// <summary>Creates the exception from rules between options, each a whole sentence.</summary>
    public InvalidOptionsException(IReadOnlyList<string> failures)
        : this(failures.Select(f => new OptionError("", f)).ToArray())
    {
    }

    /// <summary>Each broken rule: the option's path and the problem.</summary>
    public IReadOnlyList<OptionError> Errors { get; }

    /// <summary>Each broken rule as one message (<c>path: problem</c>).</summary>
    public IReadOnlyList<string> Failures => Errors.Select(e => e.ToString()).ToArray();

    /// <summary>Throws when <paramref name="errors"/> is not empty.</summary>
    public static void ThrowIfAny(IReadOnlyList<OptionError> errors)
    {
        if (errors.Count > 0)
        {
            throw new InvalidOptionsException(errors);
        }
    }

    /// <summary>Throws when <paramref name="failures"/> is not empty.</summary>
    public static void ThrowIfAny(IReadOnlyList<string> failures)
    {
        if (failures.Count > 0)
        {
            throw new InvalidOptionsException(failures);
        }
    }
}
