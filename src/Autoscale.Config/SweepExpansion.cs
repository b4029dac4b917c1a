using System.Globalization;
using System.Text.Json;

namespace Autoscale.Config;

/// <summary>One option's value in one expanded sweep candidate.</summary>
/// <param name="Option">The option name as the sweep gives it.</param>
/// <param name="Json">The value as JSON text.</param>
/// <param name="Display">The value as it appears in the candidate's name.</param>
internal sealed record SweepValue(string Option, string Json, string Display);

/// <summary>
/// Expands a candidate's <c>sweep</c> (beside <c>options</c>): each option takes a list of values or an
/// inclusive range <c>{"from", "to", "step"}</c>; several options give every combination, in option order.
/// </summary>
internal static class SweepExpansion
{
    /// <summary>A range longer than this is surely a mistake in the config.</summary>
    public const int MaxValuesPerOption = 10_000;

    /// <summary>The most candidates one config may expand into (every sweep's combinations together).</summary>
    public const int MaxCandidates = 10_000;

    /// <summary>
    /// Expands a sweep into its combinations. Each swept option must be one <paramref name="unknownOption"/> has no objection to, and the
    /// combinations at most <paramref name="room"/>: both are checked before any combination is made.
    /// </summary>
    public static IEnumerable<(string Suffix, IReadOnlyList<SweepValue> Values)> Expand(JsonElement sweep, string file, string path, Func<string, string?>? unknownOption = null, int room = MaxCandidates)
    {
        if (sweep.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return [("", [])];
        }

        if (sweep.ValueKind != JsonValueKind.Object)
        {
            throw new ConfigException(file, path, $"must be an object of option: [values] or option: {{\"from\", \"to\", \"step\"}}, not {JsonFields.Kind(sweep)}");
        }

        foreach (var option in sweep.EnumerateObject())
        {
            if (unknownOption?.Invoke(option.Name) is { } problem)
            {
                throw new ConfigException(file, $"{path}.{option.Name}", problem);
            }
        }

        var axes = new List<List<SweepValue>>();
        var combinations = 1.0;
        foreach (var option in sweep.EnumerateObject())
        {
            var axis = Values(option, file, $"{path}.{option.Name}");
            combinations *= axis.Count;
            if (combinations > room)
            {
                throw new ConfigException(file, path, $"expands to {combinations:N0} or more candidates; a config may expand to at most {MaxCandidates:N0} (split the sweep, or use backtest --shard)");
            }

            axes.Add(axis);
        }

        if (axes.Count == 0)
        {
            throw new ConfigException(file, path, "must name at least one option");
        }

        IEnumerable<List<SweepValue>> combos = [[]];
        foreach (var axis in axes)
        {
            combos = combos.SelectMany(prefix => axis.Select(v => new List<SweepValue>(prefix) { v })).ToList();
        }

        return combos.Select(c => (string.Join(" ", c.Select(v => $"{v.Option}={v.Display}")), (IReadOnlyList<SweepValue>)c)).ToList();
    }

    private static List<SweepValue> Values(JsonProperty option, string file, string path)
    {
        var value = option.Value;
        if (value.ValueKind == JsonValueKind.Array)
        {
            if (value.GetArrayLength() == 0)
            {
                throw new ConfigException(file, path, "must list at least one value");
            }

            return value.EnumerateArray().Select(v => new SweepValue(option.Name, v.GetRawText(), Display(v))).ToList();
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new ConfigException(file, path, $"must be a list of values or {{\"from\", \"to\", \"step\"}}, not {JsonFields.Kind(value)}");
        }

        var range = new JsonFields(value, file, path, "from", "to", "step");
        var from = range.Number("from");
        var to = range.Number("to");
        var step = range.Number("step", 1);
        if (!(step > 0) || !double.IsFinite(step))
        {
            throw new ConfigException(file, path + ".step", $"must be > 0 (was {ConfigLoader.Format(step)})");
        }

        if (to < from)
        {
            throw new ConfigException(file, path + ".to", $"({ConfigLoader.Format(to)}) must be >= from ({ConfigLoader.Format(from)})");
        }

        var count = Math.Floor((to - from) / step + 1e-9) + 1;
        if (count > MaxValuesPerOption)
        {
            throw new ConfigException(file, path, $"expands to {count} values; at most {MaxValuesPerOption}");
        }

        var values = new List<SweepValue>();
        for (var i = 0; i < (int)count; i++)
        {
            var v = Math.Round(from + i * step, 12);
            var text = v.ToString("R", CultureInfo.InvariantCulture);
            values.Add(new SweepValue(option.Name, text, text));
        }

        return values;
    }

    private static string Display(JsonElement value) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
}
