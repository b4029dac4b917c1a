using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;

namespace Autoscale.Backtesting.Serving;

/// <summary>
/// What the two serving replays (request by request, <see cref="ServingRun"/>, and as a fluid, <see cref="FluidRun"/>)
/// share: the candidate's policy, loads and ledgers, the signals a decision observes (kept only at the ticks it observes
/// them) and the decision with its reconciliation (loads started or cancelled newest first, then ready replicas
/// released). How replicas become ready, are released and serve is each replay's own.
/// </summary>
internal abstract class ServingRunBase : Engine.ICandidateReplay
{
    protected readonly CandidateSpec _spec;
    protected readonly ReplaySettings _settings;
    protected readonly ServingProfile _p;

    /// <summary>The most requests a replica holds at once (the policy's <see cref="IReplicaRequestLimit"/>); 0 for no limit.</summary>
    protected readonly int _requestCap;

    /// <summary>The most requests a replica runs at once: maxSequences, or the request limit when that is lower.</summary>
    protected readonly int _maxRunning;
    protected readonly ServingWorkload _w;
    protected readonly IScalingPolicy _policy;
    protected readonly DecisionRecord _record;
    protected readonly long _tickNanos;
    protected readonly double _tickSeconds;
    protected readonly DecisionStep _step;
    protected readonly SloLedger _slo;
    protected readonly FleetLedger _fleet;
    protected readonly TimelineRecorder? _timeline;
    protected readonly ILoadSimulation _loads;

    /// <summary>On a cluster: its nodes (and <see cref="_loads"/> is it); null otherwise.</summary>
    protected readonly Cluster.ClusterSimulation? _cluster;

    /// <summary>On a cluster: requests dropped, and requests put back at the gateway's head, because their replica was reclaimed or crashed.</summary>
    protected long _requestsLost, _requestsRetried;
    protected readonly Snapshot[] _history;
    private DecisionCadence _cadence;

    protected long _tick;

    // The ticks replayed so far (each replay's AdvanceTo goes on from here).
    protected long _stepped;
    protected int _loading;
    protected int _peak;
    protected long _coldStarts, _startOrdinal;
    protected double _replicaSeconds, _loadingSeconds, _readySeconds, _drainBilledSeconds;
    private long _observedTick;
    private bool _completed;

    protected ServingRunBase(CandidateSpec spec, ReplaySettings settings, ServingWorkload workload, long timelineBucketTicks, bool zoomWorstHour, ServingPool pool = ServingPool.Colocated)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(workload);
        _p = spec.Serving ?? settings.Serving ?? throw new ArgumentException("the settings have no serving profile", nameof(settings));

        // The candidate's shape (its GPUs and price, its serving profile) and its own cluster, checked as the config's are.
        settings = spec.On(settings) with { Serving = _p };
        InvalidOptionsException.ThrowIfAny(settings.Validate());
        InvalidOptionsException.ThrowIfAny(spec.CadenceErrors());

        _spec = spec;
        _settings = settings;
        _w = workload;
        _policy = spec.PolicyFactory();
        _requestCap = _policy is IReplicaRequestLimit limit ? Math.Max(0, limit.MaxRequestsPerReplica) : 0;
        _maxRunning = _requestCap > 0 ? Math.Min(_p.MaxSequences, _requestCap) : _p.MaxSequences;
        _record = new DecisionRecord(_policy, settings.MaxReplicas);
        _tickNanos = settings.Tick.ToInt64Nanoseconds();
        _tickSeconds = settings.TickSeconds;
        _cadence = new DecisionCadence(spec.DecisionIntervalTicks, spec.MetricsDelayTicks, settings.Tick, workload.Start);
        Pool = pool;
        NominalCapacity = _p.NominalRate(workload.MeanInputTokens, workload.MeanOutputTokens, pool);
        _performance = _p.Performance(settings.Replica.Gpus);
        _step = new DecisionStep(_cadence.Interval, NominalCapacity, spec.LoadTime.ExpectedLoadTime, settings.MaxReplicas);
        _slo = new SloLedger(_tickNanos, settings.Slo.TargetPercent);
        _fleet = new FleetLedger(_tickSeconds, NominalCapacity * _tickSeconds, settings.BillingGranularity.TotalSeconds, settings.BillingMinimum.TotalSeconds);
        _timeline = timelineBucketTicks > 0 ? new TimelineRecorder(timelineBucketTicks, _tickSeconds, zoomWorstHour, _tickNanos) : null;
        _loads = Cluster.ClusterSimulation.LoadsFor(spec, settings, workload.Start, timelineBucketTicks, drainsOnRelease: true, out _cluster);

