using Autoscale.Backtesting.Cluster;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Backtesting.Engine;
using Autoscale.Policies.Catalog;
using NodaTime;

namespace Autoscale.Config;

/// <summary>
/// Reads a backtest config (docs/options.md lists every field) into a <see cref="BacktestPlan"/>: every
/// field checked, every policy built once to validate its options, sweeps expanded.
/// </summary>
public sealed partial class ConfigLoader
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

    /// <summary>The most a config file may hold (64 MiB: a sweep of thousands of candidates is a few megabytes).</summary>
    internal const long MaxConfigBytes = 64L << 20;

    /// <summary>Loads the config file at <paramref name="path"/>.</summary>
    /// <exception cref="ConfigException">The file is missing, not JSON, or breaks a rule.</exception>
    public async Task<BacktestPlan> LoadFileAsync(string path, CancellationToken cancellationToken = default)
    {
        byte[] bytes;
        try
        {
            bytes = Autoscale.Shared.BoundedFile.ReadBytes(path, MaxConfigBytes);
        }
        catch (IOException e)
        {
            throw new ConfigException(path, "", e.Message);
        }

        return await LoadAsync(bytes, path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Loads a config from its JSON text; <paramref name="file"/> names it in messages (and empirical files are relative to its folder).</summary>
    /// <exception cref="ConfigException">The text is not JSON or breaks a rule.</exception>
    public Task<BacktestPlan> LoadAsync(string json, string file, CancellationToken cancellationToken = default) =>
        LoadAsync(System.Text.Encoding.UTF8.GetBytes(json), file, cancellationToken);

    /// <summary>Loads a config from its UTF-8 bytes (invalid UTF-8 is an error, never replaced); <paramref name="file"/> names it in messages.</summary>
    /// <exception cref="ConfigException">The bytes are not UTF-8 JSON or break a rule.</exception>
    public async Task<BacktestPlan> LoadAsync(ReadOnlyMemory<byte> utf8, string file, CancellationToken cancellationToken = default)
    {
        var bytes = utf8.Span.StartsWith("\uFEFF"u8) ? utf8[3..] : utf8;
        if (Utf8Text.FirstInvalid(bytes.Span) is { } bad)
        {
            throw new ConfigException(file, "", $"line {bad.Line}, column {bad.Column}: not UTF-8 text (byte 0x{bad.Byte:X2} begins no character); save the file as UTF-8");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes, DocumentOptions);
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $"line {line + 1}, column {e.BytePositionInLine + 1}: " : "";
            throw new ConfigException(file, "", $"{where}not valid JSON ({FirstSentence(e.Message)})", e);
        }

        using (document)
        {
            if (Utf8Text.FirstUnpaired(document.RootElement, "") is { } at)
            {
                throw new ConfigException(file, at.TrimStart('.'), OptionsBinder.UnpairedText);
            }

            // The files of empirical load-time models are read first, asynchronously; binding then checks every field in order.
            var measurements = await Measurements.ReadAsync(document.RootElement, file, cancellationToken).ConfigureAwait(false);
            DuplicateKeys.ThrowIfAny(document.RootElement, file);
            var config = (BacktestConfig)Bind(typeof(BacktestConfig), document.RootElement, "", file);
            Hardware.HardwareProfiles.ApplyAll(config, document.RootElement, file);
            if (config.Engine?.Serving == "fluid" && config.Replica!.Serving is null)
            {
                throw new ConfigException(file, "engine.serving", "\"fluid\" replays a serving profile, and the config has none: give replica.serving (or leave engine.serving out for the count model)");
            }

            var settings = Settings(config);
            if (DisaggregationConfig.Read(config, document.RootElement, file) is { } pools)
            {
                settings = settings with { Serving = settings.Serving! with { Disaggregation = pools } };
            }
            if (config.Cluster is { } cluster)
            {
                var spec = cluster.ToSpec(file, config.Replica!, "cluster");
                ClusterRules.Fits(spec, config.Replica!.Gpus, null, file, "replica.gpus");
                settings = settings with { Cluster = spec };
            }

            var shapes = ClusterRules.Shapes(config.Replicas, config.Replica!, file);
            _sources.Clear();
            _tunes.Clear();
            var candidates = ReadCandidates(config, file, settings, measurements, shapes);
            return new BacktestPlan(settings, candidates)
            {
                TimeZone = config.Report?.TimeZone ?? "UTC",
                Sources = new Dictionary<string, Manifests.ManifestSource>(_sources, StringComparer.Ordinal),
                Tunes = new Dictionary<string, Tuning.TuneTarget>(_tunes, StringComparer.Ordinal),
            };
        }
    }

    /// <summary>Binds a section of the config and checks its rules; the first broken one is the error.</summary>
    internal static object Bind([System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(OptionsBinder.OptionsMembers)] Type type, JsonElement element, string path, string file)
    {
        object bound;
        try
        {
            bound = OptionsBinder.Bind(type, element, path);
        }
        catch (OptionsBindingException e)
        {
            throw new ConfigException(file, e.Path.TrimStart('.'), UnknownField(e.Problem), e);
        }

        if (OptionRules.Validate(bound, type) is [var first, ..])
        {
            var at = first.Under(path);
            throw new ConfigException(file, at.Path.TrimStart('.'), at.Problem);
        }

        return bound;
    }

    private static string UnknownField(string problem) =>
        problem.StartsWith("unknown option for ", StringComparison.Ordinal) ? "unknown field" + problem[problem.IndexOf(" (", StringComparison.Ordinal)..] : problem;

    private static ReplaySettings Settings(BacktestConfig config)
    {
        var slo = config.Slo!;
        var replica = config.Replica!;
        var engine = config.Engine ?? new EngineOptions();
        var billing = config.Billing ?? new BillingOptions();
        var serving = replica.Serving is { } profile ? Autoscale.Backtesting.Serving.ServingProfile.From(profile) : null;
        var sloSettings = new SloSettings(slo.MaxWaitSeconds, slo.TargetPercent, slo.ClientTimeoutSeconds, slo.DollarsPerViolation)
        {
            MaxTtft = slo.MaxTtftSeconds,
            MaxTpot = slo.MaxTpotSeconds,
            MaxE2e = slo.MaxE2eSeconds,
        };

        // With a serving profile the capacity per replica comes from the profile and the trace's tokens.
        var replicaSettings = new ReplicaSettings(replica.CapacityRps ?? 1, replica.Gpus, replica.DollarsPerGpuHour);
        return new ReplaySettings(sloSettings, replicaSettings, engine.TickSeconds, engine.MaxReplicas, engine.Seed)
        {
            BillingGranularity = billing.GranularitySeconds,
            BillingMinimum = billing.MinimumSeconds,
            Serving = serving,
            Drain = engine.DrainSeconds,
            MaxRequests = engine.MaxRequests,
            FluidServing = serving is not null && engine.Serving == "fluid",
        };
    }

    private List<CandidateSpec> ReadCandidates(BacktestConfig config, string file, ReplaySettings settings, Measurements measurements, Dictionary<string, ReplicaShape> shapes)
    {
        var result = new List<CandidateSpec>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);

        // Shapes on the config's cluster (every shape but those only candidates with a cluster of their own name) fit it.
        if (settings.Cluster is { } shared)
        {
            foreach (var (shapeName, (shapeReplica, shapePool, _, _)) in shapes)
            {
                var users = config.Candidates!.Where(c => Uses(c, shapeName)).ToList();
                if (users.Count == 0 || users.Any(c => c.Cluster is null))
                {
                    ClusterRules.ShapeFits(shared, shapeReplica.Gpus, shapePool, file, $"replicas.{shapeName}.pool", $"replicas.{shapeName}.gpus");
                }
            }
        }

        for (var index = 0; index < config.Candidates!.Count; index++)
        {
            var path = $"candidates[{index}]";
            var candidate = config.Candidates[index];
            if (candidate.Policies is { } policies)
            {
                var pooled = ReadPools(candidate, policies, file, path, settings, measurements);
                if (!names.TryAdd(pooled.Name, path))
                {
                    throw new ConfigException(file, path + ".name", $"\"{pooled.Name}\" is already the name of {names[pooled.Name]}");
                }

                result.Add(pooled);
                continue;
            }

            if (candidate.Policy is { } single && PoolOnly(single))
            {
                throw new ConfigException(file, path + ".policy", $"\"{single}\" scales one pool of a disaggregated fleet: name it in policies ({(single.Equals("pd-ratio", StringComparison.OrdinalIgnoreCase) ? "as policies.decode" : "policies.prefill or policies.decode")}), with replica.serving.disaggregation");
            }

            var (shape, pool, named, own) = Placement(candidate, config, file, path, settings, shapes);
            foreach (var (read, swept, tune) in ReadCandidate(candidate, file, path, settings, SweepExpansion.MaxCandidates - result.Count, measurements, shapes.Count > 0, swept => (swept is null ? named : shapes.GetValueOrDefault(swept)) is { LoadTime.ValueKind: not JsonValueKind.Undefined } s ? (s.LoadTime, $"replicas.{swept ?? candidate.Replica}.loadTime") : null))
            {
                var spec = read with { Replica = shape, Pool = pool, Cluster = own, Serving = named?.Serving, Shape = candidate.Replica };
                if (swept is not null)
                {
                    spec = OnSweptShape(spec, swept, own ?? settings.Cluster, file, path, shapes);
                }

                if (!names.TryAdd(spec.Name, path))
                {
                    throw new ConfigException(file, path + ".name", $"\"{spec.Name}\" is already the name of {names[spec.Name]}");
                }

                result.Add(spec);
                if (tune is not null)
                {
                    _tunes[spec.Name] = tune((built, tunedName) => built with { Replica = shape, Pool = pool, Cluster = own, Serving = named?.Serving, Shape = candidate.Replica }, spec);
                }

                if (candidate.PolicyFrom is { } from)
                {
                    _sources[spec.Name] = new Manifests.ManifestSource(ManifestPath(from, file), candidate.Document, candidate.Deployment, candidate.MetricMap ?? []);
                }
            }
        }

        return result;
    }

    /// <summary>
    /// Where a candidate runs: its named replica shape (and that shape's pool), its own cluster, both checked to fit the
    /// cluster it runs on; a pool without a cluster is refused.
    /// </summary>
    private static (ReplicaSettings? Shape, string? Pool, ReplicaShape? Named, ClusterSpec? Own) Placement(CandidateConfig candidate, BacktestConfig config, string file, string path,
        ReplaySettings settings, Dictionary<string, ReplicaShape> shapes)
    {
        ReplicaSettings? shape = null;
        string? pool = null;
        ReplicaShape? named = null;
        if (candidate.Replica is { } shapeName)
        {
            if (!shapes.TryGetValue(shapeName, out named))
            {
                var known = shapes.Count == 0 ? "the config has no replicas section" : "known: " + string.Join(", ", shapes.Keys);
                throw new ConfigException(file, path + ".replica", $"unknown replica shape \"{shapeName}\" ({known})");
            }

            (shape, pool) = (named.Replica, named.Pool);
        }

        ClusterSpec? own = null;
        if (candidate.Cluster is { } candidateCluster)
        {
            own = candidateCluster.ToSpec(file, config.Replica!, path + ".cluster");
        }

        if ((own ?? settings.Cluster) is { } effective)
        {
            var at = own is null && candidate.Replica is { } namedShape ? $"replicas.{namedShape}" : path;
            ClusterRules.ShapeFits(effective, shape?.Gpus ?? config.Replica!.Gpus, pool, file,
                own is null ? at + ".pool" : path + ".replica", own is null ? (shape is null ? "replica.gpus" : at + ".gpus") : path + ".cluster");
        }
        else if (pool is not null)
        {
            throw new ConfigException(file, path + ".replica", $"the shape \"{candidate.Replica}\" names pool \"{pool}\", but the candidate runs on no cluster (add a cluster section)");
        }

        return (shape, pool, named, own);
    }

    /// <summary>A candidate of <c>"sweep": {"replica": ["h100x2", "l40sx4"]}</c> on one of its shapes, checked to fit the cluster it runs on.</summary>
    private static CandidateSpec OnSweptShape(CandidateSpec spec, string swept, ClusterSpec? cluster, string file, string path, Dictionary<string, ReplicaShape> shapes)
    {
        if (!shapes.TryGetValue(swept, out var sweptShape))
        {
            throw new ConfigException(file, path + ".sweep.replica", $"unknown replica shape \"{swept}\" (known: {string.Join(", ", shapes.Keys)})");
        }

        if (cluster is { } sweptCluster)
        {
            ClusterRules.ShapeFits(sweptCluster, sweptShape.Replica.Gpus, sweptShape.Pool, file, path + ".sweep.replica", path + ".sweep.replica");
        }
        else if (sweptShape.Pool is not null)
        {
            throw new ConfigException(file, path + ".sweep.replica", $"the shape \"{swept}\" names pool \"{sweptShape.Pool}\", but the candidate runs on no cluster (add a cluster section)");
        }

        return spec with { Replica = sweptShape.Replica, Pool = sweptShape.Pool, Serving = sweptShape.Serving, Shape = swept };
    }

    /// <summary>Whether the candidate runs on the shape: it names it, or sweeps over it.</summary>
    private static bool Uses(CandidateConfig candidate, string shape) =>
        candidate.Replica == shape
        || (candidate.Sweep.ValueKind == JsonValueKind.Object && candidate.Sweep.EnumerateObject().Any(o =>
            o.Name.Equals("replica", StringComparison.OrdinalIgnoreCase) && o.Value.ValueKind == JsonValueKind.Array
            && o.Value.EnumerateArray().Any(v => v.ValueKind == JsonValueKind.String && v.GetString() == shape)));

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

    private IEnumerable<(CandidateSpec Spec, string? SweptShape, Func<Func<CandidateSpec, string, CandidateSpec>, CandidateSpec, Tuning.TuneTarget>? Tune)> ReadCandidate(CandidateConfig candidate, string file, string path, ReplaySettings settings, int room, Measurements measurements, bool shapesSweepable,
        Func<string?, (JsonElement LoadTime, string Path)?> shapeLoadTime)
    {
        if (room < 1)
        {
            throw new ConfigException(file, path, $"a config may expand to at most {SweepExpansion.MaxCandidates:N0} candidates (split it, or use backtest --shard)");
        }

        var name = candidate.Name!;
        var policyName = candidate.Policy ?? "";
        var options = candidate.Options;
        if (candidate.PolicyFrom is { } manifest)
        {
            var imported = Import(manifest, candidate.MetricMap, candidate.Document, candidate.Deployment, file, path + ".policyFrom");
            if (candidate.Policy is not null && candidate.Policy != imported.Policy)
            {
                throw new ConfigException(file, path + ".policy", $"\"{candidate.Policy}\" is not the policy of the manifest policyFrom names ({imported.Policy}); leave policy out or make them agree");
            }

            policyName = imported.Policy;
            options = OptionsOverlay.Apply(imported.Options, candidate.Options);
        }

        if (!_catalog.TryGet(policyName, out var descriptor))
        {
            if (WhyNotAPolicy(policyName) is { } why)
            {
                throw new ConfigException(file, path + ".policy", why.Message, why);
            }

            if (_catalog.Sharing(policyName) is [_, ..] sharing)
            {
                throw new ConfigException(file, path + ".policy", $"\"{policyName}\" names several policy classes ({string.Join(", ", sharing)}): name one in full");
            }

            var hint = policyName.Contains('.', StringComparison.Ordinal) ? " (for your own policy, pass --assembly DLL, --project CSPROJ or --policy-file FILE.cs)" : "";
            var known = string.Join(", ", _catalog.Names.Where(n => !n.Contains('.', StringComparison.Ordinal)));
            throw new ConfigException(file, path + ".policy", $"unknown policy \"{policyName}\" (known: {known}){hint}");
        }

        // A candidate without a loadTime takes its shape's (per swept shape, once the sweep is expanded).
        var ownLoadTime = candidate.LoadTime.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null
            ? null
            : LoadTimeConfig.Read(candidate.LoadTime, file, path + ".loadTime", settings.Seed, measurements);
        if (ownLoadTime is null && !shapesSweepable && shapeLoadTime(null) is null)
        {
            LoadTimeConfig.Read(candidate.LoadTime, file, path + ".loadTime", settings.Seed, measurements);
        }

        ILoadTimeModel LoadTimeFor(string? swept) => ownLoadTime
            ?? (shapeLoadTime(swept) is { } fromShape
                ? LoadTimeConfig.Read(fromShape.LoadTime, file, fromShape.Path, settings.Seed, measurements)
                : LoadTimeConfig.Read(candidate.LoadTime, file, path + ".loadTime", settings.Seed, measurements));
        var decisionTicks = Ticks(OptionDuration.Seconds(candidate.DecisionIntervalSeconds), path + ".decisionIntervalSeconds", file, settings.Tick, minimumTicks: 1, fallbackTicks: 1);
        var delayTicks = Ticks(OptionDuration.Seconds(candidate.MetricsDelaySeconds), path + ".metricsDelaySeconds", file, settings.Tick, minimumTicks: 0, fallbackTicks: 0);

        if (options.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.Object))
        {
            throw new ConfigException(file, path + ".options", $"must be an object, not {JsonFields.Kind(options)}");
        }

        var settable = Autoscale.OptionRules.Settable(descriptor.OptionsType).Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        string? Unknown(string option) => settable.Contains(option) || (shapesSweepable && option.Equals("replica", StringComparison.OrdinalIgnoreCase)) ? null
            : $"unknown option for {descriptor.OptionsType.Name} (known: {string.Join(", ", settable.Select(System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName).Order(StringComparer.Ordinal))})";
        foreach (var (suffix, expanded) in SweepExpansion.Expand(candidate.Sweep, file, path + ".sweep", Unknown, room))
        {
            var values = expanded;
            var candidateName = suffix.Length == 0 ? name : $"{name} {suffix}";
            var shapeValue = shapesSweepable ? values.FirstOrDefault(v => v.Option.Equals("replica", StringComparison.OrdinalIgnoreCase)) : null;
            string? swept = null;
            if (shapeValue is not null)
            {
                using var shapeJson = JsonDocument.Parse(shapeValue.Json);
                swept = shapeJson.RootElement.ValueKind == JsonValueKind.String
                    ? shapeJson.RootElement.GetString()
                    : throw new ConfigException(file, path + ".sweep.replica", $"must list the names of replica shapes, not {JsonFields.Kind(shapeJson.RootElement)}");
                values = [.. values.Where(v => !ReferenceEquals(v, shapeValue))];
            }

            var bound = BindOptions(descriptor, options, values, file, path);
            var ticks = candidate.DecisionIntervalSeconds is null && bound is IHasDecisionPeriod periodic
                ? PeriodTicks(periodic.DecisionPeriod, file, path, settings.Tick)
                : decisionTicks;
            if (settings.Serving is null)
            {
                NeedsNoServingSignals(descriptor, bound, file, path);
            }

            var built = new CandidateSpec(candidateName, () => descriptor.Create(bound), LoadTimeFor(swept), ticks, delayTicks)
            {
                PolicyName = descriptor.Name,
                Options = bound,
                SweepGroup = suffix.Length == 0 ? null : name,
                SweepValue = suffix.Length == 0 ? null : suffix,
            };

            // A tuned candidate: the same reading of the candidate at any options (the shape's fields added by the caller).
            Func<Func<CandidateSpec, string, CandidateSpec>, CandidateSpec, Tuning.TuneTarget>? tune = null;
            if (candidate.Tune.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null))
            {
                if (candidate.Sweep.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null))
                {
                    throw new ConfigException(file, path + ".tune", "a candidate either sweeps (backtest) or tunes (tune), not both: move the swept options into tune");
                }

                var written = options.ValueKind == JsonValueKind.Object ? JsonNode.Parse(options.GetRawText())!.AsObject() : [];
                CandidateSpec Rebuild(JsonElement tuned, string tunedName)
                {
                    var rebound = BindOptions(descriptor, tuned, [], file, path);
                    var rebuiltTicks = candidate.DecisionIntervalSeconds is null && rebound is IHasDecisionPeriod period
                        ? PeriodTicks(period.DecisionPeriod, file, path, settings.Tick)
                        : decisionTicks;
                    return new CandidateSpec(tunedName, () => descriptor.Create(rebound), LoadTimeFor(null), rebuiltTicks, delayTicks) { PolicyName = descriptor.Name, Options = rebound };
                }

                tune = (shaped, baseline) => Tuning.TuneSpaceReader.Read(candidate.Tune, descriptor.OptionsType, written, baseline, (o, n) => shaped(Rebuild(o, n), n), file, path + ".tune");
            }

            yield return (built, swept, tune);
        }
    }

    /// <summary>
    /// Without a serving profile, a policy that reads a serving signal (waiting, running, KV cache use, TTFT) is refused
    /// when the config is read: one decision on a count-model signal tells.
    /// </summary>
    private static void NeedsNoServingSignals(PolicyDescriptor descriptor, object bound, string file, string path)
    {
        try
        {
            // Ten minutes of decisions a second: a policy that reads its metrics only at its own period (KEDA's
            // pollingInterval, say) reads them within it.
            var policy = descriptor.Create(bound);
            for (var second = 0; second <= 600; second++)
            {
                var signal = new ScalingSignal(NodaTime.Instant.FromUnixTimeSeconds(second), Duration.FromSeconds(1), 1, 0, 1, 1, 1, Duration.Zero) { MaxReplicas = 10 };
                policy.Decide(in signal);
            }
        }
        catch (InvalidOperationException e) when (e.Message.Contains("needs a serving profile", StringComparison.Ordinal))
        {
            throw new ConfigException(file, path + ".options", e.Message);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Anything else shows when the candidate runs, as it always has.
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
            // The first broken rule, at the option's path; a swept option is named with its value.
            var error = e.Errors[0];
            var option = error.Path.Split('.', '[')[0];
            var swept = sweep.FirstOrDefault(v => option.Length > 0 && string.Equals(v.Option, option, StringComparison.OrdinalIgnoreCase));
            var at = swept is not null ? $"{path}.sweep.{swept.Option}{error.Path[option.Length..]}"
                : sweep.Count > 0 && error.Path.Length == 0 ? $"{path}.options (with {string.Join(" ", sweep.Select(v => $"{v.Option}={v.Display}"))})"
                : error.Under($"{path}.options").Path;
            throw new ConfigException(file, at, error.Problem, e);
        }

        return bound;
    }

    /// <summary>The most ticks a decision interval or a metrics delay may span (the signal's history is kept for them).</summary>
    internal const int MaxDelayTicks = 1 << 20;

    /// <summary>The manifests candidates came from (<c>policyFrom</c>), by candidate name, for the plan being read.</summary>
    private readonly Dictionary<string, Manifests.ManifestSource> _sources = new(StringComparer.Ordinal);

    /// <summary>The tune spaces of the candidates of the plan being read, by candidate name.</summary>
    private readonly Dictionary<string, Tuning.TuneTarget> _tunes = new(StringComparer.Ordinal);

    private static string ManifestPath(string manifest, string file) =>
        Path.IsPathRooted(manifest) ? manifest : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file)) ?? "", manifest);

    /// <summary>The policy and options of the manifest a candidate's <c>policyFrom</c> names (relative to the config file).</summary>
    private (string Policy, JsonElement Options) Import(string manifest, Dictionary<string, string>? metricMap, string? documentName, string? deployment, string file, string path)
    {
        var full = ManifestPath(manifest, file);
        string text;
        try
        {
            text = Autoscale.Shared.BoundedFile.ReadText(full, Manifests.YamlTree.MaxChars);
        }
        catch (IOException e)
        {
            throw new ConfigException(file, path, $"\"{manifest}\": {e.Message}");
        }

        var candidate = Manifests.ManifestImporter.Import(full, text, metricMap ?? [], _catalog, documentName, deployment);
        using var document = JsonDocument.Parse(candidate["options"]!.ToJsonString());
        return (candidate["policy"]!.GetValue<string>(), document.RootElement.Clone());
    }

    /// <summary>A policy's own period (the HPA's sync period, say) as the candidate's decision interval, in whole ticks.</summary>
    private static int PeriodTicks(Duration period, string file, string path, Duration tick) =>
        WholeTicks(period.TotalSeconds, tick, minimumTicks: 1)
        ?? throw new ConfigException(file, path + ".options", $"the policy's own period ({Format(period.TotalSeconds)} s) must be a whole number of {Format(tick.TotalSeconds)} s ticks; change it or set decisionIntervalSeconds");

    /// <summary><paramref name="seconds"/> as a whole number of ticks from <paramref name="minimumTicks"/> to <see cref="MaxDelayTicks"/>; null when it is not one.</summary>
    private static int? WholeTicks(double seconds, Duration tick, int minimumTicks)
    {
        var ticks = seconds / tick.TotalSeconds;
        var whole = Math.Round(ticks);
        return !double.IsFinite(ticks) || Math.Abs(ticks - whole) > 1e-9 || whole < minimumTicks || whole > MaxDelayTicks ? null : (int)whole;
    }

    private static int Ticks(double? given, string path, string file, Duration tick, int minimumTicks, int fallbackTicks)
    {
        if (given is not { } seconds)
        {
            return fallbackTicks;
        }

        if (WholeTicks(seconds, tick, minimumTicks) is not { } whole)
        {
            var rule = (minimumTicks > 0 ? "a positive whole number of ticks" : "a whole number of ticks, >= 0") + $", at most {MaxDelayTicks:N0}";
            throw new ConfigException(file, path, $"must be {rule} (was {Format(seconds)} s with a {Format(tick.TotalSeconds)} s tick)");
        }

        return whole;
    }

    internal static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd('.');
    }
}
