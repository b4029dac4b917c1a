using Autoscale.Policies.Common;
using NodaTime;

namespace Autoscale.Policies.Reactive;

/// <summary>
/// A reactive autoscaler in the manner of the Kubernetes HPA: desired = ceil(demand / (capacity x target)),
/// held within a tolerance, scale-ups stabilized to the smallest and scale-downs to the largest
/// recommendation of their windows, changes rate-limited per period. Optional Knative-style panic mode
/// scales up at once on a burst and never down while it lasts; with MinReplicas 0 it scales to zero
/// after a grace period without requests and wakes on the first one.
/// </summary>
/// <remarks>Keeps windows of past observations; one instance per run; not thread-safe.</remarks>
public sealed class ReactivePolicy : IScalingPolicy, IPolicyDiagnostics
{
    private const string Hold = "within tolerance";
    private const string Up = "scale up: demand above target";
    private const string UpLimited = "scale up: rate-limited";
    private const string UpStabilized = "scale up held by the up-stabilization window";
    private const string Down = "scale down: demand below target for the stabilization window";
    private const string DownHeld = "scale down held by the stabilization window";
    private const string Panic = "panic: burst above the panic threshold";
    private const string Zero = "scale to zero: idle for the grace period";
    private const string Wake = "wake from zero: requests arrived";
    private const string Floor = "at MinReplicas";
    private const string Ceiling = "at MaxReplicas";

    private readonly ReactiveOptions _o;
    private readonly SlidingSum _arrivals;
    private readonly SlidingSum _panicArrivals;
    private readonly SlidingExtremum _upWindow;
    private readonly SlidingExtremum _downWindow;
    private readonly SlidingExtremum _upBaseline;
    private readonly SlidingExtremum _downBaseline;
    private Instant _panicUntil = Instant.FromUnixTimeTicks(0);
    private Instant? _lastActive;
    private bool _seen;
    private readonly DecisionLog _log;

    /// <summary>Creates the policy; throws <see cref="InvalidOptionsException"/> for invalid options.</summary>
    public ReactivePolicy(ReactiveOptions options)
    {
        // A copy of its own: the caller's object (or a factory's, shared by every run) may change later.
        options = OptionRules.Adopt(options);
        _o = options;
        _arrivals = new SlidingSum(options.MetricWindowSeconds);
        _panicArrivals = new SlidingSum(options.PanicWindowSeconds);
        _upWindow = new SlidingExtremum(options.ScaleUpStabilizationSeconds, max: false);
        _downWindow = new SlidingExtremum(options.ScaleDownStabilizationSeconds, max: true);
        _upBaseline = new SlidingExtremum(options.ScaleUpPeriodSeconds, max: false);
        _downBaseline = new SlidingExtremum(options.ScaleDownPeriodSeconds, max: true);
        _log = new DecisionLog($"the floor (minReplicas {options.MinReplicas})", "demand");
    }

    /// <summary>A copy of the options the policy was built with (changing it changes nothing).</summary>
    public ReactiveOptions Options => OptionRules.Snapshot(_o);

