using System.Collections.Concurrent;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Serving;
using Autoscale.Traces;
using NodaTime;

namespace Autoscale.Config.Tuning;

/// <summary>
/// The trace a tune replays, read once and shared by every evaluation: any window of ticks replays as a backtest of that
/// window alone. Safe to use from several threads.
/// </summary>
public abstract class TuneData
{
    protected TuneData(Instant start, Duration tick, long ticks)
    {
        Start = start;
        Tick = tick;
        Ticks = ticks;
    }

    public Instant Start { get; }

    public Duration Tick { get; }

    public long Ticks { get; }

    /// <summary>
    /// Reads the trace at <paramref name="path"/> once, for the count model or (with a serving profile) as the serving
    /// workload every candidate replays; the workload's requests are checked against each target's replica shape.
    /// </summary>
    /// <exception cref="ServingWorkloadException">A request does not fit a serving profile, or tokens are missing.</exception>
    public static async Task<TuneData> ReadAsync(string path, ReplaySettings settings, IReadOnlyList<TuneTarget> targets, CancellationToken cancellationToken)
    {
        var reader = await TraceReader.OpenAsync(path, settings.Tick, cancellationToken: cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        if (settings.Serving is not { } profile)
        {
            return new Counts(await reader.ReadAllAsync(cancellationToken).ConfigureAwait(false));
        }

        if (reader.Info.Shape == TraceShape.RequestLog && settings.WorkProblem(reader.Info.Rows) is { } tooLong)
        {
            throw new ServingWorkloadException($"{path}: {tooLong}");
        }

        var workload = await ServingWorkload.ReadAsync(reader, profile, settings.Seed, path, cancellationToken).ConfigureAwait(false);
        Backtest.CheckShapes(workload, targets.Select(t => t.Baseline).ToList(), path);
        return new Serving(workload);
    }

    /// <summary>Requests in the whole trace.</summary>
    public abstract long Requests { get; }

    /// <summary>Requests arriving in ticks [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public abstract long RequestsIn(long from, long to);

    /// <summary>
    /// Replays ticks [<paramref name="from"/>, <paramref name="to"/>) for <paramref name="spec"/> alone. A serving replay
    /// judges capacity at the mean tokens of [<paramref name="from"/>, <paramref name="meansTo"/>) (the training days of the
    /// window), so replays that share a start run alike until the shorter one ends. A policy that throws gives a failed result.
    /// </summary>
    public CandidateResult Replay(CandidateSpec spec, ReplaySettings settings, long from, long to, long meansTo, int timelinePoints = 0)
    {
        try
        {
            return Run(spec, settings, from, to, meansTo, timelinePoints);
        }
        catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
        {
            return new CandidateResult { Name = spec.Name, Policy = spec.PolicyName, Error = $"{e.GetType().Name}: {e.Message}" };
        }
    }

    /// <summary>Lets go of what was kept for the windows replayed so far (a training window is done with them).</summary>
    public virtual void Forget()
    {
    }

    /// <summary>
    /// Replays ticks [<paramref name="from"/>, <paramref name="to"/>) as <see cref="Replay"/> does, and counts each day
    /// (<paramref name="days"/>: each day's first tick, then the window's end) alone: the requests arriving that day and the
    /// violations that happen on it.
    /// </summary>
    public (CandidateResult Result, IReadOnlyList<(long Requests, long Violations)> Days) Evaluate(CandidateSpec spec, ReplaySettings settings, long from, long to, long meansTo, IReadOnlyList<long> days)
    {
        // Buckets that every day boundary falls between: the days add up exactly, a day of 23 or 25 hours too.
        var bucket = days.Aggregate(0L, (g, d) => Gcd(g, d - from));
        CandidateResult result;
        try
        {
            result = RunBucketed(spec, settings, from, to, meansTo, Math.Max(1, bucket));
        }
        catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
        {
            return (new CandidateResult { Name = spec.Name, Policy = spec.PolicyName, Error = $"{e.GetType().Name}: {e.Message}" }, []);
        }

        if (result.Failed)
        {
            return (result, []);
        }

        var counts = new List<(long, long)>();
        var points = result.Timeline.Points;
        var tickSeconds = settings.TickSeconds;
        var p = 0;
        for (var d = 0; d + 1 < days.Count; d++)
        {
            var end = (days[d + 1] - from) * tickSeconds;
            double requests = 0;
            long violations = 0;
            for (; p < points.Count && points[p].StartSeconds < end - (tickSeconds / 2); p++)
            {
                requests += points[p].DemandRps * result.Timeline.BucketSeconds;
                violations += points[p].Violations;
            }

            counts.Add(((long)Math.Round(requests), violations));
        }

        return (result with { Timeline = Timeline.Empty }, counts);
    }

    private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);

