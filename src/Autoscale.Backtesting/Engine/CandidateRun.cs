using Autoscale.Backtesting.Histograms;
using Autoscale.Backtesting.LoadTime;
using System.Runtime.CompilerServices;
using NodaTime;

namespace Autoscale.Backtesting.Engine;

/// <summary>
/// One candidate's replay, advanced one tick at a time with exactly the semantics of README.md
/// ("What a replay does, tick by tick"). Feed it the arrivals of each tick in order (in chunks of any size,
/// so a trace can stream by row group), then call <see cref="Complete"/>.
/// </summary>
/// <remarks>
/// The per-tick path allocates nothing: the queue is a ring of (tick, count) buckets, loads are a
/// sorted array, the history the signal needs is a small ring. Not thread-safe; one run per thread.
/// </remarks>
[System.Runtime.CompilerServices.SkipLocalsInit]
public sealed class CandidateRun : ICandidateReplay
{
    private readonly CandidateSpec _spec;
    private readonly ReplaySettings _settings;
    private readonly IScalingPolicy _policy;
    private readonly long _tickNanos;
    private readonly double _tickSeconds;
    private readonly double _capacity;
    private readonly double _capacityPerTick;
    private readonly long _lateAfterTicks;
    private readonly long _dropAfterTicks;

    private readonly RequestQueue _queue;
    private readonly DecisionStep _step;
    private readonly LatencyHistogram<TickLayout> _waits = new();
    private readonly ILoadSimulation _loads;
    private readonly Cluster.ClusterSimulation? _cluster;

    // History for the signal: cumulative arrivals/served before tick t and the queue at the start of t.
    private readonly Observed[] _history;

    private DecisionCadence _cadence;
    private int _lastDesired;
    private string? _lastReason;
    private long[]? _fed;
    private long _fedFirst;
    private long _tick;
    private int _loading;
    private int _ready;
    private double _carry;
    private long _requests;
    private long _served;
    private long _late;
    private long _dropped;
    private long _coldStarts;
    private long _startOrdinal;
    private int _peak;
    private double _replicaSeconds;
    private double _loadingSeconds;
    private double _idleSeconds;
    private readonly SloLedger _slo;
    private readonly FleetLedger _fleet;
    private readonly TimelineRecorder? _timeline;
    private long _tickViolations;
    private bool _completed;
    private readonly Instant _start;
    private readonly DecisionRecord _record;

    // The signal the policy is handed, kept between decisions: what holds for the run (interval, capacity, expected load
    // time, the cap) is set once, and each decision writes only the six figures that move.
    private ScalingSignal _signal;

    /// <summary>Starts a run of <paramref name="spec"/> on a trace that begins at <paramref name="start"/>.</summary>
    /// <param name="spec">The candidate.</param>
    /// <param name="settings">Settings shared by the backtest.</param>
    /// <param name="start">The instant tick 0 begins.</param>
    /// <param name="timelineBucketTicks">Record a downsampled timeline with buckets of this many ticks (0: none).</param>
    /// <param name="zoomWorstHour">With a timeline, also keep the worst hour at a finer resolution (for traces longer than a day).</param>
    public CandidateRun(CandidateSpec spec, ReplaySettings settings, Instant start, long timelineBucketTicks = 0, bool zoomWorstHour = false)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(settings);
        settings = spec.On(settings);
        InvalidOptionsException.ThrowIfAny(settings.Validate());
        InvalidOptionsException.ThrowIfAny(spec.CadenceErrors());

