using Autoscale.Policies.Common;
using NodaTime;

namespace Autoscale.Policies.RayServe;

/// <summary>
/// Ray Serve's default autoscaling policy (Ray 2.49), replayed: replicas report their ongoing requests (in the count
/// model, the requests in flight: waiting plus in service) every <c>metricsIntervalS</c>, averaged over
/// <c>lookBackPeriodS</c> (or their largest or smallest, as <c>aggregationFunction</c> says); the controller's loop (every 0.1 s, ten iterations a one-second tick) computes the desired
/// count from their sum against <c>targetOngoingRequests</c> per running replica and scales once a direction has held for
/// <c>upscaleDelayS</c> or <c>downscaleDelayS</c> (1 to 0 after <c>downscaleToZeroDelayS</c>); with no replica running and
/// requests waiting it scales up at once.
/// </summary>
public sealed class RayServePolicy : IScalingPolicy, IPolicyDiagnostics, IReplicaRequestLimit
{
    private readonly RayServeOptions _o;
    private readonly RayServeController _controller;
    private readonly Queue<(Instant At, double InFlight)> _samples = new();
    private readonly Duration _lookBack;
    private readonly Duration _metricsInterval;
    private bool _started;
    private Instant _nextReport;
    private double _reported;

    /// <summary>Creates the policy; throws <see cref="InvalidOptionsException"/> for invalid options.</summary>
    public RayServePolicy(RayServeOptions options)
    {
        _o = OptionRules.Adopt(options);
        _controller = new RayServeController(_o);
        _lookBack = _o.LookBackPeriodS;
        _metricsInterval = _o.MetricsIntervalS;
    }

    /// <inheritdoc />
    public ScalingDecision Decide(in ScalingSignal signal)
    {
        var now = signal.Now;
        if (!_started)
        {
            // The deployment starts at initial_replicas (min_replicas when not set), before any metric is reported.
            _started = true;
            _nextReport = now + _metricsInterval;
            return new ScalingDecision(_o.InitialReplicas ?? _o.MinReplicas, "the deployment's initial replicas");
        }

        _samples.Enqueue((now, StandInSignals.InFlightTotal(signal)));
        while (_samples.Count > 0 && _samples.Peek().At <= now - _lookBack)
        {
            _samples.Dequeue();
        }

        if (now >= _nextReport)
        {
            _reported = Aggregate();
            while (_nextReport <= now)
            {
                _nextReport += _metricsInterval;
            }
        }

        var loops = Math.Max(1, (long)Math.Round(signal.Interval.TotalSeconds / _o.ControlLoopIntervalS.TotalSeconds));
        var current = signal.CurrentReplicas;
        var decided = Math.Min(_controller.Decide(current, _reported, signal.ReadyReplicas, loops), signal.MaxReplicas);
        return new ScalingDecision(decided, decided > current ? "scale-up decisions held for upscale_delay_s"
            : decided < current ? "scale-down decisions held for the downscale delay" : "within the delays");
    }

    /// <summary>The look-back window's samples as aggregation_function says: their mean, largest or smallest.</summary>
    private double Aggregate()
    {
        if (_samples.Count == 0)
        {
            return 0;
        }

        double sum = 0, max = double.MinValue, min = double.MaxValue;
        foreach (var (_, inFlight) in _samples)
        {
            sum += inFlight;
            max = Math.Max(max, inFlight);
            min = Math.Min(min, inFlight);
        }

        return _o.AggregationFunction switch
        {
            "max" => max,
            "min" => min,
            _ => sum / _samples.Count,
        };
    }

    /// <summary><c>max_ongoing_requests</c>: Ray Serve's router sends a replica no more than this at once.</summary>
    public int MaxRequestsPerReplica => _o.MaxOngoingRequests;

    /// <inheritdoc />
    public void Report(IDictionary<string, double> metrics)
    {
    }

    /// <inheritdoc />
    public void Warn(ICollection<string> warnings)
    {
        ArgumentNullException.ThrowIfNull(warnings);
        warnings.Add($"max_ongoing_requests ({_o.MaxOngoingRequests}) limits what a Ray Serve replica takes at once: serving replays hold the rest at the router; the count model does not replay it (each replica serves replica.capacityRps)");
    }
}
