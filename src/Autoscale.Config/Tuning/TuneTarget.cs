using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Backtesting.Engine;

namespace Autoscale.Config.Tuning;

/// <summary>
/// A candidate with a <c>tune</c> space: the candidate as written (the baseline), the options it was written with,
/// and a way to build the candidate at any point of the space.
/// </summary>
public sealed class TuneTarget
{
    private readonly Func<JsonElement, string, CandidateSpec> _build;

    public TuneTarget(CandidateSpec baseline, JsonObject options, IReadOnlyList<TuneDimension> dimensions, Func<JsonElement, string, CandidateSpec> build)
    {
        Baseline = baseline;
        Options = options;
        Dimensions = dimensions;
        _build = build;
    }

    /// <summary>The candidate as written: the user's own settings.</summary>
    public CandidateSpec Baseline { get; }

    /// <summary>The candidate's options as written (for a <c>policyFrom</c> candidate, as imported).</summary>
    public JsonObject Options { get; }

    /// <summary>The tuned options, in the order the config gives them.</summary>
    public IReadOnlyList<TuneDimension> Dimensions { get; }

    /// <summary>Points in the space: the product of the grids' sizes; null when a range is continuous.</summary>
    public double? Size => Dimensions.All(d => d.Count is not null) ? Dimensions.Aggregate(1.0, (n, d) => n * d.Count!.Value) : null;

    /// <summary>The baseline's value of each tuned option (null where the options leave it to the policy's default).</summary>
    public IReadOnlyList<double?> BaselineValues => Dimensions.Select(d => TunePath.Read(Options, d.Path)).ToList();

    /// <summary>The options at <paramref name="point"/> (one value per dimension).</summary>
    public JsonObject OptionsAt(IReadOnlyList<double> point)
    {
        var options = (JsonObject)Options.DeepClone();
        for (var i = 0; i < Dimensions.Count; i++)
        {
            TunePath.Write(options, Dimensions[i], point[i]);
        }

        return options;
    }

    /// <summary>The candidate at <paramref name="point"/>, named <paramref name="name"/>.</summary>
    /// <exception cref="ConfigException">The options at the point break one of the policy's rules (minReplicas above maxReplicas, say).</exception>
    public CandidateSpec Build(IReadOnlyList<double> point, string name)
    {
        using var document = JsonDocument.Parse(OptionsAt(point).ToJsonString());
        return _build(document.RootElement.Clone(), name);
    }

    /// <summary>The point as <c>path=value</c> pairs.</summary>
    public string Describe(IReadOnlyList<double> point) =>
        string.Join(" ", Dimensions.Select((d, i) => $"{d.Path}={TuneDimension.Format(point[i])}"));
}