        _spec = spec;
        _settings = settings;
        _policy = spec.PolicyFactory();
        _record = new DecisionRecord(_policy, settings.MaxReplicas);
        _tickNanos = settings.Tick.ToInt64Nanoseconds();
        _tickSeconds = settings.TickSeconds;
        _capacity = settings.Replica.CapacityRps;
        _capacityPerTick = _capacity * _tickSeconds;
        _lateAfterTicks = WholeTicksWithin(settings.Slo.MaxWait);
        _dropAfterTicks = WholeTicksWithin(settings.Slo.ClientTimeout);
        _queue = new RequestQueue(mergeAfterTicks: _lateAfterTicks + 1);
        _cadence = new DecisionCadence(spec.DecisionIntervalTicks, spec.MetricsDelayTicks, settings.Tick, start);
        _step = new DecisionStep(_cadence.Interval, _capacity, spec.LoadTime.ExpectedLoadTime, settings.MaxReplicas);
        _signal = new ScalingSignal(start, _step.Interval, 0, 0, 0, 0, _capacity, _step.ExpectedLoadTime) { MaxReplicas = _step.MaxReplicas };
        _slo = new SloLedger(_tickNanos, settings.Slo.TargetPercent);
        _fleet = new FleetLedger(_tickSeconds, _capacityPerTick, settings.BillingGranularity.TotalSeconds, settings.BillingMinimum.TotalSeconds);
        _timeline = timelineBucketTicks > 0 ? new TimelineRecorder(timelineBucketTicks, _tickSeconds, zoomWorstHour, _tickNanos) : null;
        _loads = Cluster.ClusterSimulation.LoadsFor(spec, settings, start, timelineBucketTicks, drainsOnRelease: false, out _cluster);

