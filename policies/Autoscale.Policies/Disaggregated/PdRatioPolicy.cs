using System.Globalization;

namespace Autoscale.Policies.Disaggregated;

/// <summary>
/// The decode pool of a disaggregated fleet kept at a fixed ratio to its prefill pool: decode replicas = ratio x the
/// prefill pool's replicas (ready and loading, as its own decision at the same instant left them), rounded up, within
/// bounds. The ratio-aware scaling users ask of llm-d, Kthena and Dynamo: the prefill pool follows the load by its own
/// policy and the decode pool follows it.
/// </summary>
/// <remarks>Stateless and thread-safe.</remarks>
public sealed class PdRatioPolicy : IScalingPolicy
{
    private readonly PdRatioOptions _o;

    /// <summary>Creates the policy; throws <see cref="InvalidOptionsException"/> for invalid options.</summary>
    public PdRatioPolicy(PdRatioOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        OptionRules.ThrowIfInvalid(options);
        _o = options;
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The signal is not a decode pool's.</exception>
    public ScalingDecision Decide(in ScalingSignal signal)
    {
        if (signal.Pool != ServingPool.Decode)
        {
            throw new InvalidOperationException("pd-ratio scales the decode pool of a disaggregated fleet from its prefill pool: name it as policies.decode");
        }

        var wanted = (int)Math.Min(int.MaxValue, Math.Ceiling((_o.Ratio * signal.PrefillReplicas) - 1e-9));
        var desired = Math.Min(Math.Clamp(wanted, _o.MinReplicas, _o.MaxReplicas), signal.MaxReplicas);
        return new(desired, string.Create(CultureInfo.InvariantCulture, $"decode = {_o.Ratio:0.###} x {signal.PrefillReplicas} prefill replicas{(desired != wanted ? $" ({wanted}, held within {_o.MinReplicas}-{_o.MaxReplicas})" : "")}"));
    }
}
