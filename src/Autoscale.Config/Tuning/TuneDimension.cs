using System.Globalization;

namespace Autoscale.Config.Tuning;

/// <summary>
/// One tuned option: its path in the candidate's options and the values it may take, either a finite list
/// (<c>{"from", "to", "step"}</c> or <c>{"values": [...]}</c>) or a log-scaled range (<c>{"from", "to", "log": true}</c>).
/// </summary>
/// <param name="Path">The option's path as written in <c>tune</c> (<c>behavior.scaleDown.stabilizationWindowSeconds</c>).</param>
/// <param name="Grid">The values, in the order given (ascending for a range); null for a continuous log range.</param>
/// <param name="From">The smallest value.</param>
/// <param name="To">The largest value.</param>
/// <param name="Integer">Whether the option takes whole numbers (a log range is then rounded, and its values made distinct).</param>
/// <param name="AsString">Whether the value is written as a JSON string (a KEDA trigger's metadata).</param>
public sealed record TuneDimension(string Path, IReadOnlyList<double>? Grid, double From, double To, bool Integer, bool AsString)
{
    /// <summary>How many values the option may take; null for a continuous range.</summary>
    public int? Count => Grid?.Count;

    /// <summary>The value at <paramref name="unit"/> in [0, 1]: a grid's nearest entry, or a log range's point (rounded for whole numbers).</summary>
    public double At(double unit)
    {
        unit = Math.Clamp(unit, 0, 1);
        if (Grid is { } grid)
        {
            return grid[(int)Math.Min(grid.Count - 1, Math.Floor(unit * grid.Count))];
        }

        var value = Math.Exp(Math.Log(From) + unit * (Math.Log(To) - Math.Log(From)));
        value = Math.Clamp(value, From, To);
        return Integer ? Math.Round(value) : RoundSignificant(value);
    }

    /// <summary>Where <paramref name="value"/> lies in [0, 1] (the middle of a grid entry's cell).</summary>
    public double Unit(double value)
    {
        if (Grid is { } grid)
        {
            var index = 0;
            for (var i = 1; i < grid.Count; i++)
            {
                if (Math.Abs(grid[i] - value) < Math.Abs(grid[index] - value))
                {
                    index = i;
                }
            }

            return (index + 0.5) / grid.Count;
        }

        return To <= From ? 0.5 : Math.Clamp((Math.Log(value) - Math.Log(From)) / (Math.Log(To) - Math.Log(From)), 0, 1);
    }

    /// <summary>The value as text (invariant, shortest round-trip).</summary>
    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Four significant digits: a log range's draws read as settings a person would write.</summary>
    private static double RoundSignificant(double value)
    {
        if (value == 0 || !double.IsFinite(value))
        {
            return value;
        }

        var digits = 4 - (int)Math.Floor(Math.Log10(Math.Abs(value))) - 1;
        return digits is >= 0 and <= 15 ? Math.Round(value, digits) : value;
    }
}
