namespace Autoscale;

/// <summary>
/// A scaling policy: asked once per decision interval what replica count (ready + loading) it wants.
/// </summary>
/// <remarks>
/// A policy is pure with respect to the outside world: time and observations arrive in the
/// <see cref="ScalingSignal"/>, it reads no clock and does no I/O. It may keep state of its own
/// (windows, forecasts), which is why a backtest builds a fresh instance for every run.
/// Instances are not required to be thread-safe; the engine and the live loop call one instance
/// from one thread at a time.
/// </remarks>
public interface IScalingPolicy
{
    /// <summary>Decides the desired replica count (ready + loading) from what can be observed now.</summary>
    ScalingDecision Decide(in ScalingSignal signal);
}
