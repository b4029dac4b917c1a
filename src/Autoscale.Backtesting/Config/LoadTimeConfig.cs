using System.Text.Json;
using NodaTime;

namespace Autoscale.Backtesting.Config;

/// <summary>Reads a candidate's <c>loadTime</c>: the shorthand <c>{"fixedSeconds": 25}</c> or <c>{"model": "fixed", "seconds": 25}</c>.</summary>
internal static class LoadTimeConfig
{
    public static ILoadTimeModel Read(JsonElement element, string file, string path)
    {
        if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty("fixedSeconds", out _))
        {
            var shorthand = new JsonFields(element, file, path, "fixedSeconds");
            return Fixed(shorthand.Number("fixedSeconds"), file, path + ".fixedSeconds");
        }

        var fields = new JsonFields(element, file, path, "model", "seconds");
        var model = fields.String("model");
        return model switch
        {
            "fixed" => Fixed(fields.Number("seconds"), file, path + ".seconds"),
            _ => throw new ConfigException(file, path + ".model", $"unknown load-time model \"{model}\" (known: fixed)"),
        };
    }

    private static FixedLoadTime Fixed(double seconds, string file, string path)
    {
        if (!(seconds >= 0) || !double.IsFinite(seconds) || seconds > 86_400 * 7)
        {
            throw new ConfigException(file, path, $"must be between 0 and 604800 seconds (was {ConfigLoader.Format(seconds)})");
        }

        return new FixedLoadTime(Duration.FromNanoseconds(Math.Round(seconds * 1e9)));
    }
}
