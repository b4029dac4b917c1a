using System.Globalization;

namespace Autoscale.Policies.Common;

/// <summary>Numbers in the policies' warnings.</summary>
internal static class ReplicaText
{
    /// <summary>A share as a reader wants it: 0.03%, 1.2%, 61.5%; exact 0% only for none.</summary>
    public static string Percent(long count, long total)
    {
        if (total == 0 || count == 0)
        {
            return "0%";
        }

        var percent = 100.0 * count / total;
        return percent.ToString(percent < 0.1 ? "0.###" : percent < 10 ? "0.##" : "0.#", CultureInfo.InvariantCulture) + "%";
    }
}
