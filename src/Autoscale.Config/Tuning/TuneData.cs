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
internal abstract class TuneData
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

    protected abstract CandidateResult Run(CandidateSpec spec, ReplaySettings settings, long from, long to, long meansTo, int timelinePoints);

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

        protected override CandidateResult Run(CandidateSpec spec, ReplaySettings settings, long from, long to, long meansTo, int timelinePoints)
        {
            var length = to - from;
            var run = new CandidateRun(spec, settings, Start + Tick * from, Backtest.TimelineBucket(length, timelinePoints), zoomWorstHour: false);
            run.Advance(trace.Arrivals.AsSpan((int)from, (int)length));
            return run.Complete();
        }
    }

    /// <summary>A serving workload: each window cut once (and kept while it is in use) and replayed request by request or fluidly.</summary>
    public sealed class Serving(ServingWorkload workload) : TuneData(workload.Start, workload.Tick, workload.Ticks)
    {
        private readonly ConcurrentDictionary<(long From, long To), (double Input, double Output)> _means = new();
        private readonly ConcurrentDictionary<(long From, long To, long MeansTo), Lazy<ServingWorkload>> _windows = new();

        public override long Requests => workload.Count;

        public override long RequestsIn(long from, long to) => workload.Window(from, to).Count;

        protected override CandidateResult Run(CandidateSpec spec, ReplaySettings settings, long from, long to, long meansTo, int timelinePoints)
        {
            var means = _means.GetOrAdd((from, meansTo), key =>
            {
                var w = workload.Window(key.From, key.To);
                return (w.MeanInputTokens, w.MeanOutputTokens);
            });
            var window = _windows.GetOrAdd((from, to, meansTo), key => new Lazy<ServingWorkload>(() => workload.Window(key.From, key.To, means))).Value;
            return Backtest.RunServing(window, settings, [spec], maxParallelism: 1, timelinePoints: timelinePoints)[0];
        }

        /// <summary>Forgets the windows cut so far (a fold is done with them).</summary>
        public override void Forget() => _windows.Clear();
    }
}
