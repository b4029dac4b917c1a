using Autoscale.Backtesting.Serving;
using NodaTime;

namespace Autoscale.Backtesting.Engine;

/// <summary>
/// A candidate's fleet replayed by the engine, as a live autoscaler sees it: the engine builds each decision's signal
/// exactly as the backtest does (the count replay's, or a serving replay's with running requests, KV cache use, tokens
/// and TTFT), and the count the world holds comes from whoever decides live: <c>autoscale live --replay</c> runs the
/// live loop inside each decision, the sample host answers with the count its loop last applied.
/// </summary>
/// <remarks>
/// The policy's seat in the engine is taken by the world: at every decision tick (the candidate's decision interval and
/// metrics delay) the engine's signal becomes <see cref="Latest"/> and the callback's count is reconciled as a policy's
/// would be. A policy's per-replica request limit (<see cref="IReplicaRequestLimit"/>) is read from the candidate's
/// policy, so serving replays route as the backtest does. Not thread-safe: one caller advances it.
/// </remarks>
public sealed class ReplayedWorld
{
    private readonly CandidateRun? _count;
    private readonly ServingRunBase? _serving;
    private readonly Func<ScalingSignal, ScalingDecision> _decide;
    private readonly int _requestLimit;
    private ScalingSignal _latest;

    private ReplayedWorld(CandidateSpec spec, Func<ScalingSignal, ScalingDecision> decide)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(decide);
        _decide = decide;
        _requestLimit = spec.PolicyFactory() is IReplicaRequestLimit limit ? limit.MaxRequestsPerReplica : 0;
    }

    private ReplayedWorld(CandidateSpec spec, ReplaySettings settings, Instant start, Func<ScalingSignal, ScalingDecision> decide)
        : this(spec, decide)
    {
        _count = new CandidateRun(spec with { PolicyFactory = () => new Seat(this) }, settings, start);
        Step = _count.DecisionStep;
    }

    private ReplayedWorld(CandidateSpec spec, ReplaySettings settings, ServingWorkload workload, Func<ScalingSignal, ScalingDecision> decide)
        : this(spec, decide)
    {
        if (spec.Pools is not null)
        {
            throw new InvalidOptionsException([new OptionError("policies", $"candidate \"{spec.Name}\" scales disaggregated pools, which the live loop does not run yet: backtest it")]);
        }

        var seated = spec with { PolicyFactory = () => new Seat(this) };
        _serving = settings.FluidServing ? new FluidRun(seated, settings, workload, 0, false) : new ServingRun(seated, settings, workload, 0, false);
        Step = _serving.DecisionStep;
        Ticks = workload.Ticks;
    }

    /// <summary>A count replay of <paramref name="spec"/> on a trace that begins at <paramref name="start"/>; feed it with <see cref="Advance"/>.</summary>
    /// <param name="spec">The candidate: its load time, decision interval, metrics delay, replica shape and cluster.</param>
    /// <param name="settings">The backtest's settings.</param>
    /// <param name="start">The instant tick 0 begins.</param>
    /// <param name="decide">Asked at each decision tick, after <see cref="Latest"/> is set: the count to hold.</param>
    /// <exception cref="InvalidOptionsException">The settings or the candidate's cadence break a rule.</exception>
    public static ReplayedWorld ForTrace(CandidateSpec spec, ReplaySettings settings, Instant start, Func<ScalingSignal, ScalingDecision> decide) =>
        new(spec, settings, start, decide);

    /// <summary>A serving replay of <paramref name="spec"/> on <paramref name="workload"/> (request by request, or as a fluid when the settings say so); advance it with <see cref="AdvanceTo"/>.</summary>
    /// <param name="spec">The candidate.</param>
    /// <param name="settings">The backtest's settings, with a serving profile.</param>
    /// <param name="workload">The requests, read as the backtest reads them.</param>
    /// <param name="decide">Asked at each decision tick, after <see cref="Latest"/> is set: the count to hold.</param>
    /// <exception cref="ArgumentException">Neither the settings nor the candidate have a serving profile.</exception>
    public static ReplayedWorld ForServing(CandidateSpec spec, ReplaySettings settings, ServingWorkload workload, Func<ScalingSignal, ScalingDecision> decide) =>
        new(spec, settings, workload, decide);

    /// <summary>The decision step the engine builds signals with: interval, capacity per replica (a serving replay's nominal rate), load time, most replicas. A live loop on this world takes its options from it.</summary>
    public DecisionStep Step { get; }

    /// <summary>Whether the world replays requests (a serving profile) rather than counts.</summary>
    public bool IsServing => _serving is not null;

    /// <summary>A serving world's last tick (its workload's length); null for a count world, which ends where its trace does.</summary>
    public long? Ticks { get; }

    /// <summary>The tick being replayed.</summary>
    public long Tick => _count?.Tick ?? _serving!.Tick;

    /// <summary>The signal of the latest decision tick; null before the first.</summary>
    public ScalingSignal? Latest => Decisions == 0 ? null : _latest;

    /// <summary>Decision ticks so far.</summary>
    public long Decisions { get; private set; }

    /// <summary>Replays one tick of a count world per element of <paramref name="arrivalsPerTick"/>.</summary>
    /// <exception cref="InvalidOperationException">A serving world (it holds its own requests: use <see cref="AdvanceTo"/>).</exception>
    public void Advance(ReadOnlySpan<long> arrivalsPerTick)
    {
        if (_count is null)
        {
            throw new InvalidOperationException("a serving world replays its own workload: use AdvanceTo");
        }

        _count.Advance(arrivalsPerTick);
    }

    /// <summary>Replays a serving world's ticks before <paramref name="tick"/> (at most to <see cref="Ticks"/>).</summary>
    /// <exception cref="InvalidOperationException">A count world (its arrivals come from the caller: use <see cref="Advance"/>).</exception>
    public void AdvanceTo(long tick)
    {
        if (_serving is null)
        {
            throw new InvalidOperationException("a count world replays the arrivals it is given: use Advance");
        }

        _serving.AdvanceTo(Math.Min(tick, Ticks!.Value));
    }

    /// <summary>Ends the replay (a serving world's remaining ticks first) and returns the candidate's result, as the backtest would rank it.</summary>
    public CandidateResult Complete()
    {
        if (_count is not null)
        {
            return _count.Complete();
        }

        _serving!.AdvanceTo(Ticks!.Value);
        return _serving.Complete();
    }

    /// <summary>The engine's policy seat.</summary>
    private sealed class Seat(ReplayedWorld world) : IScalingPolicy, IReplicaRequestLimit
    {
        public int MaxRequestsPerReplica => world._requestLimit;

        public ScalingDecision Decide(in ScalingSignal signal)
        {
            world._latest = signal;
            world.Decisions++;
            return world._decide(signal);
        }
    }
}
