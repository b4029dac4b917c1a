using Autoscale.Policies.Common;
using Autoscale.Policies.Reactive;
using MathNet.Numerics.Distributions;
using NodaTime;

namespace Autoscale.Policies.Predictive;

/// <summary>
/// Launches ahead of demand: forecasts each bucket's peak arrival rate with a seasonal model (daily, and
/// weekly once a week is seen) and provisions for an upper quantile of the forecast over the next
/// expected load time plus one interval, so replicas are ready when the rise arrives (AWS predictive
/// scaling's idea, with the candidate's own load time). It never goes below its reactive part, so it
/// falls back to reactive when the forecast is behind reality and never scales in on the forecast alone.
/// </summary>
/// <remarks>Reports <c>forecastWape</c>. One instance per run; not thread-safe.</remarks>
public sealed class PredictivePolicy : IScalingPolicy, IPolicyDiagnostics
{
    private const string ForecastReason = "forecast: launching ahead of a predicted rise";

    private readonly PredictiveOptions _o;
    private readonly ReactivePolicy _reactive;
    private readonly SeasonalForecaster _forecaster;
    private readonly double _z;
    private readonly DecisionLog _log = new("the forecast", "the reactive part");

    /// <summary>Creates the policy; throws <see cref="InvalidOptionsException"/> for invalid options.</summary>
    public PredictivePolicy(PredictiveOptions options)
    {
        // A copy of its own: the caller's object (or a factory's, shared by every run) may change later.
        options = OptionRules.Adopt(options);
        _o = options;
        _reactive = new ReactivePolicy(options);
        _forecaster = new SeasonalForecaster(options.BucketSeconds, options.LevelSmoothing, options.SeasonalSmoothing, options.WeeklySeasonality);
        _z = Normal.InvCDF(0, 1, options.Quantile);
    }

    /// <summary>The forecaster (for inspection in notebooks and tests).</summary>
    public SeasonalForecaster Forecaster => _forecaster;

    /// <inheritdoc />
    public ScalingDecision Decide(in ScalingSignal signal)
    {
        _forecaster.Observe(signal.Now, signal.Interval, signal.ArrivalsLastInterval);
        var reactive = _reactive.Decide(signal);
        if (!_forecaster.Ready)
        {
            _log.Decided(1);
            return reactive;
        }

        var horizon = signal.Now + signal.ExpectedLoadTime + signal.Interval;
        var forecast = _forecaster.MaxForecast(signal.Now, horizon) * (1 + _z * _forecaster.RelativeErrorSpread);
        var wanted = (int)Math.Min(int.MaxValue / 2, Math.Ceiling(forecast / (signal.CapacityPerReplica * _o.TargetUtilization) - 1e-9));
        var max = Math.Min(_o.MaxReplicas, signal.MaxReplicas);
        wanted = Math.Min(wanted, max);
        _log.Decided(wanted > reactive.DesiredReplicas ? 0 : wanted < reactive.DesiredReplicas ? 1 : -1);
        return wanted > reactive.DesiredReplicas ? new ScalingDecision(wanted, ForecastReason) : reactive;
    }

    /// <inheritdoc />
    public void Report(IDictionary<string, double> metrics)
    {
        if (!double.IsNaN(_forecaster.Wape))
        {
            metrics["forecastWape"] = Math.Round(_forecaster.Wape, 6);
        }

        metrics["forecastBuckets"] = _forecaster.ScoredBuckets;
    }

    /// <inheritdoc />
    public void Warn(ICollection<string> warnings)
    {
        _reactive.Warn(warnings);
        if (_log.Decisions > 0 && _log.SetBy(0) * 100 < _log.Decisions)
        {
            var how = _log.SetBy(0) == 0 ? "never raised a decision" : $"raised only {ReplicaText.Percent(_log.SetBy(0), _log.Decisions)} of the decisions";
            warnings.Add($"the forecast {how} of predictive above its reactive part (decisions set by {_log.Shares()})");
        }
    }
}
