using System.Text.Json;
using System.Text.Json.Nodes;

namespace Autoscale.Config;

/// <summary>
/// A candidate's <c>options</c> laid over the settings its <c>policyFrom</c> manifest gives: a key given replaces the
/// manifest's (matched without regard to case, as options bind), sections are laid over key by key, and a list or a
/// value replaces the manifest's whole. Options printed by <c>policy import</c>, complete, therefore replay as printed.
/// </summary>
internal static class OptionsOverlay
{
    public static JsonElement Apply(JsonElement imported, JsonElement given)
    {
        if (given.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return imported;
        }

        var merged = Lay(JsonNode.Parse(imported.GetRawText()), JsonNode.Parse(given.GetRawText()));
        using var document = JsonDocument.Parse(merged?.ToJsonString() ?? "null");
        return document.RootElement.Clone();
    }

    private static JsonNode? Lay(JsonNode? under, JsonNode? over)
    {
        if (under is not JsonObject below || over is not JsonObject above)
        {
            return over?.DeepClone();
        }

        var result = below.DeepClone().AsObject();
        foreach (var (key, value) in above)
        {
            var existing = result.Select(p => p.Key).FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase));
            var laid = Lay(existing is null ? null : result[existing], value);
            if (existing is not null)
            {
                result.Remove(existing);
            }

            result[key] = laid;
        }

        return result;
    }
}
