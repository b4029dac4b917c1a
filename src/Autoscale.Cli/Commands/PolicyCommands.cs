using System.CommandLine;
using System.Text.Json;
using Autoscale.Policies.Conformance;
using Autoscale.Cli.UserPolicies;

namespace Autoscale.Cli.Commands;

/// <summary><c>autoscale policy list | check</c>: the catalog and the conformance checks, for built-in and users' policies.</summary>
internal static class PolicyCommands
{
    /// <summary>Exit code when a conformance check fails.</summary>
    public const int ChecksFailed = 1;

    public static Command Create(CliContext context)
    {
        var policy = new Command("policy", "List policies and their options, describe one, check one against the conformance suite.");
        policy.Subcommands.Add(List(context));
        policy.Subcommands.Add(Describe(context));
        policy.Subcommands.Add(Check(context));
        policy.Subcommands.Add(Import(context));
        policy.Subcommands.Add(Export(context));
        return policy;
    }

    private static Command Export(CliContext context)
    {
        var config = CliOptions.RequiredPath("--config", "The backtest config that holds the candidate.");
        var candidate = new Option<string>("--candidate") { Description = "The candidate to write out, by name.", Required = true };
        var kind = new Option<string>("--as") { Description = "What to write: hpa (a HorizontalPodAutoscaler), keda (a ScaledObject), knative (a Knative Service) or ray-serve (a Serve config).", Required = true };
        kind.AcceptOnlyFromAmong([.. Autoscale.Config.Manifests.ManifestExporter.Kinds]);
        var command = new Command("export", "Write a candidate as the manifest of an autoscaler you run: exact for hpa, keda, knative and ray-serve candidates, the closest faithful form for the others, with a comment on what it cannot carry.")
        {
            config, candidate, kind,
        };
        var userPolicies = new UserPolicyLoader();
        userPolicies.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            await userPolicies.LoadAsync(parse, context.Catalog, context.Stderr, cancellationToken);
            var file = parse.GetValue(config)!;
            var plan = await new Autoscale.Config.ConfigLoader(context.Catalog).LoadFileAsync(file, cancellationToken);
            var name = parse.GetValue(candidate)!;
            var spec = plan.Candidates.FirstOrDefault(c => c.Name == name)
                ?? throw new UserInputException($"{file}: no candidate named \"{name}\" (candidates: {string.Join(", ", plan.Candidates.Select(c => c.Name))})");
            await context.Stdout.WriteAsync(Autoscale.Config.Manifests.ManifestExporter.Export(spec, plan.Settings, parse.GetValue(kind)!, file, plan.Sources.GetValueOrDefault(spec.Name)));
            return AutoscaleCli.Success;
        });
        return command;
    }

    private static Command Import(CliContext context)
    {
        var file = new Argument<string>("file")
        {
            Description = "The manifest, in YAML or JSON: a HorizontalPodAutoscaler (autoscaling/v2), a KEDA ScaledObject, a Knative Service, a Ray Serve config or a KubeRay RayService; "
                + "a file of several documents (or a kind: List) gives a candidate for each autoscaler in it, a Ray Serve config one for each autoscaled deployment.",
        };
        var metricMap = new Option<string[]>("--metric-map")
        {
            Description = $"NAME=SIGNAL: read the manifest's metric NAME as the replay's stand-in SIGNAL ({string.Join(", ", Autoscale.Policies.Common.StandInSignals.Names)}); repeat for several.",
            AllowMultipleArgumentsPerToken = false,
        };
        var document = new Option<string?>("--document") { Description = "In a file of several documents, the autoscaler to import, by its metadata.name." };
        var deployment = new Option<string?>("--deployment") { Description = "In a Ray Serve config of several autoscaled deployments, the one to import: APP/DEPLOYMENT (or DEPLOYMENT where it is unique)." };
        var command = new Command("import", "Print the candidate (JSON) that replays an autoscaler you run today, from its own manifest; add a loadTime and put it in a config's candidates. Several autoscalers print as {\"candidates\": [...]}. Each names its manifest (policyFrom), so that policy export edits that manifest.")
        {
            file, metricMap, document, deployment,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(file)!;

            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in parse.GetValue(metricMap) ?? [])
            {
                var cut = entry.IndexOf('=', StringComparison.Ordinal);
                if (cut <= 0 || cut == entry.Length - 1)
                {
                    throw new UserInputException($"--metric-map: \"{entry}\" must be NAME=SIGNAL, e.g. vllm:num_requests_running=inFlight");
                }

                if (!map.TryAdd(entry[..cut], entry[(cut + 1)..]))
                {
                    throw new UserInputException($"--metric-map: \"{entry[..cut]}\" is mapped twice (to {map[entry[..cut]]} and to {entry[(cut + 1)..]}); map each metric once");
                }
            }

            var imported = Autoscale.Config.Manifests.ManifestImporter.ImportAll(path, Autoscale.Config.Manifests.ManifestImporter.ReadFile(path), map, context.Catalog, parse.GetValue(document), parse.GetValue(deployment));
            foreach (var note in imported.Notes)
            {
                await context.Stderr.WriteLineAsync($"note: {note}");
            }

            // Each candidate names the manifest it came from (policyFrom, and what picks it there), so that export can edit it.
            var candidates = imported.Candidates.Select((c, i) =>
            {
                var withSource = new System.Text.Json.Nodes.JsonObject { ["name"] = c["name"]!.DeepClone(), ["policy"] = c["policy"]!.DeepClone(), ["policyFrom"] = Path.GetFullPath(path) };
                var (fromDocument, fromDeployment) = i < imported.Picks.Count ? imported.Picks[i] : (null, null);
                if (fromDocument is not null)
                {
                    withSource["document"] = fromDocument;
                }

                if (fromDeployment is not null)
                {
                    withSource["deployment"] = fromDeployment;
                }

                if (map.Count > 0)
                {
                    withSource["metricMap"] = new System.Text.Json.Nodes.JsonObject(map.Select(p => KeyValuePair.Create(p.Key, (System.Text.Json.Nodes.JsonNode?)p.Value)));
                }

                withSource["options"] = c["options"]!.DeepClone();
                return withSource;
            }).ToList();
            var printed = candidates.Count == 1
                ? candidates[0]
                : new System.Text.Json.Nodes.JsonObject { ["candidates"] = new System.Text.Json.Nodes.JsonArray([.. candidates]) };
            await context.Stdout.WriteLineAsync(printed.ToJsonString(Indented));
            return AutoscaleCli.Success;
        });
        return command;
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static Command List(CliContext context)
    {
        var options = new Option<bool>("--options") { Description = "Print the reference of every option (config fields, load-time models, each policy's options) as Markdown, as in docs/options.md." };
        var command = new Command("list", "List the policies a config can name.") { options };
        var userPolicies = new UserPolicyLoader();
        userPolicies.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            await userPolicies.LoadAsync(parse, context.Catalog, context.Stderr, cancellationToken);
            if (parse.GetValue(options))
            {
                await context.Stdout.WriteAsync(Reference.OptionsReference.Markdown(context.Catalog, Reference.XmlDocs.Embedded));
                return AutoscaleCli.Success;
            }

            foreach (var name in context.Catalog.Names)
            {
                context.Catalog.TryGet(name, out var d);
                await context.Stdout.WriteLineAsync($"{name,-40} {d!.Summary}");
            }

            return AutoscaleCli.Success;
        });
        return command;
    }

    private static Command Describe(CliContext context)
    {
        var name = new Argument<string>("policy") { Description = "The policy: a built-in name, or a class of --assembly, --project or --policy-file." };
        var command = new Command("describe", "Print one policy's options: JSON name, type, unit, default, range and meaning.") { name };
        var userPolicies = new UserPolicyLoader();
        userPolicies.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            await userPolicies.LoadAsync(parse, context.Catalog, context.Stderr, cancellationToken);
            var policyName = parse.GetValue(name)!;
            if (!context.Catalog.TryGet(policyName, out var descriptor))
            {
                throw new UserInputException($"unknown policy \"{policyName}\" (known: {string.Join(", ", context.Catalog.Names)})");
            }

            await context.Stdout.WriteAsync(Reference.OptionsReference.Describe(descriptor, context.Catalog, Reference.XmlDocs.Embedded));
            return AutoscaleCli.Success;
        });
        return command;
    }

    private static Command Check(CliContext context)
    {
        var name = CliOptions.RequiredPath("--policy", "The policy: a built-in name, or a class of --assembly, --project or --policy-file.");
        var options = new Option<string?>("--options") { Description = "The policy's options as JSON, or @FILE to read them from a file." };
        var format = CliOptions.Format("table", "json");
        var command = new Command("check", "Run the conformance checks (bounds, determinism, no look-ahead, empty and flat traces) on a policy. Exit 1 when one fails.")
        {
            name, options, format,
        };
        var userPolicies = new UserPolicyLoader();
        userPolicies.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            await userPolicies.LoadAsync(parse, context.Catalog, context.Stderr, cancellationToken);
            var policyName = parse.GetValue(name)!;
            var json = ReadOptions(parse.GetValue(options));
            if (!context.Catalog.TryGet(policyName, out var descriptor))
            {
                throw new UserInputException($"--policy: unknown policy \"{policyName}\" (known: {string.Join(", ", context.Catalog.Names)})");
            }

            var bound = OptionsBinder.Bind(descriptor.OptionsType, json, "--options");
            descriptor.Create(bound);
            var checks = PolicyConformance.Run(() => descriptor.Create(bound));
            if (parse.GetValue(format) == "json")
            {
                await context.Stdout.WriteAsync(CheckJson(policyName, checks) + "\n");
            }
            else
            {
                foreach (var c in checks)
                {
                    var where = c.Passed ? "" : $" (tick {c.Tick?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}, trace {c.Trace ?? "-"})";
                    await context.Stdout.WriteLineAsync($"{(c.Passed ? "PASS" : "FAIL")}  {c.Name,-14} {c.Detail}{where}");
                }

                await context.Stdout.WriteLineAsync($"{checks.Count(c => c.Passed)} passed, {checks.Count(c => !c.Passed)} failed");
            }

            return checks.All(c => c.Passed) ? AutoscaleCli.Success : ChecksFailed;
        });
        return command;
    }

    private static string CheckJson(string policy, IReadOnlyList<ConformanceCheck> checks)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("policy", policy);
            json.WriteBoolean("passed", checks.All(c => c.Passed));
            json.WriteStartArray("checks");
            foreach (var c in checks)
            {
                json.WriteStartObject();
                json.WriteString("name", c.Name);
                json.WriteBoolean("passed", c.Passed);
                json.WriteString("detail", c.Detail);
                if (c.Tick is { } tick)
                {
                    json.WriteNumber("tick", tick);
                }
                else
                {
                    json.WriteNull("tick");
                }

                json.WriteString("trace", c.Trace);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static JsonElement ReadOptions(string? text)
    {
        if (text is null)
        {
            return default;
        }

        if (text.StartsWith('@'))
        {
            var file = text[1..];
            try
            {
                text = File.Exists(file) ? File.ReadAllText(file, new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true)) : throw new UserInputException($"--options {file}: no such file");
            }
            catch (System.Text.DecoderFallbackException)
            {
                throw new UserInputException($"--options {file}: not UTF-8 text; save the file as UTF-8");
            }
        }

        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new UserInputException($"--options: not valid JSON ({e.Message.Split(". ")[0].TrimEnd('.')})");
        }
    }
}
