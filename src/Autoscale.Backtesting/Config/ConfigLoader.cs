using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Backtesting.Engine;
using Autoscale.Policies.Catalog;
using NodaTime;

namespace Autoscale.Backtesting.Config;

/// <summary>
/// Reads a backtest config (DESIGN.md, "Command line") into a <see cref="BacktestPlan"/>: every
/// field checked, every policy built once to validate its options, sweeps expanded.
/// </summary>
public sealed class ConfigLoader
{
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private readonly PolicyCatalog _catalog;

    /// <summary>Creates a loader that finds policies in <paramref name="catalog"/>.</summary>
    public ConfigLoader(PolicyCatalog catalog)
    {
        _catalog = catalog;
    }

    /// <summary>Loads the config file at <paramref name="path"/>.</summary>
    /// <exception cref="ConfigException">The file is missing, not JSON, or breaks a rule.</exception>
    public BacktestPlan LoadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new ConfigException(path, "", "no such file");
        }

        return Load(File.ReadAllText(path), path);
    }

    /// <summary>Loads a config from its JSON text; <paramref name="file"/> names it in messages.</summary>
    public BacktestPlan Load(string json, string file)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $"line {line + 1}, column {e.BytePositionInLine + 1}: " : "";
            throw new ConfigException(file, "", $"{where}not valid JSON ({FirstSentence(e.Message)})", e);
        }

        using (document)
        {
            var root = new JsonFields(document.RootElement, file, "", "slo", "replica", "engine", "billing", "candidates");
            var settings = ReadSettings(root, file);
            var candidates = ReadCandidates(root, file, settings);
            return new BacktestPlan(settings, candidates);
        }
    }

    private static ReplaySettings ReadSettings(JsonFields root, string file)
    {
        var slo = new JsonFields(root.Required("slo"), file, "slo", "maxWaitSeconds", "targetPercent", "clientTimeoutSeconds", "dollarsPerViolation");
        var replica = new JsonFields(root.Required("replica"), file, "replica", "capacityRps", "gpus", "dollarsPerGpuHour");
        var engine = root.Has("engine")
            ? new JsonFields(root.Get("engine"), file, "engine", "tickSeconds", "maxReplicas", "seed")
            : (JsonFields?)null;

        var sloSettings = new SloSettings(
            slo.Number("maxWaitSeconds"),
            slo.Number("targetPercent", 99.0),
            slo.OptionalNumber("clientTimeoutSeconds"),
            slo.Number("dollarsPerViolation", 0));
        Check(file, sloSettings.Validate().Select(e => "slo." + e));

        var replicaSettings = new ReplicaSettings(
            replica.Number("capacityRps"),
            replica.Integer("gpus", 1),
            replica.Number("dollarsPerGpuHour", 0));
        Check(file, replicaSettings.Validate().Select(e => "replica." + e));

        var tickSeconds = engine?.Number("tickSeconds", 1) ?? 1;
        if (!(tickSeconds > 0) || tickSeconds > 86_400 || !double.IsFinite(tickSeconds))
        {
            throw new ConfigException(file, "engine.tickSeconds", $"must be > 0 and at most a day (was {Format(tickSeconds)})");
        }

        var tick = Duration.FromNanoseconds(Math.Round(tickSeconds * 1e9));
        var maxReplicas = engine?.Integer("maxReplicas", 10_000) ?? 10_000;
        if (maxReplicas < 0)
        {
            throw new ConfigException(file, "engine.maxReplicas", $"must be >= 0 (was {maxReplicas})");
        }

        var seed = engine?.Long("seed", 1) ?? 1;
        double granularity = 0, minimum = 0;
        if (root.Has("billing"))
        {
            var billing = new JsonFields(root.Get("billing"), file, "billing", "granularitySeconds", "minimumSeconds");
            granularity = billing.Number("granularitySeconds", 0);
            minimum = billing.Number("minimumSeconds", 0);
            if (!(granularity >= 0) || !(minimum >= 0) || !double.IsFinite(granularity) || !double.IsFinite(minimum))
            {
                throw new ConfigException(file, "billing", $"granularitySeconds ({Format(granularity)}) and minimumSeconds ({Format(minimum)}) must be finite numbers >= 0");
            }
        }

        return new ReplaySettings(sloSettings, replicaSettings, tick, maxReplicas, seed)
        {
            BillingGranularitySeconds = granularity,
            BillingMinimumSeconds = minimum,
        };
    }

    private List<CandidateSpec> ReadCandidates(JsonFields root, string file, ReplaySettings settings)
    {
        var array = root.Required("candidates");
        if (array.ValueKind != JsonValueKind.Array || array.GetArrayLength() == 0)
        {
            throw new ConfigException(file, "candidates", "must be a non-empty array of candidates");
        }

        var result = new List<CandidateSpec>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var element in array.EnumerateArray())
        {
            var path = $"candidates[{index++}]";
            foreach (var spec in ReadCandidate(element, file, path, settings))
            {
                if (!names.TryAdd(spec.Name, path))
                {
                    throw new ConfigException(file, path + ".name", $"\"{spec.Name}\" is already the name of {names[spec.Name]}");
                }

                result.Add(spec);
            }
        }

        return result;
    }

    /// <summary>When <paramref name="name"/> is a loaded type that cannot be a policy, says why.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only explains a name that is not in the catalog; a trimmed build may find fewer types.")]
    private static InvalidOptionsException? WhyNotAPolicy(string name)
    {
        if (PolicyCatalog.FindLoadedType(name) is not { } type)
        {
            return null;
        }

        try
        {
            PolicyTypes.Describe(type, name);
            return null;
        }
        catch (InvalidOptionsException e)
        {
            return e;
        }
    }

    private IEnumerable<CandidateSpec> ReadCandidate(JsonElement element, string file, string path, ReplaySettings settings)
    {
        var fields = new JsonFields(element, file, path, "name", "policy", "options", "sweep", "loadTime", "decisionIntervalSeconds", "metricsDelaySeconds");
        var name = fields.String("name");
        var policyName = fields.String("policy");
        if (!_catalog.TryGet(policyName, out var descriptor))
        {
            if (WhyNotAPolicy(policyName) is { } why)
            {
                throw new ConfigException(file, path + ".policy", why.Message, why);
            }

            var hint = policyName.Contains('.', StringComparison.Ordinal) ? " (for your own policy, pass --assembly DLL, --project CSPROJ or --policy-file FILE.cs)" : "";
            var known = string.Join(", ", _catalog.Names.Where(n => !n.Contains('.', StringComparison.Ordinal)));
            throw new ConfigException(file, path + ".policy", $"unknown policy \"{policyName}\" (known: {known}){hint}");
        }

        var loadTime = LoadTimeConfig.Read(fields.Has("loadTime") ? fields.Get("loadTime") : throw fields.Error(path + ".loadTime", "is required, e.g. {\"fixedSeconds\": 25}"), file, path + ".loadTime", settings.Seed);
        var decisionTicks = Ticks(fields, "decisionIntervalSeconds", settings.Tick, minimumTicks: 1, fallbackTicks: 1);
        var delayTicks = Ticks(fields, "metricsDelaySeconds", settings.Tick, minimumTicks: 0, fallbackTicks: 0);

        var options = fields.Get("options");
        if (options.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.Object))
        {
            throw new ConfigException(file, path + ".options", $"must be an object, not {JsonFields.Kind(options)}");
        }

        foreach (var (suffix, values) in SweepExpansion.Expand(fields.Get("sweep"), file, path + ".sweep"))
        {
            var candidateName = suffix.Length == 0 ? name : $"{name} {suffix}";
            var bound = BindOptions(descriptor, options, values, file, path);
            yield return new CandidateSpec(candidateName, () => descriptor.Create(bound), loadTime, decisionTicks, delayTicks)
            {
                PolicyName = descriptor.Name,
                SweepGroup = suffix.Length == 0 ? null : name,
                SweepValue = suffix.Length == 0 ? null : suffix,
            };
        }
    }

    private static object BindOptions(PolicyDescriptor descriptor, JsonElement options, IReadOnlyList<SweepValue> sweep, string file, string path)
    {
        var json = options;
        if (sweep.Count > 0)
        {
            var node = options.ValueKind == JsonValueKind.Object ? JsonNode.Parse(options.GetRawText())!.AsObject() : [];
            foreach (var value in sweep)
            {
                foreach (var existing in node.Select(p => p.Key).Where(k => string.Equals(k, value.Option, StringComparison.OrdinalIgnoreCase)).ToList())
                {
                    node.Remove(existing);
                }

                node[value.Option] = JsonNode.Parse(value.Json);
            }

            using var document = JsonDocument.Parse(node.ToJsonString());
            json = document.RootElement.Clone();
        }

        object bound;
        try
        {
            bound = OptionsBinder.Bind(descriptor.OptionsType, json, path + ".options");
        }
        catch (OptionsBindingException e)
        {
            var swept = sweep.FirstOrDefault(v => e.Path.Equals($"{path}.options.{v.Option}", StringComparison.OrdinalIgnoreCase));
            throw new ConfigException(file, swept is null ? e.Path : $"{path}.sweep.{swept.Option}", e.Problem, e);
        }

        try
        {
            descriptor.Create(bound);
        }
        catch (InvalidOptionsException e)
        {
            var at = sweep.Count > 0 ? $"{path}.options (with {string.Join(" ", sweep.Select(v => $"{v.Option}={v.Display}"))})" : $"{path}.options";
            throw new ConfigException(file, at, e.Message, e);
        }

        return bound;
    }

    private static int Ticks(JsonFields fields, string name, Duration tick, int minimumTicks, int fallbackTicks)
    {
        if (!fields.Has(name))
        {
            return fallbackTicks;
        }

        var seconds = fields.Number(name);
        var ticks = seconds / tick.TotalSeconds;
        var whole = Math.Round(ticks);
        if (!double.IsFinite(ticks) || Math.Abs(ticks - whole) > 1e-9 || whole < minimumTicks || whole > int.MaxValue / 2)
        {
            var rule = minimumTicks > 0 ? "a positive whole number of ticks" : "a whole number of ticks, >= 0";
            throw fields.Error(fields.Join(name), $"must be {rule} (was {Format(seconds)} s with a {Format(tick.TotalSeconds)} s tick)");
        }

        return (int)whole;
    }

    private static void Check(string file, IEnumerable<string> errors)
    {
        var first = errors.FirstOrDefault();
        if (first is not null)
        {
            // Messages read "slo.maxWaitSeconds (-1) must be ..."; split the path off for the usual shape.
            var space = first.IndexOf(' ', StringComparison.Ordinal);
            throw new ConfigException(file, first[..space], first[(space + 1)..]);
        }
    }

    internal static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd('.');
    }
}
