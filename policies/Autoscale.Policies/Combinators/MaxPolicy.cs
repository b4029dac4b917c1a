using Autoscale.Policies.Catalog;
using Autoscale.Policies.Common;

namespace Autoscale.Policies.Combinators;

/// <summary>
/// The largest answer of several policies: compose a floor and a reactive policy instead of copying
/// one into the other (e.g. <c>max(scheduled-floor, predictive)</c>). Every part sees every signal.
/// </summary>
/// <remarks>One instance per run; not thread-safe.</remarks>
public sealed class MaxPolicy : IScalingPolicy, IPolicyDiagnostics, IReplicaRequestLimit
{
    private readonly IScalingPolicy[] _policies;
    private readonly string[] _names;
    private readonly DecisionLog _log;

    /// <summary>Composes <paramref name="policies"/>.</summary>
    public MaxPolicy(params IScalingPolicy[] policies)
        : this(policies, policies.Select((_, i) => $"part {i + 1}").ToArray())
    {
    }

    private MaxPolicy(IScalingPolicy[] policies, string[] names)
    {
        if (policies.Length == 0)
        {
            throw new InvalidOptionsException(["policies must name at least one policy"]);
        }

        _policies = policies;
        _names = names;
        _log = new DecisionLog(names);
    }

    /// <summary>Builds the parts named in <paramref name="options"/> from <paramref name="catalog"/>.</summary>
    public static MaxPolicy Create(MaxOptions options, PolicyCatalog catalog)
    {
        OptionRules.ThrowIfInvalid(options);
        var parts = new IScalingPolicy[options.Policies.Count];
        for (var i = 0; i < parts.Length; i++)
        {
            var reference = options.Policies[i];
            try
            {
                parts[i] = catalog.Create(reference.Policy, reference.Options, $"policies[{i}].options");
            }
            catch (Exception e) when (e is OptionsBindingException or InvalidOptionsException or KeyNotFoundException)
            {
                throw new InvalidOptionsException([new OptionError($"policies[{i}]", $"({reference.Policy}) {e.Message}")]);
            }
        }

        return new MaxPolicy(parts, options.Policies.Select((p, i) => $"part {i + 1} ({p.Policy})").ToArray());
    }

    /// <summary>The tightest limit of a replica's requests among the parts (0 when none sets one).</summary>
    public int MaxRequestsPerReplica => _policies.Select(p => p is IReplicaRequestLimit l ? l.MaxRequestsPerReplica : 0).Where(l => l > 0).DefaultIfEmpty(0).Min();

    /// <inheritdoc />
    public ScalingDecision Decide(in ScalingSignal signal)
    {
        var best = _policies[0].Decide(signal);
        var by = 0;
        for (var i = 1; i < _policies.Length; i++)
        {
            var next = _policies[i].Decide(signal);
            if (next.DesiredReplicas > best.DesiredReplicas)
            {
                best = next;
                by = i;
            }
            else if (next.DesiredReplicas == best.DesiredReplicas)
            {
                by = -1;
            }
        }

        _log.Decided(by);
        return best;
    }

    /// <inheritdoc />
    public void Report(IDictionary<string, double> metrics)
    {
        foreach (var policy in _policies)
        {
            (policy as IPolicyDiagnostics)?.Report(metrics);
        }
    }

    /// <inheritdoc />
    public void Warn(ICollection<string> warnings)
    {
        for (var i = 0; i < _policies.Length; i++)
        {
            if (_policies[i] is IPolicyDiagnostics diagnostics)
            {
                var own = new List<string>();
                diagnostics.Warn(own);
                foreach (var warning in own)
                {
                    warnings.Add($"{_names[i]}: {warning}");
                }
            }
        }

        _log.WarnUnusedParts(warnings, "max");
    }
}
