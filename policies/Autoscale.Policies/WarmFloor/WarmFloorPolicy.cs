using Autoscale.Policies.Reactive;

namespace Autoscale.Policies.WarmFloor;

/// <summary>
/// A warm pool: <see cref="ReactiveOptions.MinReplicas"/> replicas always loaded, reactive scaling above
/// them (Ray Serve's <c>min_replicas</c>, the textbook's warm pool). The floor is paid for in idle
/// dollars and buys readiness for the spike that arrives before a cold start could.
/// </summary>
/// <remarks>One instance per run; not thread-safe.</remarks>
public sealed class WarmFloorPolicy : IScalingPolicy, IPolicyDiagnostics
{
    private readonly ReactivePolicy _reactive;

    /// <summary>Creates the policy; throws <see cref="InvalidOptionsException"/> for invalid options.</summary>
    public WarmFloorPolicy(WarmFloorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        OptionRules.ThrowIfInvalid(options);
        _reactive = new ReactivePolicy(options);
    }

    /// <inheritdoc />
    public ScalingDecision Decide(in ScalingSignal signal) => _reactive.Decide(signal);

    /// <inheritdoc />
    public void Report(IDictionary<string, double> metrics)
    {
    }

    /// <inheritdoc />
    public void Warn(ICollection<string> warnings)
    {
        _reactive.Warn(warnings);
        _reactive.WarnFloorUnused(warnings, "warm-floor");
    }
}
