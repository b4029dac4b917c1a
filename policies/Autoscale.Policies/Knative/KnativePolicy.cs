using Autoscale.Policies.Common;
using NodaTime;

namespace Autoscale.Policies.Knative;

/// <summary>
/// The Knative Pod Autoscaler (Knative Serving v1.16), replayed: every second the pods' (and, at zero, the activator's)
/// concurrency or request rate is recorded; every 2 s the decider (<see cref="KnativeDecider"/>, exactly) computes the
/// desired pods from the stable and panic window averages; the KPA reconciler bounds it by min and max scale and scales
/// to zero only after the revision has been active a stable window without demand and inactive (the activator in its
/// path) for the grace period. Requests that arrive while at zero wait in the queue, as the activator holds them.
/// </summary>
public sealed class KnativePolicy : IScalingPolicy, IPolicyDiagnostics, IReplicaRequestLimit
{
    private const int TickSeconds = 2;
    private static readonly Duration ActivationTimeout = Duration.FromSeconds(600 + 10);

    private readonly KnativeOptions _o;
    private readonly Duration _stableWindow;
    private readonly Duration _grace;
    private readonly long _stableSeconds;
    private readonly long _panicSeconds;
    private readonly double[] _samples;
    private readonly double _stableCoefficient;
    private readonly double _panicCoefficient;
    private KnativeDecider? _decider;
    private Instant _start;
    private long _recorded;
    private double _stableSum;
    private double _panicSum;
    private int _last;
    private bool _initialized;

    // The PodAutoscaler's Active condition: Active, Activating or Inactive, and since when.
    private State _state;
    private Instant _since;

    private enum State
    {
        Active,
        Activating,
        Inactive,
    }

    /// <summary>Creates the policy; throws <see cref="InvalidOptionsException"/> for invalid options.</summary>
    public KnativePolicy(KnativeOptions options)
    {
        _o = OptionRules.Adopt(options);
        _stableWindow = _o.StableWindow;
        _grace = Duration.Max(_o.ScaleToZeroGracePeriod, _o.ScaleToZeroPodRetentionPeriod);
        _stableSeconds = (long)Math.Round(_o.StableWindow.TotalSeconds);
        _panicSeconds = (long)_o.PanicWindow.TotalSeconds;
        _samples = new double[_stableSeconds];
        if (_o.Weighted)
        {
            _stableCoefficient = SmoothingCoefficient(_stableSeconds);
            _panicCoefficient = SmoothingCoefficient(_panicSeconds);
        }
    }

    /// <inheritdoc />
    public ScalingDecision Decide(in ScalingSignal signal)
    {
        var now = signal.Now;
        if (_decider is null)
        {
            // A new revision starts at its initial scale, ready: the PodAutoscaler is active.
            _start = now;
            _decider = new KnativeDecider(new KnativeDeciderSpec(_o.TargetValue, _o.MaxScaleUpRate, _o.MaxScaleDownRate, _o.PanicThresholdPercentage / 100,
                _stableWindow, _o.ScaleDownDelay, _o.ActivationScale), 0, now);
            _last = signal.CurrentReplicas == 0 ? _o.InitialScale : signal.CurrentReplicas;
            (_state, _since) = _last > 0 ? (State.Active, now) : (State.Inactive, now);
            return new ScalingDecision(_last, "the revision's initial scale");
        }

        Record(_o.Metric == "rps" ? signal.ArrivalRate : StandInSignals.InFlightTotal(signal));
        var elapsed = (long)Math.Round((now - _start).TotalSeconds);
        if (elapsed % TickSeconds != 0)
        {
            return new ScalingDecision(_last, "between the autoscaler's 2 s ticks");
        }

        var desired = _decider.Scale(signal.ReadyReplicas, Average(_stableSeconds), Average(_panicSeconds), now);
        var (scale, apply) = Reconcile(desired, now);
        UpdateActive(scale, signal.ReadyReplicas, now);
        // The fleet cannot grow past what the engine or host runs (maxScale 0 is unbounded).
        _last = Math.Min(apply ? scale : signal.CurrentReplicas, signal.MaxReplicas);

        return new ScalingDecision(_last, apply ? "the KPA's desired scale" : "holding until the revision may scale to zero");
    }

    private void Record(double value)
    {
        var slot = _recorded % _samples.Length;
        var leavingStable = _recorded >= _stableSeconds ? _samples[slot] : 0;
        var leavingPanic = _recorded >= _panicSeconds ? _samples[(_recorded - _panicSeconds) % _samples.Length] : 0;
        _samples[slot] = value;
        _stableSum += value - leavingStable;
        _panicSum += value - leavingPanic;
        _recorded++;
    }

