using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Backtesting.Engine;

namespace Autoscale.Config.Tuning;

/// <summary>
/// Reads a candidate's <c>tune</c>: per option path <c>{"from", "to", "step"}</c>, <c>{"from", "to", "log": true}</c> or
/// <c>{"values": [...]}</c>. Every path is resolved against the options class, and every value the space can give an
/// option alone (a grid's, a range's ends) is bound and checked against the policy's rules before anything runs.
/// </summary>
internal static class TuneSpaceReader
{
    /// <summary>The most values one grid may list.</summary>
    public const int MaxValuesPerOption = 10_000;

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2067", Justification = "A policy's options type is kept whole: the binder reads every option of it.")]
    public static TuneTarget Read(JsonElement tune, Type optionsType, JsonObject options, CandidateSpec baseline, Func<JsonElement, string, CandidateSpec> build, string file, string path)
    {
        if (tune.ValueKind != JsonValueKind.Object)
        {
            throw new ConfigException(file, path, $"must be an object of option path: {{\"from\", \"to\", \"step\"}} | {{\"from\", \"to\", \"log\": true}} | {{\"values\": [...]}}, not {JsonFields.Kind(tune)}");
        }

        var dimensions = new List<TuneDimension>();
        foreach (var option in tune.EnumerateObject())
        {
            var at = $"{path}.{option.Name}";
            (bool Integer, bool AsString) kind;
            try
            {
                kind = TunePath.Resolve(optionsType, option.Name);
            }
            catch (TunePathException e)
            {
                throw new ConfigException(file, at, e.Message);
            }

            if (dimensions.Any(d => d.Path.Equals(option.Name, StringComparison.OrdinalIgnoreCase)))
            {
                throw new ConfigException(file, at, "is tuned twice");
            }

            dimensions.Add(Dimension(option, kind.Integer, kind.AsString, file, at));
        }

        if (dimensions.Count == 0)
        {
            throw new ConfigException(file, path, "must name at least one option to tune");
        }

        var target = new TuneTarget(baseline, options, dimensions, build);

        // Each option alone at each of its values (a long grid: its ends and middle; a range: its ends), the others as
        // written: a value the option does not take is named before any replay.
        for (var i = 0; i < dimensions.Count; i++)
        {
            var d = dimensions[i];
            var probes = d.Grid is { Count: <= 64 } grid ? grid : d.Grid is { } long_ ? [long_[0], long_[long_.Count / 2], long_[^1]] : [d.From, d.To];
            foreach (var value in probes.Distinct())
            {
                try
                {
                    var options1 = (JsonObject)options.DeepClone();
                    TunePath.Write(options1, d, value);
                    using var document = JsonDocument.Parse(options1.ToJsonString());
                    build(document.RootElement.Clone(), baseline.Name);
                }
                catch (TunePathException e)
                {
                    throw new ConfigException(file, $"{path}.{d.Path}", e.Message);
                }
                catch (ConfigException e)
                {
                    throw new ConfigException(file, $"{path}.{d.Path}", $"{TuneDimension.Format(value)} is not a value the option takes: {Clause(e)}");
                }
            }
        }

        return target;
    }

    private static string Clause(ConfigException e)
    {
        var at = e.Path.IndexOf(".options", StringComparison.Ordinal) is var i and >= 0 ? e.Path[(i + ".options".Length)..].TrimStart('.') : e.Path;
        return at.Length == 0 ? e.Problem : $"{at}: {e.Problem}";
    }

    private static TuneDimension Dimension(JsonProperty option, bool integer, bool asString, string file, string at)
    {
        var value = option.Value;
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new ConfigException(file, at, $"must be {{\"from\", \"to\", \"step\"}}, {{\"from\", \"to\", \"log\": true}} or {{\"values\": [...]}}, not {JsonFields.Kind(value)}");
        }

        if (value.TryGetProperty("values", out var list))
        {
            return Listed(option, value, list, integer, asString, file, at);
        }

        var range = new JsonFields(value, file, at, "from", "to", "step", "log");
        var from = range.Number("from");
        var to = range.Number("to");
        var log = range.Has("log") && (range.Get("log").ValueKind == JsonValueKind.True ? true
            : range.Get("log").ValueKind == JsonValueKind.False ? false
            : throw new ConfigException(file, at + ".log", $"must be true or false, not {JsonFields.Kind(range.Get("log"))}"));
        if (!double.IsFinite(from) || !double.IsFinite(to))
        {
            throw new ConfigException(file, at, "from and to must be finite numbers");
        }

