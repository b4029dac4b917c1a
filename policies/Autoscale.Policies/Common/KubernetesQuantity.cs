using System.Globalization;
using System.Text.RegularExpressions;

namespace Autoscale.Policies.Common;

/// <summary>Kubernetes quantities (<c>20</c>, <c>500m</c>, <c>1.5k</c>, <c>2Gi</c>) as numbers, as manifests write thresholds and targets.</summary>
public static partial class KubernetesQuantity
{
    /// <summary>Reads <paramref name="text"/>; false when it is not a quantity.</summary>
    public static bool TryParse(string? text, out double value)
    {
        value = 0;
        var match = text is null ? null : Pattern().Match(text);
        if (match is not { Success: true })
        {
            return false;
        }

        var scale = match.Groups[2].Value switch
        {
            "m" => 1e-3,
            "" => 1,
            "k" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "T" => 1e12,
            "P" => 1e15,
            "E" => 1e18,
            "Ki" => 1024.0,
            "Mi" => 1024.0 * 1024,
            "Gi" => 1024.0 * 1024 * 1024,
            "Ti" => 1024.0 * 1024 * 1024 * 1024,
            "Pi" => 1024.0 * 1024 * 1024 * 1024 * 1024,
            _ => 1024.0 * 1024 * 1024 * 1024 * 1024 * 1024,
        };
        value = double.Parse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture) * scale;
        return double.IsFinite(value);
    }

    [GeneratedRegex(@"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