    /// <summary>
    /// The weight of the newest second in a weighted-exponential window of <paramref name="seconds"/> one-second
    /// buckets (computeSmoothingCoeff): the window's weights sum to at least 0.9999, and the newest weighs at least 0.2.
    /// </summary>
    internal static double SmoothingCoefficient(long seconds) => Math.Max(1 - Math.Pow(1 - 0.9999, 1.0 / seconds), 0.2);

    /// <summary>
    /// Knative's weighted-exponential window average (WeightedFloat64Buckets.WindowAverage) of the last
    /// <paramref name="window"/> seconds, newest first: the newest weighs the coefficient, each older one
    /// (1 - coefficient) times the one after it; seconds before the first record count as 0, and the sum is not
    /// divided by the weights'.
    /// </summary>
    internal static double WeightedAverage(ReadOnlySpan<double> ring, long recorded, long window, double coefficient)
    {
        var multiplier = coefficient;
        var sum = 0.0;
        for (var i = 0L; i < window && i < recorded; i++)
        {
            sum += ring[(int)((recorded - 1 - i) % ring.Length)] * multiplier;
            multiplier *= 1 - coefficient;
        }

        return sum;
    }

    /// <summary>The window's average over the seconds recorded since the first write, at most the window (WindowAverage).</summary>
    private double Average(long window)
    {
        if (_o.Weighted)
        {
            return WeightedAverage(_samples, _recorded, window, window == _stableSeconds ? _stableCoefficient : _panicCoefficient);
        }

        var count = Math.Min(window, _recorded);
        if (count == 0)
        {
            return 0;
        }

        // Rounded to 6 decimals as upstream's roundToNDigits(precision, ...) does.
        var sum = window == _stableSeconds ? _stableSum : _panicSum;
        return Math.Round(Math.Max(0, sum) / count, 6, MidpointRounding.AwayFromZero);
    }

    /// <summary>The KPA scaler (pkg/reconciler/autoscaling/kpa/scaler.go): bounds, then the scale-to-zero rules.</summary>
    private (int Scale, bool Apply) Reconcile(int desired, Instant now)
    {
        var min = _o.MinScale;
        if (!_initialized && _o.InitialScale > 1)
        {
            min = Math.Max(min, _o.InitialScale);
        }

        if (desired < min)
        {
            desired = min;
        }

        if (_o.MaxScale != 0 && desired > _o.MaxScale)
        {
            desired = _o.MaxScale;
        }

        if (desired != 0)
        {
            return (desired, true);
        }

        if (!_o.EnableScaleToZero)
        {
            return (1, true);
        }

        switch (_state)
        {
            case State.Activating:
                return now - _since > ActivationTimeout ? (0, true) : (-1, false);
            case State.Active:
                // Active for a stable window without demand: mark inactive first (the activator joins the path).
                return now - _since >= _stableWindow ? (0, false) : (1, true);
            default:
                return now - _since >= _grace ? (0, true) : (0, false);
        }
    }

    /// <summary>The PodAutoscaler's Active condition after a reconcile (computeActiveCondition).</summary>
    private void UpdateActive(int want, int ready, Instant now)
    {
        if (ready >= Math.Max(1, _o.InitialScale))
        {
            _initialized = true;
        }

        var next = want == 0 ? State.Inactive
            : ready < 1 ? (want > 0 || _state != State.Inactive ? State.Activating : State.Inactive)
            : (want > 0 || _state != State.Inactive ? State.Active : State.Inactive);
        if (next != _state)
        {
            _state = next;
            _since = now;
        }
    }

    /// <summary><c>containerConcurrency</c>: a pod's queue-proxy admits no more than this at once (0: no limit); the activator holds the rest.</summary>
    public int MaxRequestsPerReplica => _o.ContainerConcurrency;

    /// <inheritdoc />
    public void Report(IDictionary<string, double> metrics)
    {
    }

    /// <inheritdoc />
    public void Warn(ICollection<string> warnings)
    {
        ArgumentNullException.ThrowIfNull(warnings);
        if (_o.ContainerConcurrency > 0)
        {
            warnings.Add($"containerConcurrency ({_o.ContainerConcurrency}) sets the target and also caps a pod's concurrent requests: serving replays hold the rest at the router; the count model replays the target, not the cap (each replica serves replica.capacityRps)");
        }
    }
}
