namespace Autoscale.Policies.Fixed;

/// <summary>
/// A fleet of constant size: the baseline every other policy is measured against, and the
/// simplest example of the contract.
/// </summary>
/// <remarks>Stateless and thread-safe.</remarks>
public sealed class FixedPolicy : IScalingPolicy
{
    private readonly int _replicas;

    /// <summary>Creates the policy; throws <see cref="InvalidOptionsException"/> for invalid options.</summary>
    public FixedPolicy(FixedOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        OptionRules.ThrowIfInvalid(options);
        _replicas = options.Replicas;
    }

    /// <inheritdoc />
    public ScalingDecision Decide(in ScalingSignal signal) => new(_replicas, "fixed fleet");
}
