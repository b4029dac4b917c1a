namespace Autoscale;

/// <summary>
/// Thrown when a policy or model is built with options that break a rule. The message gathers
/// every failure, each naming the option, its value and the rule.
/// </summary>
public sealed class InvalidOptionsException : ArgumentException
{
    /// <summary>Creates the exception from the individual failures.</summary>
    public InvalidOptionsException(IReadOnlyList<string> failures)
        : base(string.Join("; ", failures))
    {
        Failures = failures;
    }

    /// <summary>Each rule that was broken, one message each.</summary>
    public IReadOnlyList<string> Failures { get; }

    /// <summary>Throws when <paramref name="failures"/> is not empty.</summary>
    public static void ThrowIfAny(IReadOnlyList<string> failures)
    {
        if (failures.Count > 0)
        {
            throw new InvalidOptionsException(failures);
        }
    }
}
