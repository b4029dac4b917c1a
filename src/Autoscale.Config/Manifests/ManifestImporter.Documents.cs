using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Policies.Catalog;
using Autoscale.Policies.Common;

namespace Autoscale.Config.Manifests;

/// <summary>Manifest files as repositories hold them: several YAML documents, or a <c>kind: List</c>, and the one a caller picks.</summary>
public static partial class ManifestImporter
{
    /// <summary>What a manifest file imports to: a candidate per autoscaler it holds, and notes on the documents it skipped.</summary>
    /// <param name="Candidates">The candidates (<c>name</c>, <c>policy</c>, <c>options</c>), in the file's order.</param>
    /// <param name="Notes">What was left out, for standard error.</param>
    public sealed record Imported(IReadOnlyList<JsonObject> Candidates, IReadOnlyList<string> Notes)
    {
        /// <summary>For each candidate, the document (<c>metadata.name</c>, in a file of several) and the Ray deployment (<c>APP/DEPLOYMENT</c>, in a config of several) that pick it again.</summary>
        public IReadOnlyList<(string? Document, string? Deployment)> Picks { get; init; } = [];
    }

    private const string DocumentKey = "$document";

    /// <summary>Reads the manifest file at <paramref name="path"/> under the manifest size limit (a device is refused at it).</summary>
    public static string ReadFile(string path)
    {
        try
        {
            return Autoscale.Shared.BoundedFile.ReadText(path, YamlTree.MaxChars);
        }
        catch (IOException e)
        {
            throw new ConfigException(path, "", e.Message);
        }
    }

    /// <summary>The candidate JSON for the manifest file at <paramref name="path"/> (one autoscaler, or the one <paramref name="document"/> names).</summary>
    public static JsonObject ImportFile(string path, IReadOnlyDictionary<string, string> metricMap, PolicyCatalog catalog, string? document = null, string? deployment = null) =>
        Import(path, ReadFile(path), metricMap, catalog, document, deployment);