        if (to <= from)
        {
            throw new ConfigException(file, at + ".to", to == from
                ? $"({TuneDimension.Format(to)}) equals from: the range is empty (tune a range, or list the one value as {{\"values\": [{TuneDimension.Format(to)}]}})"
                : $"({TuneDimension.Format(to)}) must be greater than from ({TuneDimension.Format(from)})");
        }

        if (integer && (from != Math.Floor(from) || to != Math.Floor(to)))
        {
            throw new ConfigException(file, at, $"from ({TuneDimension.Format(from)}) and to ({TuneDimension.Format(to)}) must be whole numbers: the option takes whole numbers");
        }

        if (log)
        {
            return LogRange(option, range, from, to, integer, asString, file, at);
        }

        if (!range.Has("step"))
        {
            throw new ConfigException(file, at, "needs \"step\" (a grid) or \"log\": true (a log-scaled range)");
        }

        var step = range.Number("step");
        if (!(step > 0) || !double.IsFinite(step))
        {
            throw new ConfigException(file, at + ".step", $"must be > 0 (was {TuneDimension.Format(step)})");
        }

        if (integer && step != Math.Floor(step))
        {
            throw new ConfigException(file, at + ".step", $"({TuneDimension.Format(step)}) must be a whole number: the option takes whole numbers");
        }

        var steps = (to - from) / step;
        if (Math.Abs(steps - Math.Round(steps)) > 1e-9 * Math.Max(1, steps))
        {
            throw new ConfigException(file, at + ".step", $"({TuneDimension.Format(step)}) does not divide the range {TuneDimension.Format(from)} to {TuneDimension.Format(to)} into whole steps");
        }

        if (Math.Round(steps) + 1 > MaxValuesPerOption)
        {
            throw new ConfigException(file, at, $"gives {Math.Round(steps) + 1:N0} values; at most {MaxValuesPerOption:N0} (take a larger step, or a log range)");
        }

        var points = Enumerable.Range(0, (int)Math.Round(steps) + 1).Select(i => Math.Round(from + i * step, 12)).ToList();
        return new TuneDimension(option.Name, points, from, to, integer, asString);
    }

    /// <summary>A dimension of listed values (<c>{"values": [...]}</c>), each a finite number (whole for an integer option), duplicates dropped.</summary>
    private static TuneDimension Listed(JsonProperty option, JsonElement value, JsonElement list, bool integer, bool asString, string file, string at)
    {
        _ = new JsonFields(value, file, at, "values");
        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            throw new ConfigException(file, at + ".values", "must list at least one number");
        }

        var values = new List<double>();
        var index = 0;
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetDouble(out var v) || !double.IsFinite(v))
            {
                throw new ConfigException(file, $"{at}.values[{index}]", $"must be a number, not {JsonFields.Kind(item)}");
            }

            if (integer && v != Math.Floor(v))
            {
                throw new ConfigException(file, $"{at}.values[{index}]", $"({TuneDimension.Format(v)}) must be a whole number: the option takes whole numbers");
            }

            if (!values.Contains(v))
            {
                values.Add(v);
            }

            index++;
        }

        if (values.Count > MaxValuesPerOption)
        {
            throw new ConfigException(file, at + ".values", $"lists {values.Count} values; at most {MaxValuesPerOption}");
        }

        return new TuneDimension(option.Name, values, values.Min(), values.Max(), integer, asString);
    }

    /// <summary>A log-scaled range (<c>"log": true</c>): from above zero, no step; an integer option's as the grid of distinct rounded points.</summary>
    private static TuneDimension LogRange(JsonProperty option, JsonFields range, double from, double to, bool integer, bool asString, string file, string at)
    {
        if (range.Has("step"))
        {
            throw new ConfigException(file, at + ".step", "a log range has no step: give \"log\": true or \"step\", not both");
        }

        if (!(from > 0))
        {
            throw new ConfigException(file, at + ".from", $"({TuneDimension.Format(from)}) must be > 0 for a log range");
        }

        if (integer)
        {
            // Whole numbers on a log scale: the distinct rounded points, as a grid (a short range is every number in it).
            var grid = new SortedSet<double>();
            var count = Math.Min(MaxValuesPerOption, to - from + 1);
            for (var i = 0; i < count; i++)
            {
                grid.Add(Math.Round(Math.Exp(Math.Log(from) + (Math.Log(to) - Math.Log(from)) * i / Math.Max(1, count - 1))));
            }

            return new TuneDimension(option.Name, grid.ToList(), from, to, integer, asString);
        }

        return new TuneDimension(option.Name, null, from, to, integer, asString);
    }
}
