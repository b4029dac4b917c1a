using System.Text.Json;
using Autoscale.Backtesting.LoadTime;
using Autoscale.Traces;

namespace Autoscale.Config;

/// <summary>
/// The measured load durations of a config's empirical load-time models, read asynchronously before the config is
/// bound, so binding stays a synchronous pass that reports the first broken rule in file order. A file that cannot
/// be read keeps its error until the candidate naming it is bound.
/// </summary>
internal sealed class Measurements
{
    private readonly Dictionary<(string Path, string Column), (double[]? Seconds, TraceFormatException? Error)> _files = [];

    /// <summary>Reads every file an empirical <c>loadTime</c> of <paramref name="root"/> names (relative to <paramref name="file"/>'s folder).</summary>
    public static async Task<Measurements> ReadAsync(JsonElement root, string file, CancellationToken cancellationToken)
    {
        var result = new Measurements();
        foreach (var (relative, column) in Empirical(root))
        {
            var key = (Full(file, relative), column);
            if (result._files.ContainsKey(key))
            {
                continue;
            }

            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                result._files[key] = (await EmpiricalLoadTime.ReadMeasurementsAsync(key.Item1, column, relative).ConfigureAwait(false), null);
            }
            catch (TraceFormatException e)
            {
                result._files[key] = (null, e);
            }
        }

        return result;
    }

    /// <summary>The durations in <paramref name="relative"/>'s <paramref name="column"/>.</summary>
    /// <exception cref="TraceFormatException">The file could not be read.</exception>
    public double[] Get(string file, string relative, string column) =>
        _files.TryGetValue((Full(file, relative), column), out var read)
            ? read.Seconds ?? throw read.Error!
            : throw new InvalidOperationException($"{relative} was not read before binding");

    private static string Full(string file, string relative) =>
        Path.IsPathRooted(relative) ? relative : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".", relative);

    /// <summary>(file, column) of every <c>{"model": "empirical"}</c> load time among the candidates; names are not case-sensitive.</summary>
    private static IEnumerable<(string File, string Column)> Empirical(JsonElement root)
    {
        if (Member(root, "candidates") is not { ValueKind: JsonValueKind.Array } candidates)
        {
            yield break;
        }

        foreach (var candidate in candidates.EnumerateArray())
        {
            if (Member(candidate, "loadTime") is { ValueKind: JsonValueKind.Object } loadTime
                && Member(loadTime, "model") is { ValueKind: JsonValueKind.String } model && model.GetString() == "empirical"
                && Member(loadTime, "file") is { ValueKind: JsonValueKind.String } path && !string.IsNullOrWhiteSpace(path.GetString()))
            {
                var column = Member(loadTime, "column") is { ValueKind: JsonValueKind.String } c ? c.GetString()! : "seconds";
                yield return (path.GetString()!, column);
            }
        }
    }

    private static JsonElement? Member(JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var member in element.EnumerateObject())
        {
            if (member.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return member.Value;
            }
        }

        return null;
    }
}
