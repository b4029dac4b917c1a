using NodaTime;

namespace Autoscale.Policies.Knative;

/// <summary>What the decider is configured with (knative.dev/serving pkg/autoscaler/scaling DeciderSpec).</summary>
internal sealed record KnativeDeciderSpec(
    double TargetValue,
    double MaxScaleUpRate,
    double MaxScaleDownRate,
    double PanicThreshold,
    Duration StableWindow,
    Duration ScaleDownDelay,
    int ActivationScale,
    bool Reachable = true);

/// <summary>
/// The largest value recorded over a time window at a granularity (knative pkg/autoscaler/aggregation/max TimeWindow):
/// a ring of per-bucket maxima, a bucket dropping out once it is a whole window behind the latest.
/// </summary>
internal sealed class KnativeMaxWindow
{
    private readonly long _granularityTicks;
    private readonly int[] _maxima;
    private readonly bool[] _used;
    private long _latest = long.MinValue;

    public KnativeMaxWindow(Duration window, Duration granularity)
    {
        _granularityTicks = granularity.BclCompatibleTicks;
        var buckets = (int)Math.Max(1, window.BclCompatibleTicks / _granularityTicks);
        _maxima = new int[buckets];
        _used = new bool[buckets];
    }

    public void Record(Instant now, int value)
    {
        var bucket = now.ToUnixTimeTicks() / _granularityTicks;
        if (_latest != long.MinValue)
        {
            // Buckets between the latest write and now held nothing.
            for (var b = _latest + 1; b <= bucket && b - _latest <= _maxima.Length; b++)
            {
                _used[Slot(b)] = false;
            }
        }

        var slot = Slot(bucket);
        if (bucket != _latest || !_used[slot])
        {
            _maxima[slot] = value;
            _used[slot] = true;
        }
        else if (value > _maxima[slot])
        {
            _maxima[slot] = value;
        }

        _latest = Math.Max(_latest, bucket);
    }

    public int Current()
    {
        var max = int.MinValue;
        for (var i = 0; i < _maxima.Length; i++)
        {
            if (_used[i] && _maxima[i] > max)
            {
                max = _maxima[i];
            }
        }

        return max;
    }

    private int Slot(long bucket) => (int)(((bucket % _maxima.Length) + _maxima.Length) % _maxima.Length);
}

/// <summary>
/// The Knative Pod Autoscaler's decider, step for step as knative/serving pkg/autoscaler/scaling/autoscaler.go
/// (<c>Scale</c>, v1.16) computes it: desired pods from the stable and panic averages against the target, bounded by the
/// scale-up and scale-down rates, panic mode entered when the panic pods reach the threshold and left a stable window
/// later, no scaling down while panicking, and the scale-down delay as a maximum over its window.
/// </summary>
internal sealed class KnativeDecider
{
    private readonly KnativeDeciderSpec _spec;
    private readonly KnativeMaxWindow? _delayWindow;
    private Instant? _panicTime;
    private int _maxPanicPods;

    public KnativeDecider(KnativeDeciderSpec spec, int readyAtStart, Instant now)
    {
        _spec = spec;
        _delayWindow = spec.ScaleDownDelay > Duration.Zero ? new KnativeMaxWindow(spec.ScaleDownDelay, Duration.FromSeconds(2)) : null;

        // A new decider starts in panic mode when more than one pod is ready, so a restart does not scale down at once.
        if (readyAtStart > 1)
        {
            _panicTime = now;
        }

        _maxPanicPods = readyAtStart;
    }

    internal Instant? PanicTime
    {
        get => _panicTime;
        set => _panicTime = value;
    }

    internal int MaxPanicPods
    {
        get => _maxPanicPods;
        set => _maxPanicPods = value;
    }

    /// <summary>The desired pod count for the observed stable and panic values with <paramref name="readyPods"/> ready.</summary>
    public int Scale(int readyPods, double observedStable, double observedPanic, Instant now)
    {
        double ready = Math.Max(1, readyPods);
        var maxScaleUp = Math.Ceiling(_spec.MaxScaleUpRate * ready);
        var maxScaleDown = _spec.Reachable ? Math.Floor(ready / _spec.MaxScaleDownRate) : 0;

        var dspc = Math.Ceiling(observedStable / _spec.TargetValue);
        var dppc = Math.Ceiling(observedPanic / _spec.TargetValue);
        var desiredStable = (int)Math.Min(Math.Max(dspc, maxScaleDown), maxScaleUp);
        var desiredPanic = (int)Math.Min(Math.Max(dppc, maxScaleDown), maxScaleUp);
        if (_spec.ActivationScale > 1)
        {
            if (dspc > 0 && _spec.ActivationScale > desiredStable)
            {
                desiredStable = _spec.ActivationScale;
            }

            if (dppc > 0 && _spec.ActivationScale > desiredPanic)
            {
                desiredPanic = _spec.ActivationScale;
            }
        }

        var overPanicThreshold = dppc / ready >= _spec.PanicThreshold;
        if (overPanicThreshold)
        {
            _panicTime = now;
        }
        else if (_panicTime is { } since && since + _spec.StableWindow < now)
        {
            _panicTime = null;
            _maxPanicPods = 0;
        }

        var desired = desiredStable;
        if (_panicTime is not null)
        {
            desired = Math.Max(desired, desiredPanic);
            if (desired > _maxPanicPods)
            {
                _maxPanicPods = desired;
            }

            desired = _maxPanicPods;
        }

        if (_delayWindow is not null)
        {
            _delayWindow.Record(now, desired);
            desired = _delayWindow.Current();
        }

        return desired;
    }
}