    /// <summary>
    /// The candidate JSON (<c>name</c>, <c>policy</c>, <c>options</c>) for the manifest in <paramref name="text"/>: its one
    /// autoscaler, or the one named <paramref name="document"/> (its <c>metadata.name</c>) among several.
    /// </summary>
    public static JsonObject Import(string file, string text, IReadOnlyDictionary<string, string> metricMap, PolicyCatalog catalog, string? document = null, string? deployment = null)
    {
        var all = ImportAll(file, text, metricMap, catalog, document, deployment);
        var ray = all.Candidates.Count > 1 && all.Candidates.All(c => c["policy"]!.ToString() == "ray-serve");
        return all.Candidates.Count == 1
            ? all.Candidates[0]
            : throw new ConfigException(file, "", $"holds {all.Candidates.Count} autoscalers ({string.Join(", ", all.Candidates.Select(c => c["name"]!.ToString()))}); name the one to replay with {(ray ? "\"deployment\": \"APP/DEPLOYMENT\" (--deployment with policy import)" : "\"document\" (--document with policy import)")}");
    }

    /// <summary>
    /// Every autoscaler in the manifest file's text: each YAML document (and each item of a <c>kind: List</c>) that is an
    /// autoscaler this tool reads becomes a candidate named by its <c>metadata.name</c>; the others (a Deployment, a
    /// Service, a custom resource) are named in one note. <paramref name="document"/> keeps only the one of that name.
    /// A problem in a file of several documents names the document (its index and name) before the field.
    /// </summary>
    public static Imported ImportAll(string file, string text, IReadOnlyDictionary<string, string> metricMap, PolicyCatalog catalog, string? document = null, string? deployment = null)
    {
        var all = ImportDocuments(file, text, metricMap, catalog, document);
        var candidates = all.Candidates.ToList();
        if (deployment is not null)
        {
            // APP/DEPLOYMENT, or the deployment's name alone when no other application has one of that name.
            var matches = candidates.Where(c => c[DeploymentKey]?.ToString() == deployment).ToList();
            if (matches.Count == 0)
            {
                matches = candidates.Where(c => c[DeploymentKey]?.ToString() is { } d && d[(d.IndexOf('/', StringComparison.Ordinal) + 1)..] == deployment).ToList();
            }

            var known = candidates.Select(c => c[DeploymentKey]?.ToString()).OfType<string>().ToList();
            if (matches.Count != 1)
            {
                throw new ConfigException(file, "", matches.Count == 0
                    ? $"holds no autoscaled Ray Serve deployment \"{deployment}\" ({(known.Count == 0 ? "it holds none" : "known: " + string.Join(", ", known))})"
                    : $"holds {matches.Count} deployments named \"{deployment}\"; name one as APP/DEPLOYMENT ({string.Join(", ", matches.Select(m => m[DeploymentKey]))})");
            }

            candidates = matches;
        }

        var notes = all.Notes.ToList();
        if (deployment is null && candidates.Count(c => c.ContainsKey(DeploymentKey)) > 1)
        {
            notes.Add($"{file}: {candidates.Count(c => c.ContainsKey(DeploymentKey))} autoscaled Ray Serve deployments, one candidate each; --deployment APP/DEPLOYMENT (\"deployment\" in a config) picks one");
        }

        var several = candidates.Count(c => c.ContainsKey(DeploymentKey)) > 1;
        var picks = candidates.Select(c => (c[DocumentKey]?.ToString(), several || deployment is not null ? c[DeploymentKey]?.ToString() : null)).ToList();
        foreach (var candidate in candidates)
        {
            candidate.Remove(DeploymentKey);
            candidate.Remove(DocumentKey);
        }

        return new Imported(candidates, notes) { Picks = picks };
    }

    private static Imported ImportDocuments(string file, string text, IReadOnlyDictionary<string, string> metricMap, PolicyCatalog catalog, string? document)
    {
        var documents = Documents(file, text);
        static string NameOf(JsonObject root) => (root["metadata"]?["name"] as JsonValue)?.ToString() ?? "";
        static string Describe(JsonObject root) => $"{(root["kind"] as JsonValue)?.ToString() ?? "a document without kind"}{(NameOf(root) is { Length: > 0 } n ? " " + n : "")}";
        if (documents.Count == 1 && documents[0].Where.Length == 0)
        {
            var only = documents[0].Root;
            if (document is not null && NameOf(only) != document)
            {
                throw new ConfigException(file, "", $"holds no document named \"{document}\" (it holds {Describe(only)})");
            }

            var own = new List<string>();
            var read1 = ImportDocument(file, only, metricMap, catalog, own);
            return new Imported(read1, own.Select(n => $"{file}: {n}").ToList());
        }

        var chosen = documents.Where(d => IsAutoscaler(d.Root) && (document is null || NameOf(d.Root) == document)).ToList();
        var skipped = documents.Where(d => !IsAutoscaler(d.Root)).Select(d => Describe(d.Root)).ToList();
        if (chosen.Count == 0)
        {
            var autoscalers = documents.Where(d => IsAutoscaler(d.Root)).Select(d => Describe(d.Root)).ToList();
            throw new ConfigException(file, "", document is not null
                ? $"holds no autoscaler named \"{document}\" ({(autoscalers.Count > 0 ? "autoscalers: " + string.Join(", ", autoscalers) : "it holds none")})"
                : $"holds no autoscaler this tool reads (known: HorizontalPodAutoscaler, ScaledObject, Knative Service, a Ray Serve config, RayService); its documents: {string.Join(", ", skipped)}");
        }

        var candidates = new List<JsonObject>();
        var fieldNotes = new List<string>();
        foreach (var (where, root) in chosen)
        {
            List<JsonObject> read1;
            var own = new List<string>();
            try
            {
                read1 = ImportDocument(file, root, metricMap, catalog, own);
                fieldNotes.AddRange(own.Select(n => $"{file}: {where}{(NameOf(root) is { Length: > 0 } named ? $" ({named})" : "")}.{n}"));
            }
            catch (ConfigException e)
            {
                var label = $"{where}{(NameOf(root) is { Length: > 0 } n ? $" ({n})" : "")}";
                throw new ConfigException(file, e.Path.Length == 0 ? label : $"{label}.{e.Path}", e.Problem, e);
            }

            foreach (var one in read1)
            {
                if (NameOf(root) is { Length: > 0 } documentName)
                {
                    one[DocumentKey] = documentName;
                }
            }

            candidates.AddRange(read1);
        }

        NameApart(candidates);
        var notes = fieldNotes;
        notes.AddRange(skipped.Count == 0 ? [] : new List<string> { $"{file}: left out {skipped.Count} document{(skipped.Count == 1 ? "" : "s")} that {(skipped.Count == 1 ? "is" : "are")} not an autoscaler: {string.Join(", ", skipped)}" });
        if (document is null && candidates.Count > 1)
        {
            notes.Add($"{file}: {candidates.Count} autoscalers, one candidate each; --document NAME (\"document\" in a config) picks one");
        }

        return new Imported(candidates, notes);
    }

    /// <summary>The manifests of a YAML file, each with where it sits (<c>documents[1]</c>, <c>items[0]</c> of a List; empty for a file of one).</summary>
    private static List<(string Where, JsonObject Root)> Documents(string file, string text)
    {
        var documents = new List<(string Where, JsonObject Root)>();
        var read = YamlTree.ReadAll(file, text);
        for (var i = 0; i < read.Count; i++)
        {
            if (read[i] is not JsonObject root)
            {
                if (read[i] is not null)
                {
                    throw new ConfigException(file, read.Count == 1 ? "" : $"documents[{i}]", "is no manifest (expected a mapping with apiVersion and kind)");
                }

                continue;
            }

            if ((root["kind"] as JsonValue)?.ToString() == "List" && root["items"] is JsonArray items)
            {
                for (var j = 0; j < items.Count; j++)
                {
                    documents.Add((read.Count == 1 ? $"items[{j}]" : $"documents[{i}].items[{j}]", items[j] as JsonObject ?? throw new ConfigException(file, $"items[{j}]", "is no manifest (expected a mapping with apiVersion and kind)")));
                }

                continue;
            }

            documents.Add((read.Count == 1 ? "" : $"documents[{i}]", root));
        }

        if (documents.Count == 0)
        {
            throw new ConfigException(file, "", "holds no manifest (expected a mapping with apiVersion and kind)");
        }

        return documents;
    }

    /// <summary>Candidates of one name (an HPA and a ScaledObject for the same Deployment) told apart by kind: "web (hpa)", "web (keda)", or "web (hpa 2)" for two of one kind.</summary>
    private static void NameApart(List<JsonObject> candidates)
    {
        foreach (var group in candidates.GroupBy(c => c["name"]!.ToString()).Where(g => g.Count() > 1))
        {
            var kinds = group.Select(c => c["policy"]!.ToString()).ToList();
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var candidate in group)
            {
                // "web (hpa)", "web (keda)"; two of one kind and name too: "web (hpa 2)".
                var kind = candidate["policy"]!.ToString();
                var k = seen[kind] = seen.GetValueOrDefault(kind) + 1;
                candidate["name"] = kinds.Count(x => x == kind) == 1 ? $"{group.Key} ({kind})" : $"{group.Key} ({kind} {k})";
            }
        }
    }

    /// <summary>The autoscaler document of the manifest file a candidate came from: the one named <paramref name="document"/>, or the only one.</summary>
    public static JsonObject SourceDocument(string file, string text, string? document)
    {
        var roots = new List<JsonObject>();
        foreach (var node in YamlTree.ReadAll(file, text))
        {
            if (node is JsonObject root && (root["kind"] as JsonValue)?.ToString() == "List" && root["items"] is JsonArray items)
            {
                roots.AddRange(items.OfType<JsonObject>());
            }
            else if (node is JsonObject one)
            {
                roots.Add(one);
            }
        }

        var chosen = roots.Where(r => IsAutoscaler(r) && (document is null || (r["metadata"]?["name"] as JsonValue)?.ToString() == document)).ToList();
        return chosen.Count == 1 ? chosen[0] : throw new ConfigException(file, "", $"holds {chosen.Count} autoscalers{(document is null ? "" : $" named \"{document}\"")}; name the one the candidate came from with \"document\"");
    }

    /// <summary>Whether a document is one of the autoscalers this tool reads (or tries to: an HPA of an older apiVersion is named as such).</summary>
    private static bool IsAutoscaler(JsonObject root)
    {
        var kind = (root["kind"] as JsonValue)?.ToString();
        var apiVersion = (root["apiVersion"] as JsonValue)?.ToString() ?? "";
        return kind switch
        {
            "HorizontalPodAutoscaler" => true,
            "ScaledObject" => apiVersion.StartsWith("keda.sh/", StringComparison.Ordinal) || apiVersion.StartsWith("keda.k8s.io/", StringComparison.Ordinal),
            "Service" => apiVersion.StartsWith("serving.knative.dev/", StringComparison.Ordinal),
            "RayService" => apiVersion.StartsWith("ray.io/", StringComparison.Ordinal),
            null => root.ContainsKey("applications"),
            _ => false,
        };
    }
}
