using System.Diagnostics.CodeAnalysis;

namespace Autoscale.Config;

/// <summary>
/// The classes a backtest config file is read into, for tools that document the file (<c>autoscale policy list
/// --options</c> writes docs/options.md from them): each one's public properties are a section's fields, with their
/// <see cref="OptionAttribute"/> rules and doc comments. The classes themselves stay internal: the file, not these
/// types, is the contract.
/// </summary>
public static class ConfigSchema
{
    /// <summary>The top level of the file (<c>slo</c>, <c>replica</c>, <c>candidates</c>, ...).</summary>
    [DynamicallyAccessedMembers(OptionRules.Members)]
    public static Type File => typeof(BacktestConfig);

    /// <summary>The <c>report</c> section.</summary>
    [DynamicallyAccessedMembers(OptionRules.Members)]
    public static Type Report => typeof(ReportConfig);

    /// <summary>One of <c>candidates[]</c>.</summary>
    [DynamicallyAccessedMembers(OptionRules.Members)]
    public static Type Candidate => typeof(CandidateConfig);

    /// <summary>A load time given as <c>{"fixedSeconds": ...}</c>.</summary>
    [DynamicallyAccessedMembers(OptionRules.Members)]
    public static Type FixedSecondsLoadTime => typeof(FixedSecondsLoadTimeConfig);

    /// <summary>A load time given as <c>{"model": "fixed", ...}</c>.</summary>
    [DynamicallyAccessedMembers(OptionRules.Members)]
    public static Type FixedLoadTime => typeof(FixedLoadTimeConfig);

    /// <summary>A load time given as <c>{"model": "empirical", ...}</c>.</summary>
    [DynamicallyAccessedMembers(OptionRules.Members)]
    public static Type EmpiricalLoadTime => typeof(EmpiricalLoadTimeConfig);
}
