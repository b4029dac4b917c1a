using System.Globalization;

namespace Autoscale;

/// <summary>
/// Declares an option's unit and valid range once: validation (<see cref="OptionRules"/>), error messages and
/// the options reference (<c>docs/options.md</c>, <c>autoscale policy list --options</c>) all read it.
/// </summary>
/// <remarks>
/// Numbers must be finite whatever the range. Bounds are inclusive unless <see cref="MinExclusive"/> or
/// <see cref="MaxExclusive"/> says otherwise. Rules between several options (a minimum below a maximum)
/// belong in <see cref="IValidatableOptions.Validate"/>.
/// </remarks>
[AttributeUsage(AttributeTargets.Property, Inherited = true)]
public sealed class OptionAttribute : Attribute
{
    /// <summary>The unit a reader needs: <c>s</c>, <c>replicas</c>, <c>req/s</c>, <c>%</c>, <c>fraction</c>, <c>GB</c>, <c>$/h</c>, ...</summary>
    public string? Unit { get; set; }

    /// <summary>The smallest valid value (no lower bound when not set).</summary>
    public double Min { get; set; } = double.NegativeInfinity;

    /// <summary>The largest valid value (no upper bound when not set).</summary>
    public double Max { get; set; } = double.PositiveInfinity;

    /// <summary>Whether <see cref="Min"/> itself is out of range.</summary>
    public bool MinExclusive { get; set; }

    /// <summary>Whether <see cref="Max"/> itself is out of range.</summary>
    public bool MaxExclusive { get; set; }

    /// <summary>Whether the option must be given (it has no default).</summary>
    public bool Required { get; set; }

    /// <summary>Whether <paramref name="value"/> lies in the range.</summary>
    public bool Contains(double value) =>
        (MinExclusive ? value > Min : value >= Min) && (MaxExclusive ? value < Max : value <= Max);

    /// <summary>The range as a reader writes it: <c>&gt;= 0</c>, <c>(0, 1]</c>, <c>1 to 100</c>; empty when unbounded.</summary>
    public string RangeText
    {
        get
        {
            var low = double.IsNegativeInfinity(Min) ? null : Number(Min);
            var high = double.IsPositiveInfinity(Max) ? null : Number(Max);
            return (low, high) switch
            {
                (null, null) => "",
                (not null, null) => $"{(MinExclusive ? ">" : ">=")} {low}",
                (null, not null) => $"{(MaxExclusive ? "<" : "<=")} {high}",
                _ => $"{(MinExclusive ? "(" : "[")}{low}, {high}{(MaxExclusive ? ")" : "]")}",
            };
        }
    }

    /// <summary>What a value must be, as an error message says it: <c>&gt;= 0</c>, <c>in (0, 1]</c>; empty when unbounded.</summary>
    public string RequirementText => RangeText is var range && (range.StartsWith('(') || range.StartsWith('[')) ? $"in {range}" : range;

    internal static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
