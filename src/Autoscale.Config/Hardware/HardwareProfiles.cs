using System.Text.Json;

namespace Autoscale.Config.Hardware;

/// <summary>
/// Fills a serving profile's fields from its <c>hardware</c>: every step coefficient, <c>kvCacheTokens</c>,
/// <c>maxModelLen</c> and the time outside the GPU, except those the config gives itself.
/// </summary>
public static class HardwareProfiles
{
    /// <summary>Applies <c>hardware</c> to <c>replica.serving</c> of a bound config (<paramref name="root"/> is its JSON, read for the fields given explicitly); shapes apply theirs as they are read.</summary>
    internal static void ApplyAll(BacktestConfig config, JsonElement root, string file)
    {
        if (config.Replica?.Serving is { Hardware: not null } serving)
        {
            var replica = Object(root, "replica");
            var tp = Apply(serving, Object(replica, "serving"), file, "replica.serving").Hardware.TensorParallel;
            if (!Has(replica, "gpus"))
            {
                config.Replica.Gpus = tp;
            }
            else if (config.Replica.Gpus != tp)
            {
                throw new ConfigException(file, "replica.gpus", $"({config.Replica.Gpus}) must equal replica.serving.hardware.tensorParallel ({tp}), the GPUs a replica's model is sharded over (or leave it out)");
            }
        }
    }

    /// <summary>
    /// Fills <paramref name="serving"/> from its hardware where <paramref name="given"/> (its JSON) has no field of its own;
    /// returns the hardware and the derivation, one line each step.
    /// </summary>
    internal static (HardwareOptions Hardware, DerivedProfile Profile) Apply(ServingOptions serving, JsonElement given, string file, string path)
    {
        var hardware = serving.Hardware!;
        var derived = Derive(hardware, file, path + ".hardware");
        var step = Object(given, "stepSeconds");
        var s = serving.StepSeconds ??= new StepSecondsOptions();
        if (!Has(step, "base"))
        {
            s.Base = derived.BaseSeconds;
        }

        if (!Has(step, "perPrefillToken"))
        {
            s.PerPrefillToken = derived.PerPrefillTokenSeconds;
        }

        if (!Has(step, "perPrefillAttentionToken"))
        {
            s.PerPrefillAttentionToken = derived.PerPrefillAttentionTokenSeconds;
        }

        if (!Has(step, "perDecodeToken"))
        {
            s.PerDecodeToken = derived.PerDecodeTokenSeconds;
        }

        if (!Has(step, "perDecodeContextToken"))
        {
            s.PerDecodeContextToken = derived.PerDecodeContextTokenSeconds;
        }

        if (!Has(given, "kvCacheTokens"))
        {
            serving.KvCacheTokens = derived.KvCacheTokens;
        }

        if (!Has(given, "maxModelLen"))
        {
            serving.MaxModelLen = derived.MaxModelLen;
        }

        if (!Has(given, "requestOverheadSeconds"))
        {
            serving.RequestOverheadSeconds = derived.RequestOverheadSeconds;
        }

        if (!Has(given, "perOutputTokenOverheadSeconds"))
        {
            serving.PerOutputTokenOverheadSeconds = derived.PerOutputTokenOverheadSeconds;
        }

        if (OptionRules.Validate(serving, typeof(ServingOptions)) is [var first, ..])
        {
            var at = first.Under(path);
            throw new ConfigException(file, at.Path.TrimStart('.'), at.Problem + " (derived from hardware)");
        }

        return (hardware, derived);
    }

    /// <summary>The profile <paramref name="hardware"/> derives; a bad model, GPU or fit is a <see cref="ConfigException"/> at <paramref name="path"/>.</summary>
    public static DerivedProfile Derive(HardwareOptions hardware, string file, string path)
    {
        var model = Model(hardware.Model!, file, path + ".model");
        var gpu = GpuCatalog.Find(hardware.Gpu!)
            ?? throw new ConfigException(file, path + ".gpu", $"unknown GPU \"{hardware.Gpu}\" (known, closest first: {string.Join(", ", GpuCatalog.All.Select(g => g.Name).OrderBy(g => Math.Min(Distance(hardware.Gpu!.ToLowerInvariant(), g.ToLowerInvariant()), Distance(hardware.Gpu!.ToLowerInvariant(), g.Split('-')[0].ToLowerInvariant()))).ThenBy(g => g, StringComparer.Ordinal))})");
        try
        {
            return HardwareModel.Derive(model, gpu, hardware.TensorParallel, hardware.Dtype, hardware.GpuMemoryUtilization, HardwareCalibration.From(hardware.Calibration));
        }
        catch (ArgumentException e)
        {
            throw new ConfigException(file, path, e.Message);
        }
    }

    /// <summary>A model of the catalogue, or the shape a <c>config.json</c> at that path gives.</summary>
    internal static ModelSpec Model(string name, string file, string path)
    {
        if (ModelCatalog.Find(name) is { } known)
        {
            return known;
        }

        var looksLikeFile = name.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || name.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal) && !name.Contains('/', StringComparison.Ordinal);
        var full = Path.IsPathRooted(name) ? name : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file)) ?? "", name);
        if (looksLikeFile || File.Exists(full))
        {
            string text;
            try
            {
                text = Autoscale.Shared.BoundedFile.ReadText(full, 1 << 20);
            }
            catch (IOException e)
            {
                throw new ConfigException(file, path, $"\"{name}\": {e.Message}");
            }

            try
            {
                return ModelCatalog.FromConfigJson(name, text);
            }
            catch (Exception e) when (e is FormatException or JsonException)
            {
                throw new ConfigException(file, path, $"\"{name}\" {(e is JsonException ? "is not JSON" : e.Message)}");
            }
        }

        throw new ConfigException(file, path, $"unknown model \"{name}\" (known, closest first: {string.Join(", ", ModelCatalog.Closest(name, Distance))}; or the path of a Hugging Face config.json)");
    }

    /// <summary>The edit distance between two names.</summary>
    internal static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }

        return row[b.Length];
    }

    private static JsonElement Object(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) ? value : default;

    private static bool Has(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null;
}