        // Signals are kept only at the ticks a decision observes (every decision interval, metricsDelay before it).
        _history = new Snapshot[_cadence.HistoryLength];
    }

    /// <summary>A replica's nominal request rate at the workload's mean tokens: the signal's capacity per replica.</summary>
    public double NominalCapacity { get; }

    /// <summary>The tick being replayed.</summary>
    public long Tick => _tick;

    /// <summary>The pool this run replays: the whole fleet, or one pool of a disaggregated fleet.</summary>
    public ServingPool Pool { get; }

    /// <summary>For a decode pool: the prefill pool's replicas (ready and loading) after its decision at this tick, which the signal shows.</summary>
    internal int PeerReplicas { get; set; }

    /// <summary>Replicas ready and loading now.</summary>
    internal int Replicas => ReadyCount + _loading;

    private readonly ServingPerformance _performance;

    /// <summary>The decision step the run builds its signals with (its capacity is <see cref="NominalCapacity"/>).</summary>
    internal DecisionStep DecisionStep => _step;

    /// <summary>Stops the replay: checked every <see cref="CheckEvery"/> events of a replay's inner loops, so a run whose ticks hold millions of steps still ends within a fraction of a second.</summary>
    internal CancellationToken Cancellation { get; set; }

    private const int CheckEvery = 4096;
    private int _sinceCheck;

    /// <summary>Counts one event of an inner loop; every <see cref="CheckEvery"/>, throws <see cref="OperationCanceledException"/> when the replay is cancelled.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    protected void CheckCancelled()
    {
        if (++_sinceCheck >= CheckEvery)
        {
            _sinceCheck = 0;
            Cancellation.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Ready replicas now.</summary>
    protected abstract int ReadyCount { get; }

    /// <summary>Replays every tick of the workload, then the drain.</summary>
    public CandidateResult Run()
    {
        AdvanceTo(_w.Ticks);
        return Complete();
    }

    /// <summary>Replays the ticks before <paramref name="tick"/> not replayed yet (each replay's own loop: its step is not virtual).</summary>
    public abstract void AdvanceTo(long tick);

    /// <summary>Ticks replayed so far.</summary>
    public long Replayed => _stepped;

    /// <summary>After the last tick: the drain, then the candidate's result. Once only.</summary>
    /// <exception cref="InvalidOperationException">The run is already complete.</exception>
    public abstract CandidateResult Complete();

    /// <summary>A replica is ready from the start of tick <paramref name="t"/> (the first fleet, or a load that takes no time).</summary>
    protected abstract void AddReady(long t);

    /// <summary>Releases <paramref name="count"/> ready replicas at the start of tick <paramref name="t"/>.</summary>
    protected abstract void Release(int count, long t);

    /// <summary>After the fleet was reconciled at tick <paramref name="t"/>: replicas were started or released.</summary>
    protected virtual void Reconciled(long t)
    {
    }

    /// <summary>Marks the run complete; a second completion is a mistake of the caller's.</summary>
    /// <exception cref="InvalidOperationException">The run is already complete.</exception>
    protected void Completing()
    {
        if (_completed)
        {
            throw new InvalidOperationException("the run is already complete");
        }

        _completed = true;
    }

    /// <summary>Keeps the signals of the tick being replayed, which a decision observes, in history slot <paramref name="slot"/>.</summary>
    protected abstract void RecordHistory(int slot);

    /// <summary>
    /// Step 2 of tick <paramref name="t"/>: the signals kept, the policy asked when its interval has come round and the
    /// fleet reconciled; then the fleet counted and billed for the tick.
    /// </summary>
    protected void DecideWhenDue(long t)
    {
        // Tick t's signals are kept when a decision observes them (the cadence counts the ticks, which come one by one).
        System.Diagnostics.Debug.Assert(t == _observedTick, "ticks come one by one");
        _observedTick++;
        if (_cadence.ObservedSlot() is var slot and >= 0)
        {
            RecordHistory(slot);
        }

        if (_cadence.DecisionDue())
        {
            Decide(t);
        }

        var ready = ReadyCount;
        var fleet = ready + _loading;
        _peak = Math.Max(_peak, fleet);
        _replicaSeconds += fleet * _tickSeconds;
        _loadingSeconds += _loading * _tickSeconds;
        _readySeconds += ready * _tickSeconds;
        _cluster?.Bill(t);
    }

    /// <summary>The bill of a serving run once its drain is over: what the load paths held, the seconds billed, the cluster's figures and the dollars.</summary>
    protected readonly record struct ServingBill(Dictionary<string, double> LoadMetrics, double HoldDollars, double BilledSeconds, Cluster.ClusterMetrics? Cluster, double Dollars);

    /// <summary>Settles the bill at the end of a run of <paramref name="horizon"/> ticks whose cluster was billed for <paramref name="clusterTicks"/>.</summary>
    protected ServingBill SettleBill(long horizon, long clusterTicks)
    {
        var loadMetrics = new Dictionary<string, double>(StringComparer.Ordinal);
        var holdDollars = _loads.Finish(horizon, loadMetrics);
        var billed = _replicaSeconds + _drainBilledSeconds;
        var cluster = ClusterMetrics(clusterTicks);
        return new ServingBill(loadMetrics, holdDollars, billed, cluster, Dollars(cluster, billed, _fleet, _settings, holdDollars));
    }

    /// <summary>
    /// The one ledger of both serving replays: the run's counts, waits (at the percentiles every result reports), bill
    /// and serving figures as a <see cref="RunOutcome"/>, judged into the candidate's result.
    /// </summary>
    protected CandidateResult Ledger(long horizon, in ServingBill bill, (long Requests, long Served, long Late, long Dropped) counts,
        Func<double, double> waitPercentile, double idleSeconds, int endReplicas, IEnumerable<string> warnings, ServingMetrics serving) =>
        new RunOutcome
        {
            Requests = counts.Requests,
            Served = counts.Served,
            Late = counts.Late,
            Dropped = counts.Dropped,
            QueuedAtEnd = 0,
            WaitP50Seconds = waitPercentile(50),
            WaitP95Seconds = waitPercentile(95),
            WaitP99Seconds = waitPercentile(99),
            WaitMaxSeconds = waitPercentile(100),
            BilledSeconds = bill.BilledSeconds,
            IdleSeconds = idleSeconds,
            LoadingSeconds = _loadingSeconds,
            HoldDollars = bill.HoldDollars,
            LoadMetrics = bill.LoadMetrics,
            ColdStarts = _coldStarts,
            PeakReplicas = _peak,
            EndReplicas = endReplicas,
            Start = _w.Start,
            Ticks = horizon,
            Warnings = warnings,
            Serving = serving,
            Cluster = bill.Cluster,
        }.Result(_spec, _settings, _slo, _fleet, _record, _timeline);

    /// <summary>On a cluster: its figures, with the requests lost or retried; committed nodes billed for the trace's span.</summary>
    protected Cluster.ClusterMetrics? ClusterMetrics(long billedTicks) =>
        _cluster?.Metrics(billedTicks, _w.Ticks) is { } metrics ? metrics with { RequestsLost = _requestsLost, RequestsRetried = _requestsRetried } : null;

    /// <summary>What the run costs: node dollars on a cluster, else the replicas' billed seconds.</summary>
    protected static double Dollars(Cluster.ClusterMetrics? cluster, double billedSeconds, FleetLedger fleet, ReplaySettings settings, double holdDollars) =>
        cluster is { } c ? c.NodeDollars + holdDollars : RunOutcome.Dollars(billedSeconds, fleet, settings, holdDollars);

    /// <summary>Asks the policy from the signals observed for tick <paramref name="t"/>, then reconciles the fleet.</summary>
    protected void Decide(long t)
    {
        var ready = ReadyCount;
        var at = _cadence.Begin(t, out var from);
        var now = _cadence.Now;

        // The observed tick's cumulative signals, less the previous observation's (none before the first interval); before
        // tick 0 every count was zero and no first token had come.
        ref readonly var seen = ref at >= 0 ? ref _history[at] : ref NothingYet;
        ref readonly var before = ref from >= 0 ? ref _history[from] : ref NothingYet;
        var signal = new ScalingSignal(now, _cadence.Interval, ready, _loading, seen.Waiting, seen.Arrivals - before.Arrivals, NominalCapacity, _step.ExpectedLoadTime)
        {
            ServedLastInterval = seen.Admissions - before.Admissions,
            MaxReplicas = _step.MaxReplicas,
            HasServingSignals = true,
            RunningRequests = seen.Running,
            KvCacheUtilization = seen.KvUtilization,
            PrefixCacheHitRate = seen.PromptTokens > before.PromptTokens ? (double)(seen.CachedPromptTokens - before.CachedPromptTokens) / (seen.PromptTokens - before.PromptTokens) : 0,
            InputTokensLastInterval = seen.Input - before.Input,
            OutputTokensLastInterval = seen.Output - before.Output,
            TtftP50LastInterval = at < 0 || seen.TtftP50Nanos < 0 ? null : Duration.FromNanoseconds(seen.TtftP50Nanos),
            TtftP95LastInterval = at < 0 || seen.TtftP95Nanos < 0 ? null : Duration.FromNanoseconds(seen.TtftP95Nanos),
            TtftMeanLastInterval = seen.FirstTokens > before.FirstTokens ? Duration.FromNanoseconds((long)Math.Round((seen.TtftNanos - before.TtftNanos) / (seen.FirstTokens - before.FirstTokens))) : null,
            ItlMeanLastInterval = seen.DecodedTokens > before.DecodedTokens ? Duration.FromNanoseconds((long)Math.Round((seen.ItlNanos - before.ItlNanos) / (seen.DecodedTokens - before.DecodedTokens))) : null,
            Pool = Pool,
            PrefillReplicas = PeerReplicas,
            Performance = _performance,
        };
        var desired = DecisionCadence.Ask(_policy, in signal, t, _record, _fleet, out _);
        Reconcile(t, desired);
        _loading = _loads.Loading;
    }

    private void Reconcile(long t, int desired)
    {
        var outcome = Reconciliation.Apply(t, desired, ReadyCount, _loading, _loads, _fleet, ref _coldStarts, ref _startOrdinal);
        for (var i = 0; i < outcome.ReadyNow; i++)
        {
            AddReady(t);
        }

        if (outcome.Release > 0)
        {
            Release(outcome.Release, t);
        }

        if (outcome.Changed)
        {
            Reconciled(t);
        }
    }

    private static readonly Snapshot NothingYet;

    /// <summary>
    /// The signals of one observed tick: cumulative counts, and the fleet's state then (the interval's TTFT percentiles in
    /// whole nanoseconds, -1 when no first token came). Written field by field into its history slot.
    /// </summary>
    protected struct Snapshot
    {
        public long Arrivals, Admissions, Waiting, Running, Input, Output;
        public long PromptTokens, CachedPromptTokens;
        public double KvUtilization;
        public long TtftP50Nanos, TtftP95Nanos;

        // Cumulative: first tokens and their TTFT, decoded tokens and their step time (each token's inter-token latency).
        public long FirstTokens, DecodedTokens;
        public double TtftNanos, ItlNanos;
    }
}
