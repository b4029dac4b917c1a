namespace Autoscale.Policies.Textbook;

/// <summary>
/// The autoscaler of the textbook's Code 23.6.1: base + spares, plus the running maximum of
/// <c>queue // capacity</c> taken whenever the queue exceeds one replica's capacity. It never
/// scales down, which is why the cold-start run ends with 124 replicas.
/// </summary>
/// <remarks>Keeps the running maximum as state; one instance per run; not thread-safe.</remarks>
public sealed class TextbookPolicy : IScalingPolicy
{
    private const string HoldReason = "hold: base + spares + requested";
    private const string ReactReason = "queue exceeds one replica's capacity";

    private readonly int _floor;
    private long _requested;

    /// <summary>Creates the policy; throws <see cref="InvalidOptionsException"/> for invalid options.</summary>
    public TextbookPolicy(TextbookOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        OptionRules.ThrowIfInvalid(options);
        _floor = options.BaseReplicas + options.Spares;
    }

    /// <inheritdoc />
    public ScalingDecision Decide(in ScalingSignal signal)
    {
        var reason = HoldReason;
        if (signal.QueueDepth > signal.CapacityPerReplica)
        {
            var want = (long)Math.Floor(signal.QueueDepth / signal.CapacityPerReplica);
            if (want > _requested)
            {
                _requested = want;
                reason = ReactReason;
            }
        }

        return new ScalingDecision((int)Math.Min(signal.MaxReplicas, _floor + _requested), reason);
    }
}