        // Cumulative counts are kept only at the ticks a decision observes, for the decisions still to come: memory grows
        // with delay / interval, never the interval.
        var historyLength = _cadence.HistoryLength;
        _start = start;
        _history = new Observed[historyLength];
    }

    /// <summary>Ticks replayed so far.</summary>
    public long Tick => _tick;

    /// <inheritdoc/>
    long ICandidateReplay.Replayed => _tick;

    /// <summary>The decision step the run builds its signals with.</summary>
    internal DecisionStep DecisionStep => _step;

    /// <summary>Ready replicas now.</summary>
    public int ReadyReplicas => _ready;

    /// <summary>Loading replicas now.</summary>
    public int LoadingReplicas => _loading;

    /// <summary>Requests waiting now.</summary>
    public long QueueDepth => _queue.Depth;

    /// <summary>Requests that arrived so far.</summary>
    public long Requests => _requests;

    /// <summary>Requests whose service started so far.</summary>
    public long Served => _served;

    /// <summary>The decision the policy gave at the last decision tick.</summary>
    public ScalingDecision LastDecision => new(_lastDesired, _lastReason);

    /// <summary>
    /// Hands the run the arrivals of the ticks from <paramref name="firstTick"/> on, one per element of
    /// <paramref name="arrivals"/>, for the scheduler's <see cref="ICandidateReplay.AdvanceTo"/> to replay.
    /// </summary>
    internal void Feed(long firstTick, long[] arrivals)
    {
        _fedFirst = firstTick;
        _fed = arrivals;
    }

    /// <summary>Replays the fed arrivals of every tick before <paramref name="tick"/> not replayed yet.</summary>
    void ICandidateReplay.AdvanceTo(long tick)
    {
        if (tick <= _tick)
        {
            return;
        }

        if (_fed is null || _tick < _fedFirst || tick > _fedFirst + _fed.Length)
        {
            throw new InvalidOperationException($"ticks {_tick} to {tick} were not fed to the run");
        }

        Advance(_fed.AsSpan((int)(_tick - _fedFirst), (int)(tick - _tick)));
    }

    /// <summary>Replays one tick per element of <paramref name="arrivalsPerTick"/>.</summary>
    public void Advance(ReadOnlySpan<long> arrivalsPerTick)
    {
        ThrowIfCompleted();
        for (var i = 0; i < arrivalsPerTick.Length; i++)
        {
            ReplayTick(arrivalsPerTick[i]);
        }
    }

    /// <summary>Replays one tick in which <paramref name="arrivals"/> requests arrive.</summary>
    public void Step(long arrivals)
    {
        ThrowIfCompleted();
        ReplayTick(arrivals);
    }

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            throw new InvalidOperationException("the run is complete");
        }
    }

    /// <summary>One tick, inlined into the loop over a chunk (a call per tick and its register saves showed in the profile).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ReplayTick(long arrivals)
    {
        var t = _tick;

        _slo.Advance(t);
        _tickViolations = 0;

        // 1. Loads that complete at t become ready (this tick's signal counts them); on a cluster, reclaimed and crashed
        // replicas stop serving.
        if (_cluster is not null)
        {
            var completed = _cluster.Advance(t, out var lost);
            _ready += completed - lost;
            _loading = _loads.Loading;
        }
        else if (_loading > 0)
        {
            _ready += _loads.CompleteDue(t);
            _loading = _loads.Loading;
        }

        // 2. The policy decides from the signal; the engine clamps and reconciles.
        RecordHistory();
        if (_cadence.DecisionDue())
        {
            Decide(t);
        }

        var fleet = _ready + _loading;
        if (fleet > _peak)
        {
            _peak = fleet;
        }

        _replicaSeconds += fleet * _tickSeconds;
        _loadingSeconds += _loading * _tickSeconds;
        _cluster?.Bill(t);

        // 3. Arrivals join the FIFO queue.
        if (arrivals < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(arrivals), $"arrivals at tick {t} ({arrivals}) must be >= 0");
        }

        _requests += arrivals;

        // 4. Ready replicas serve from the head; a fractional capacity carries its remainder.
        if (_queue.Depth > 0 || !ServedOnArrival(arrivals))
        {
            _queue.Enqueue(t, arrivals);
            Serve(t);
        }

        // 5. Requests older than the client timeout leave.
        if (_dropAfterTicks != long.MaxValue)
        {
            Drop(t);
        }

        _fleet.Observe(t, arrivals, _ready);
        _timeline?.Add(t, arrivals, _ready, _loading, _queue.Depth, _tickViolations);
        _tick = t + 1;
    }

    /// <summary>Ends the run: requests still queued and older than maxWait count as late.</summary>
    public CandidateResult Complete()
    {
        if (_completed)
        {
            throw new InvalidOperationException("the run is already complete");
        }

        _completed = true;
        var horizon = _tick;
        var state = (Horizon: horizon, LateAfter: _lateAfterTicks, Waits: _waits, Late: 0L, Left: 0L);
        _queue.ForEach(ref state, static (ref s, arrivalTick, count) =>
        {
            var age = s.Horizon - arrivalTick;
            s.Waits.Add(age, count);
            s.Left += count;
            if (age > s.LateAfter)
            {
                s.Late += count;
            }
        });
        _late += state.Late;
        _slo.Finish(horizon, state.Left, state.Late);
        _fleet.Finish(horizon);

        var loadMetrics = new Dictionary<string, double>(StringComparer.Ordinal);
        var holdDollars = _loads.Finish(horizon, loadMetrics);
        return new RunOutcome
        {
            Requests = _requests,
            Served = _served,
            Late = _late,
            Dropped = _dropped,
            QueuedAtEnd = state.Left,
            WaitP50Seconds = _waits.WaitTicks(50) * _tickSeconds,
            WaitP95Seconds = _waits.WaitTicks(95) * _tickSeconds,
            WaitP99Seconds = _waits.WaitTicks(99) * _tickSeconds,
            WaitMaxSeconds = _waits.Max * _tickSeconds,
            BilledSeconds = _replicaSeconds,
            IdleSeconds = _idleSeconds,
            LoadingSeconds = _loadingSeconds,
            HoldDollars = holdDollars,
            LoadMetrics = loadMetrics,
            ColdStarts = _coldStarts,
            PeakReplicas = _peak,
            EndReplicas = _ready,
            Start = _start,
            Ticks = horizon,
            Cluster = _cluster?.Metrics(horizon, horizon),
        }.Result(_spec, _settings, _slo, _fleet, _record, _timeline);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void RecordHistory()
    {
        var slot = _cadence.ObservedSlot();
        if (slot < 0)
        {
            return;
        }

        _history[slot] = new Observed(_requests, _served, _queue.Depth);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Decide(long t)
    {
        // The observed tick's cumulative counts, less those an interval earlier; before tick 0 they were zero.
        var at = _cadence.Begin(t, out var from);
        long queue = 0, arrivals = 0, served = 0;
        if (at >= 0)
        {
            ref readonly var observed = ref _history[at];
            (queue, arrivals, served) = (observed.Queue, observed.Arrivals, observed.Served);
            if (from >= 0)
            {
                ref readonly var before = ref _history[from];
                arrivals -= before.Arrivals;
                served -= before.Served;
            }
        }

        // The count replay's signal has no serving signals. Written in place: building a fresh one (by a constructor, an
        // initializer or a FleetState) stores and copies the whole value, and that showed in the profile.
        ref var signal = ref _signal;
        SignalFields.Now(ref signal) = _cadence.Now;
        SignalFields.Ready(ref signal) = _ready;
        SignalFields.Loading(ref signal) = _loading;
        SignalFields.Queue(ref signal) = queue;
        SignalFields.Arrivals(ref signal) = arrivals;
        SignalFields.Served(ref signal) = served;
        var desired = DecisionCadence.Ask(_policy, in signal, t, _record, _fleet, out var decision);
        // Kept as its two parts, the reason written only when it changes: a reference stored in the run every tick went
        // through the collector's write barrier every tick.
        _lastDesired = decision.DesiredReplicas;
        if (!ReferenceEquals(_lastReason, decision.Reason))
        {
            _lastReason = decision.Reason;
        }

        if (desired != _ready + _loading)
        {
            Reconcile(t, desired);
            _loading = _loads.Loading;
        }
    }

    private void Reconcile(long t, int desired)
    {
        var outcome = Reconciliation.Apply(t, desired, _ready, _loading, _loads, _fleet, ref _coldStarts, ref _startOrdinal);
        _ready += outcome.ReadyNow - outcome.Release;
    }

    /// <summary>
    /// With no request waiting before this tick, serves its <paramref name="arrivals"/> when they can all start at once (the
    /// common tick), as queueing them and serving from the head would, without the queue; false (nothing done) when they
    /// cannot.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool ServedOnArrival(long arrivals)
    {
        var budget = _ready * _capacityPerTick + _carry;
        if (Math.Floor(budget) < arrivals)
        {
            return false;
        }

        _idleSeconds += (budget - arrivals) / _capacity;
        _carry = 0;
        _waits.AddZero(arrivals);
        _served += arrivals;
        _slo.Complete(arrivals, 0);
        return true;
    }

    private void Serve(long t)
    {
        // Capacity the queue cannot use is idle, and idle capacity is not banked: the fractional
        // remainder carries to the next tick only while requests are waiting for it.
        var budget = _ready * _capacityPerTick + _carry;
        var whole = Math.Floor(budget);
        long toServe;
        if (whole >= _queue.Depth)
        {
            toServe = _queue.Depth;
            _idleSeconds += (budget - toServe) / _capacity;
            _carry = 0;
        }
        else
        {
            toServe = (long)whole;
            _carry = budget - whole;
        }

        var served = toServe;
        while (toServe > 0)
        {
            var n = _queue.DequeueFromHead(toServe, out var arrivalTick);
            toServe -= n;
            var wait = t - arrivalTick;
            _waits.Add(wait, n);
            if (wait > _lateAfterTicks)
            {
                _late += n;
                _tickViolations += n;
            }
        }

        _served += served;
        _slo.Complete(served, _tickViolations);
    }

    private void Drop(long t)
    {
        while (_queue.Depth > 0 && t - _queue.OldestTick > _dropAfterTicks)
        {
            var n = _queue.DequeueFromHead(long.MaxValue, out var arrivalTick);
            _dropped += n;
            _waits.Add(t - arrivalTick, n);
            _tickViolations += n;
            _slo.Complete(n, n);
        }
    }

    /// <summary>What a decision observes of a tick: the cumulative arrivals and requests served before it, and the queue at its start.</summary>
    private readonly record struct Observed(long Arrivals, long Served, long Queue);

    /// <summary>The count replay's one conversion of a time to its clock: the whole ticks within it (none: never).</summary>
    private long WholeTicksWithin(Duration? time) => time is { } t ? t.ToInt64Nanoseconds() / _tickNanos : long.MaxValue;
}
