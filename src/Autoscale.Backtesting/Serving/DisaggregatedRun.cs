using Autoscale.Backtesting.Engine;

namespace Autoscale.Backtesting.Serving;

/// <summary>
/// One candidate's request-level replay on a disaggregated fleet: a prefill pool and a decode pool, each a
/// <see cref="ServingRun"/> with its own policy, load-time model, profile and price, and the KV cache transfers between
/// them (<see cref="KvHandoffs"/>). Each tick the prefill pool runs first (its decision, its steps up to the next tick),
/// then the decode pool, whose arrivals are the transfers that ended by then: a transfer takes a positive time, so every
/// one the decode pool takes in a tick was sent earlier. docs/serving.md, "Disaggregated prefill and decode", states the
/// model.
/// </summary>
/// <remarks>Not thread-safe; one run per thread.</remarks>
internal sealed class DisaggregatedRun : ICandidateReplay
{
    private readonly ServingRun _prefill;
    private readonly ServingRun _decode;
    private readonly KvHandoffs _handoffs;
    private readonly CandidateSpec _spec;
    private readonly ServingWorkload _w;
    private long _stepped;
    private int _peak;
    private bool _completed;

    public DisaggregatedRun(CandidateSpec spec, ReplaySettings settings, ServingWorkload workload, long timelineBucketTicks = 0, bool zoomWorstHour = false, bool recordRequests = false)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(workload);
        var pools = spec.Pools ?? throw new ArgumentException($"candidate \"{spec.Name}\" names no policy per pool", nameof(spec));
        var fleet = (spec.Serving ?? settings.Serving)?.Disaggregation
            ?? throw new InvalidOptionsException([new OptionError("replica.serving.disaggregation", $"candidate \"{spec.Name}\" has a policy per pool (policies), but the serving profile has no disaggregation")]);
        if (settings.FluidServing)
        {
            throw new InvalidOptionsException([new OptionError("engine.serving", "disaggregated pools are replayed request by request: engine.serving must be \"request\"")]);
        }

        if ((spec.Cluster ?? settings.Cluster) is not null)
        {
            throw new InvalidOptionsException([new OptionError("cluster", "disaggregated pools are not replayed on a cluster yet: leave cluster out")]);
        }

