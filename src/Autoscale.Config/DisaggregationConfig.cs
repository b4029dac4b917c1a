using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Serving;

namespace Autoscale.Config;

/// <summary>
/// Reads <c>replica.serving.disaggregation</c>: each pool's fields laid over <c>replica.serving</c> (as a candidate's
/// options over its manifest's), its GPUs and price over the replica section's, and the KV cache transfer.
/// </summary>
internal static class DisaggregationConfig
{
    private const string Path = "replica.serving.disaggregation";

    /// <summary>The disaggregated fleet of a bound config (<paramref name="root"/> is its JSON); null when it has none.</summary>
    public static Disaggregation? Read(BacktestConfig config, JsonElement root, string file)
    {
        if (config.Replica?.Serving?.Disaggregation is not { } options)
        {
            return null;
        }

        var serving = Member(Member(root, "replica"), "serving");
        var shared = JsonNode.Parse(serving.GetRawText())!.AsObject();
        foreach (var key in shared.Select(p => p.Key).Where(k => k.Equals("disaggregation", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            shared.Remove(key);
        }

        using var sharedDocument = JsonDocument.Parse(shared.ToJsonString());
        var (prefill, prefillReplica, prefillModel) = Pool(config.Replica, sharedDocument.RootElement, options.Prefill, "prefill", file);
        var (decode, decodeReplica, _) = Pool(config.Replica, sharedDocument.RootElement, options.Decode, "decode", file);
        var transfer = options.KvTransfer!;
        var bytes = transfer.KvBytesPerToken ?? prefillModel
            ?? throw new ConfigException(file, Path + ".kvTransfer.kvBytesPerToken", "is required: the prefill pool names no hardware (model) to derive a token's KV cache bytes from");
        return new Disaggregation(prefill, prefillReplica, decode, decodeReplica, new KvTransfer(transfer.BandwidthGBps, transfer.BaseLatencySeconds, bytes, prefillReplica.Gpus));
    }

    /// <summary>One pool: its profile, its replicas' GPUs and price, and (with hardware) its model's KV cache bytes per token.</summary>
    private static (ServingProfile Profile, ReplicaSettings Replica, double? KvBytesPerToken) Pool(ReplicaOptions replica, JsonElement shared, JsonElement given, string name, string file)
    {
        var path = $"{Path}.{name}";
        var fields = JsonNode.Parse(given.GetRawText())!.AsObject();
        var price = new JsonObject();
        var known = OptionRules.Settable(typeof(ServingOptions)).Select(OptionRules.JsonName)
            .Where(n => n is not ("disaggregation" or "tokens")).Append("gpus").Append("dollarsPerGpuHour").Order(StringComparer.Ordinal).ToList();
        foreach (var key in fields.Select(p => p.Key).ToList())
        {
            if (!known.Contains(key, StringComparer.OrdinalIgnoreCase) && !key.Equals("tokens", StringComparison.OrdinalIgnoreCase) && !key.Equals("disaggregation", StringComparison.OrdinalIgnoreCase))
            {
                throw new ConfigException(file, $"{path}.{key}", $"unknown field (known: {string.Join(", ", known)})");
            }

            if (key.Equals("gpus", StringComparison.OrdinalIgnoreCase) || key.Equals("dollarsPerGpuHour", StringComparison.OrdinalIgnoreCase))
            {
                price[key] = fields[key]?.DeepClone();
                fields.Remove(key);
            }
            else if (key.Equals("disaggregation", StringComparison.OrdinalIgnoreCase) || key.Equals("tokens", StringComparison.OrdinalIgnoreCase))
            {
                throw new ConfigException(file, $"{path}.{key}", key.Equals("tokens", StringComparison.OrdinalIgnoreCase)
                    ? "every pool serves the same requests, whose tokens are drawn once with replica.serving.tokens: give them there"
                    : "a pool is not disaggregated again");
            }
        }

        using var priceDocument = JsonDocument.Parse(price.ToJsonString());
        var shape = (PoolShapeConfig)ConfigLoader.Bind(typeof(PoolShapeConfig), priceDocument.RootElement, path, file);
        using var fieldsDocument = JsonDocument.Parse(fields.ToJsonString());
        var laid = OptionsOverlay.Apply(shared, fieldsDocument.RootElement);
        var options = (ServingOptions)ConfigLoader.Bind(typeof(ServingOptions), laid, path, file);
        var gpus = shape.Gpus ?? replica.Gpus;
        double? kvBytes = null;
        if (options.Hardware is not null)
        {
            var hardware = Hardware.HardwareProfiles.Apply(options, laid, file, path).Hardware;
            gpus = shape.Gpus ?? hardware.TensorParallel;
            if (gpus != hardware.TensorParallel)
            {
                throw new ConfigException(file, path + ".gpus", $"({gpus}) must equal the pool's hardware.tensorParallel ({hardware.TensorParallel}) (or leave it out)");
            }

            // Keys and values of every layer and KV head, at the dtype's bytes (BLIS's rule: fp8 moves half of bf16).
            kvBytes = Hardware.HardwareProfiles.Model(hardware.Model!, file, path + ".hardware.model").KvBytesPerToken / 2 * Hardware.HardwareModel.WeightBytes(hardware.Dtype);
        }

        var settings = new ReplicaSettings(replica.CapacityRps ?? 1, gpus, shape.DollarsPerGpuHour ?? replica.DollarsPerGpuHour);
        return (ServingProfile.From(options), settings, kvBytes);
    }

    private static JsonElement Member(JsonElement parent, string name)
    {
        if (parent.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in parent.EnumerateObject())
            {
                if (p.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    return p.Value;
                }
            }
        }

        return default;
    }
}

/// <summary>A pool's replicas: their GPUs and price.</summary>
internal sealed class PoolShapeConfig : IValidatableOptions
{
    /// <summary>GPUs per replica of the pool (default: its hardware's tensorParallel, else the replica section's).</summary>
    [Option(Unit = "GPUs", Min = 1, Max = 4096)]
    public int? Gpus { get; set; }

    /// <summary>Price of a GPU-hour of the pool's replicas (default: the replica section's).</summary>
    [Option(Unit = "$/GPU-hour", Min = 0, Max = 1e6)]
    public double? DollarsPerGpuHour { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}