    protected abstract CandidateResult Run(CandidateSpec spec, ReplaySettings settings, long from, long to, long meansTo, int timelinePoints);

    /// <summary>Replays the window with a timeline of <paramref name="bucket"/> ticks a point.</summary>
    protected abstract CandidateResult RunBucketed(CandidateSpec spec, ReplaySettings settings, long from, long to, long meansTo, long bucket);

    /// <summary>A count-model trace: per-tick arrivals, replayed from a span of the one array.</summary>
    public sealed class Counts(TickTrace trace) : TuneData(trace.Start, trace.Tick, trace.Length)
    {
        public override long Requests => trace.TotalRequests;

        public override long RequestsIn(long from, long to)
        {
            long sum = 0;
            foreach (var n in trace.Arrivals.AsSpan((int)from, (int)(to - from)))
            {
                sum += n;
            }

            return sum;
        }

        protected override CandidateResult Run(CandidateSpec spec, ReplaySettings settings, long from, long to, long meansTo, int timelinePoints) =>
            RunBucketed(spec, settings, from, to, meansTo, Backtest.TimelineBucket(to - from, timelinePoints));

        protected override CandidateResult RunBucketed(CandidateSpec spec, ReplaySettings settings, long from, long to, long meansTo, long bucket)
        {
            // A policy that throws fails the setting as a backtest fails a candidate: when created, or at its tick.
            return Backtest.RunWindow(trace, from, to, settings, spec, bucket);
        }
    }

    /// <summary>A serving workload: each window cut once (and kept while it is in use) and replayed request by request or fluidly.</summary>
    public sealed class Serving(ServingWorkload workload) : TuneData(workload.Start, workload.Tick, workload.Ticks)
    {
        private readonly ConcurrentDictionary<(long From, long To), (double Input, double Output)> _means = new();
        private readonly ConcurrentDictionary<(long From, long To, long MeansTo), Lazy<ServingWorkload>> _windows = new();

        public override long Requests => workload.Count;

        public override long RequestsIn(long from, long to) => workload.Window(from, to).Count;

        protected override CandidateResult Run(CandidateSpec spec, ReplaySettings settings, long from, long to, long meansTo, int timelinePoints) =>
            RunBucketed(spec, settings, from, to, meansTo, Backtest.TimelineBucket(to - from, timelinePoints));

        protected override CandidateResult RunBucketed(CandidateSpec spec, ReplaySettings settings, long from, long to, long meansTo, long bucket)
        {
            var means = _means.GetOrAdd((from, meansTo), key =>
            {
                var w = workload.Window(key.From, key.To);
                return (w.MeanInputTokens, w.MeanOutputTokens);
            });
            var window = _windows.GetOrAdd((from, to, meansTo), key => new Lazy<ServingWorkload>(() => workload.Window(key.From, key.To, means))).Value;
            return Backtest.RunServingOne(window, settings, spec, bucket);
        }

        /// <summary>Forgets the windows cut so far (a fold is done with them).</summary>
        public override void Forget() => _windows.Clear();
    }
}