    /// <inheritdoc />
    public ScalingDecision Decide(in ScalingSignal signal)
    {
        var now = signal.Now;
        var current = signal.CurrentReplicas;
        var capacity = signal.CapacityPerReplica;
        _arrivals.Add(now, signal.Interval, signal.ArrivalsLastInterval);
        _panicArrivals.Add(now, signal.Interval, signal.ArrivalsLastInterval);
        var active = signal.ArrivalsLastInterval > 0 || signal.QueueDepth > 0;
        if (active)
        {
            _lastActive = now;
        }

        var backlog = signal.QueueDepth / _o.QueueDrainSeconds.TotalSeconds;
        var rate = _o.MetricWindowSeconds > Duration.Zero ? _arrivals.RatePerSecond : signal.ArrivalRate;
        var raw = Recommend(signal, rate + backlog);

        // Knative-style panic: a burst measured over the short window against ready capacity.
        if (_o.PanicThresholdPercent > 0)
        {
            var burst = _panicArrivals.RatePerSecond + backlog;
            var ready = signal.ReadyReplicas * capacity;
            if (burst > 0 && (ready == 0 || burst / ready * 100 >= _o.PanicThresholdPercent))
            {
                _panicUntil = now + _o.PanicHoldSeconds;
            }
        }

        var panic = now < _panicUntil;

        // A policy that starts with a fleet already running (a live autoscaler restarted) counts that fleet as a
        // recommendation just made, so it scales down only after the stabilization window, as after any other
        // recommendation. A replay's first decision starts from no fleet and is unaffected.
        if (!_seen)
        {
            _seen = true;
            if (current > 0)
            {
                _downWindow.Add(now, current);
            }
        }

        var upMin = _upWindow.Add(now, raw);
        var downMax = _downWindow.Add(now, raw);
        var upBase = _upBaseline.Add(now, current);
        var downBase = _downBaseline.Add(now, current);

        int desired;
        string reason;
        if (raw > current)
        {
            if (panic)
            {
                (desired, reason) = (raw, Panic);
            }
            else
            {
                desired = Math.Max(current, upMin);
                reason = desired > current ? Up : UpStabilized;
                var limit = upBase + Math.Max(_o.ScaleUpLimitReplicas, (int)Math.Ceiling(upBase * _o.ScaleUpLimitPercent / 100));
                if (desired > limit)
                {
                    (desired, reason) = (Math.Max(current, limit), UpLimited);
                }
            }
        }
        else if (raw < current)
        {
            desired = panic ? current : Math.Min(current, downMax);
            reason = desired < current ? Down : panic ? Panic : DownHeld;
            var limit = downBase - Math.Max(_o.ScaleDownLimitReplicas, (int)Math.Floor(downBase * _o.ScaleDownLimitPercent / 100));
            desired = Math.Max(desired, limit);
        }
        else
        {
            (desired, reason) = (current, Hold);
        }

        if (_o.MinReplicas == 0 && desired == 0)
        {
            // Scale to zero only after the grace period without requests; wake on the first request.
            var idleLongEnough = _lastActive is not { } last || now - last >= _o.ScaleToZeroGraceSeconds;
            if (active || !idleLongEnough)
            {
                (desired, reason) = (1, current == 0 ? Wake : DownHeld);
            }
            else if (current > 0)
            {
                reason = Zero;
            }
        }

        var max = Math.Min(_o.MaxReplicas, signal.MaxReplicas);
        _log.Decided(desired < _o.MinReplicas ? 0 : desired > _o.MinReplicas ? 1 : -1);
        if (desired > _o.MaxReplicas && _o.MaxReplicas < signal.MaxReplicas)
        {
            _log.Capped(now);
        }

        if (desired <= _o.MinReplicas)
        {
            return new ScalingDecision(Math.Min(_o.MinReplicas, max), desired < _o.MinReplicas ? Floor : reason);
        }

        return desired > max ? new ScalingDecision(max, Ceiling) : new ScalingDecision(desired, reason);
    }

    /// <inheritdoc />
    public void Report(IDictionary<string, double> metrics)
    {
    }

    /// <inheritdoc />
    public void Warn(ICollection<string> warnings) => _log.WarnCapped(warnings, $"its maxReplicas ({_o.MaxReplicas})");

    /// <summary>Warns when the floor (<c>minReplicas</c>) never raised a decision: demand alone always asked for at least as many.</summary>
    internal void WarnFloorUnused(ICollection<string> warnings, string policy)
    {
        if (_log.Decisions > 0 && _log.SetBy(0) * 100 < _log.Decisions)
        {
            var how = _log.SetBy(0) == 0 ? "never raised a decision" : $"raised only {ReplicaText.Percent(_log.SetBy(0), _log.Decisions)} of the decisions";
            warnings.Add($"the floor (minReplicas {_o.MinReplicas}) {how} of {policy}: demand alone asked for at least {_o.MinReplicas} (decisions set by {_log.Shares()})");
        }
    }

    /// <summary>The HPA's rule for a ratio metric: the fleet (at least one) times measured over target.</summary>
    private static double Ratio(int current, double measured, double target) => Math.Max(1, current) * measured / target;

    private int Recommend(in ScalingSignal signal, double demand)
    {
        var current = signal.CurrentReplicas;
        double wanted = _o.Metric switch
        {
            ReactiveMetric.InFlightPerReplica => Common.StandInSignals.InFlightTotal(signal) / _o.TargetInFlightPerReplica,
            ReactiveMetric.WaitingPerReplica => Common.StandInSignals.Total(Common.StandInSignals.Waiting, signal) / _o.TargetWaitingPerReplica,
            ReactiveMetric.RunningPerReplica => Common.StandInSignals.Total(Common.StandInSignals.Running, signal) / _o.TargetRunningPerReplica,
            ReactiveMetric.KvCacheUtilization => Ratio(current, Common.StandInSignals.Total(Common.StandInSignals.KvCacheUtilization, signal) / Math.Max(1, signal.ReadyReplicas), _o.TargetKvCacheUtilization),
            ReactiveMetric.TtftP95Seconds => signal.TtftP95LastInterval is { } ttft || !signal.HasServingSignals
                ? Ratio(current, Common.StandInSignals.Total(Common.StandInSignals.TtftP95Seconds, signal), _o.TargetTtftP95Seconds.TotalSeconds)
                : current,
            _ => demand / (signal.CapacityPerReplica * _o.TargetUtilization),
        };
        var raw = (int)Math.Min(int.MaxValue / 2, Math.Ceiling(wanted - 1e-9));
        if (current > 0 && Math.Abs((double)raw / current - 1) <= _o.Tolerance)
        {
            return current;
        }

        return raw;
    }
}
