using System.Text.Json;
using Autoscale.Backtesting.LoadTime;
using Autoscale.Backtesting.Traces;
using NodaTime;

namespace Autoscale.Backtesting.Config;

/// <summary>
/// Reads a candidate's <c>loadTime</c>: the shorthand <c>{"fixedSeconds": 25}</c>, or
/// <c>{"model": "fixed" | "phased" | "empirical", ...}</c>. Sizes are gigabytes (1e9 bytes),
/// bandwidths gigabytes per second; an empirical file is relative to the config's folder.
/// </summary>
internal static class LoadTimeConfig
{
    public static ILoadTimeModel Read(JsonElement element, string file, string path, long seed)
    {
        if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty("fixedSeconds", out _))
        {
            var shorthand = new JsonFields(element, file, path, "fixedSeconds");
            return Fixed(shorthand.Number("fixedSeconds"), file, path + ".fixedSeconds");
        }

        var model = element.ValueKind == JsonValueKind.Object && element.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        switch (model)
        {
            case "fixed":
                var fixedFields = new JsonFields(element, file, path, "model", "seconds");
                return Fixed(fixedFields.Number("seconds"), file, path + ".seconds");
            case "phased":
                return Phased(new JsonFields(element, file, path, "model", "modelSizeGb", "nodeBandwidthGbps", "storeBandwidthGbps", "shardSeconds",
                    "warmSeconds", "streaming", "snapshotRestoreSeconds", "jitter", "cache"), file);
            case "empirical":
                return Empirical(new JsonFields(element, file, path, "model", "file", "column", "fit"), file, seed);
            default:
                new JsonFields(element, file, path, "model", "fixedSeconds", "seconds");
                throw new ConfigException(file, path + ".model", model is null
                    ? "is required: \"fixed\", \"phased\" or \"empirical\" (or the shorthand {\"fixedSeconds\": 25})"
                    : $"unknown load-time model \"{model}\" (known: fixed, phased, empirical)");
        }
    }

    private static FixedLoadTime Fixed(double seconds, string file, string path)
    {
        if (!(seconds >= 0) || !double.IsFinite(seconds) || seconds > 86_400 * 7)
        {
            throw new ConfigException(file, path, $"must be between 0 and 604800 seconds (was {ConfigLoader.Format(seconds)})");
        }

        return new FixedLoadTime(Duration.FromNanoseconds(Math.Round(seconds * 1e9)));
    }

    private static PhasedLoadTime Phased(JsonFields f, string file)
    {
        double sigma = 0;
        if (f.Has("jitter"))
        {
            var jitter = new JsonFields(f.Get("jitter"), file, f.Join("jitter"), "distribution", "sigma");
            if (jitter.Has("distribution") && jitter.String("distribution") != "lognormal")
            {
                throw new ConfigException(file, jitter.Join("distribution"), "must be \"lognormal\"");
            }

            sigma = jitter.Number("sigma");
        }

        NodeCache? cache = null;
        if (f.Has("cache"))
        {
            var c = new JsonFields(f.Get("cache"), file, f.Join("cache"), "retentionSeconds", "bandwidthGbps", "holdDollarsPerHour");
            if (!c.Has("retentionSeconds"))
            {
                throw new ConfigException(file, c.Join("retentionSeconds"), "is required: a cache keeps the weights for a retention time (seconds > 0)");
            }

            cache = new NodeCache(c.Number("retentionSeconds"), c.Number("bandwidthGbps"), c.Number("holdDollarsPerHour", 0));
        }

        var streaming = f.Get("streaming");
        if (streaming.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.True or JsonValueKind.False))
        {
            throw new ConfigException(file, f.Join("streaming"), $"must be true or false, not {JsonFields.Kind(streaming)}");
        }

        var model = new PhasedLoadTime
        {
            ModelSizeGb = f.Number("modelSizeGb"),
            NodeBandwidthGbps = f.Number("nodeBandwidthGbps"),
            StoreBandwidthGbps = f.OptionalNumber("storeBandwidthGbps"),
            ShardSeconds = f.Number("shardSeconds", 0),
            WarmSeconds = f.Number("warmSeconds", 0),
            Streaming = streaming.ValueKind == JsonValueKind.True,
            SnapshotRestoreSeconds = f.OptionalNumber("snapshotRestoreSeconds"),
            JitterSigma = sigma,
            Cache = cache,
        };
        var errors = model.Validate();
        if (errors.Count > 0)
        {
            var first = errors[0];
            var space = first.IndexOf(' ', StringComparison.Ordinal);
            throw new ConfigException(file, f.Join(first[..space]), first[(space + 1)..]);
        }

        return model;
    }

    private static EmpiricalLoadTime Empirical(JsonFields f, string file, long seed)
    {
        var relative = f.String("file");
        var full = Path.IsPathRooted(relative) ? relative : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".", relative);
        var fit = f.Has("fit") ? f.String("fit") : "none";
        if (fit is not ("none" or "lognormal"))
        {
            throw new ConfigException(file, f.Join("fit"), $"must be \"none\" or \"lognormal\" (was \"{fit}\")");
        }

        double[] seconds;
        try
        {
            seconds = EmpiricalLoadTime.ReadMeasurementsAsync(full, f.Has("column") ? f.String("column") : "seconds", relative).GetAwaiter().GetResult();
        }
        catch (TraceFormatException e)
        {
            throw new ConfigException(file, f.Join("file"), e.Message, e);
        }

        try
        {
            return new EmpiricalLoadTime(seconds, fit == "lognormal", seed);
        }
        catch (InvalidOptionsException e)
        {
            throw new ConfigException(file, f.Join("file"), $"{relative}: {e.Message}", e);
        }
    }
}
