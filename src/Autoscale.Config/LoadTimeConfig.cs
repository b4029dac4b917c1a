using System.Text.Json;
using Autoscale.Backtesting.LoadTime;
using Autoscale.Traces;
using NodaTime;

namespace Autoscale.Config;

/// <summary>
/// Reads a candidate's <c>loadTime</c>: the shorthand <c>{"fixedSeconds": 25}</c>, or
/// <c>{"model": "fixed" | "phased" | "empirical", ...}</c>. Sizes are gigabytes (1e9 bytes),
/// bandwidths gigabytes per second; an empirical file is relative to the config's folder.
/// </summary>
internal static class LoadTimeConfig
{
    public static ILoadTimeModel Read(JsonElement element, string file, string path, long seed, Measurements measurements)
    {
        if (element.ValueKind == JsonValueKind.Undefined)
        {
            throw new ConfigException(file, path, "is required, e.g. {\"fixedSeconds\": 25}");
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new ConfigException(file, path, $"must be an object such as {{\"fixedSeconds\": 25}} or {{\"model\": \"phased\", ...}}, not {JsonFields.Kind(element)}");
        }

        if (element.TryGetProperty("fixedSeconds", out _))
        {
            var shorthand = (FixedSecondsLoadTimeConfig)ConfigLoader.Bind(typeof(FixedSecondsLoadTimeConfig), element, path, file);
            return Fixed(shorthand.FixedSeconds!.Value);
        }

        var model = element.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        switch (model)
        {
            case "fixed":
                return Fixed(((FixedLoadTimeConfig)ConfigLoader.Bind(typeof(FixedLoadTimeConfig), element, path, file)).Seconds!.Value);
            case "phased":
                return PhasedLoadTime.From((PhasedLoadTimeOptions)ConfigLoader.Bind(typeof(PhasedLoadTimeOptions), element, path, file), seed);
            case "empirical":
                return Empirical((EmpiricalLoadTimeConfig)ConfigLoader.Bind(typeof(EmpiricalLoadTimeConfig), element, path, file), file, path, seed, measurements);
            default:
                throw new ConfigException(file, path + ".model", model is null
                    ? "is required: \"fixed\", \"phased\" or \"empirical\" (or the shorthand {\"fixedSeconds\": 25})"
                    : $"unknown load-time model \"{model}\" (known: fixed, phased, empirical)");
        }
    }

    private static FixedLoadTime Fixed(Duration loadTime) => new(loadTime);

    private static EmpiricalLoadTime Empirical(EmpiricalLoadTimeConfig c, string file, string path, long seed, Measurements measurements)
    {
        var relative = c.File!;
        var fit = c.Fit;
        double[] seconds;
        try
        {
            seconds = measurements.Get(file, relative, c.Column);
        }
        catch (TraceFormatException e)
        {
            throw new ConfigException(file, path + ".file", e.Message, e);
        }

        try
        {
            return new EmpiricalLoadTime(seconds, fit == "lognormal", seed);
        }
        catch (InvalidOptionsException e)
        {
            throw new ConfigException(file, path + ".file", $"{relative}: {e.Message}", e);
        }
    }
}