        _spec = spec;
        _w = workload;
        _handoffs = new KvHandoffs(fleet.Transfer, fleet.Prefill.BlockTokens);
        var prefill = pools.Prefill with { Name = spec.Name, Serving = fleet.Prefill, Replica = fleet.PrefillReplica, Cluster = null };
        var decode = pools.Decode with { Name = spec.Name, Serving = fleet.Decode, Replica = fleet.DecodeReplica, Cluster = null };
        _prefill = new ServingRun(prefill, settings, workload, ServingPool.Prefill, _handoffs, timelineBucketTicks, zoomWorstHour, recordRequests);
        _decode = new ServingRun(decode, settings, workload, ServingPool.Decode, _handoffs, timelineBucketTicks, zoomWorstHour, recordRequests);
    }

    /// <summary>Stops the replay (both pools').</summary>
    internal CancellationToken Cancellation
    {
        set
        {
            _prefill.Cancellation = value;
            _decode.Cancellation = value;
        }
    }

    /// <summary>The decode pool's run (tests read each request's times from it: the clients').</summary>
    internal ServingRun DecodePool => _decode;

    /// <summary>The prefill pool's run (with recordRequests, each request's prefill: its first token is the prefill's end).</summary>
    internal ServingRun PrefillPool => _prefill;

    /// <summary>Nanoseconds a prompt of <paramref name="input"/> tokens takes to move.</summary>
    internal long TransferNanos(int input) => _handoffs.TransferNanos(input);

    public long Replayed => _stepped;

    public long Tick => _decode.Tick;

    public void AdvanceTo(long tick)
    {
        for (var t = _stepped; t < Math.Min(tick, _w.Ticks); t++)
        {
            _prefill.AdvanceTo(t + 1);

            // The decode pool's policy sees the prefill pool as its decision left it (pd-ratio scales from it).
            _decode.PeerReplicas = _prefill.Replicas;
            _decode.AdvanceTo(t + 1);
            _peak = Math.Max(_peak, _prefill.Replicas + _decode.Replicas);
        }

        _stepped = Math.Max(_stepped, Math.Min(tick, _w.Ticks));
    }

    public CandidateResult Complete()
    {
        if (_completed)
        {
            throw new InvalidOperationException("the run is already complete");
        }

        _completed = true;
        _prefill.BeginDrain();
        _decode.BeginDrain();
        var t = _w.Ticks;
        while (true)
        {
            var prefilling = _prefill.DrainTick(t);
            var decoding = _decode.DrainTick(t);
            if (!prefilling && !decoding)
            {
                break;
            }

            _peak = Math.Max(_peak, _prefill.Replicas + _decode.Replicas);
            t++;
        }

        // The prefill pool's leftovers are dropped first, so the decode pool counts them.
        var prefill = _prefill.EndDrain(t);
        var decode = _decode.EndDrain(t);
        return Totals(prefill, decode);
    }

    /// <summary>
    /// The candidate's result: the requests as their clients saw them (the decode pool's ledger, which counts every request,
    /// those the prefill pool dropped too); replicas, dollars and decisions of both pools together; each pool's own under
    /// <see cref="CandidateResult.Pools"/>.
    /// </summary>
    private CandidateResult Totals(CandidateResult prefill, CandidateResult decode)
    {
        var dollars = prefill.Dollars + decode.Dollars;
        var serving = decode.Serving is { } s
            ? s with
            {
                DollarsPerMillionTokens = double.IsNaN(s.DollarsPerMillionTokens) || decode.Dollars <= 0 ? s.DollarsPerMillionTokens : s.DollarsPerMillionTokens * dollars / decode.Dollars,
                PrefixCacheHitRate = prefill.Serving?.PrefixCacheHitRate,
                Preemptions = s.Preemptions + (prefill.Serving?.Preemptions ?? 0),
            }
            : null;
        return decode with
        {
            Policy = $"{prefill.Policy} (prefill) + {decode.Policy} (decode)",
            WaitP50Seconds = prefill.WaitP50Seconds,
            WaitP95Seconds = prefill.WaitP95Seconds,
            WaitP99Seconds = prefill.WaitP99Seconds,
            WaitMaxSeconds = prefill.WaitMaxSeconds,
            ScaleActions = prefill.ScaleActions + decode.ScaleActions,
            Flaps = prefill.Flaps + decode.Flaps,
            CapacityLagMaxSeconds = Math.Max(prefill.CapacityLagMaxSeconds, decode.CapacityLagMaxSeconds),
            CapacityLagMeanSeconds = prefill.CapacityLagEpisodes + decode.CapacityLagEpisodes > 0
                ? ((prefill.CapacityLagMeanSeconds * prefill.CapacityLagEpisodes) + (decode.CapacityLagMeanSeconds * decode.CapacityLagEpisodes)) / (prefill.CapacityLagEpisodes + decode.CapacityLagEpisodes)
                : 0,
            CapacityLagEpisodes = prefill.CapacityLagEpisodes + decode.CapacityLagEpisodes,
            RoundingDollars = prefill.RoundingDollars + decode.RoundingDollars,
            Timeline = Sum(prefill.Timeline, decode.Timeline),
            ReplicaSeconds = prefill.ReplicaSeconds + decode.ReplicaSeconds,
            IdleReplicaSeconds = prefill.IdleReplicaSeconds + decode.IdleReplicaSeconds,
            LoadingReplicaSeconds = prefill.LoadingReplicaSeconds + decode.LoadingReplicaSeconds,
            Dollars = dollars,
            IdleDollars = prefill.IdleDollars + decode.IdleDollars,
            LoadingDollars = prefill.LoadingDollars + decode.LoadingDollars,
            HoldDollars = prefill.HoldDollars + decode.HoldDollars,
            LoadMetrics = Prefixed(prefill.LoadMetrics, decode.LoadMetrics),
            CostDollars = prefill.CostDollars + decode.CostDollars,
            ColdStarts = prefill.ColdStarts + decode.ColdStarts,
            PeakReplicas = Math.Max(_peak, prefill.EndReplicas + decode.EndReplicas),
            EndReplicas = prefill.EndReplicas + decode.EndReplicas,
            PolicyMetrics = Prefixed(prefill.PolicyMetrics, decode.PolicyMetrics),
            Warnings = new TextList([.. prefill.Warnings.Select(w => "prefill pool: " + w), .. decode.Warnings.Select(w => "decode pool: " + w)]),
            Serving = serving,
            Pools = new PoolResults(prefill, decode),
        };
    }

    private static MetricSet Prefixed(MetricSet prefill, MetricSet decode) =>
        new([.. prefill.Select(m => KeyValuePair.Create("prefill." + m.Key, m.Value)), .. decode.Select(m => KeyValuePair.Create("decode." + m.Key, m.Value))]);

    /// <summary>The fleet's timeline: both pools' replicas point by point; the demand at the gateway (the prefill pool's); the clients' violations (the decode pool's).</summary>
    private static Timeline Sum(Timeline prefill, Timeline decode)
    {
        if (prefill.Points.Count != decode.Points.Count)
        {
            return decode;
        }

        var points = prefill.Points.Zip(decode.Points, (p, d) => d with
        {
            DemandRps = p.DemandRps,
            ReadyReplicas = p.ReadyReplicas + d.ReadyReplicas,
            LoadingReplicas = p.LoadingReplicas + d.LoadingReplicas,
            QueueMax = p.QueueMax + d.QueueMax,
        }).ToList();
        var zoom = prefill.Zoom is { } pz && decode.Zoom is { } dz && pz.Points.Count > 0 && dz.Points.Count > 0 && pz.Points[0].StartSeconds == dz.Points[0].StartSeconds
            ? Sum(pz, dz)
            : decode.Zoom;
        return new Timeline(points, decode.BucketSeconds) { Zoom = zoom };
    }
}
