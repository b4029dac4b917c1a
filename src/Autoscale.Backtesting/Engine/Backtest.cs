using Autoscale.Traces;

namespace Autoscale.Backtesting.Engine;

/// <summary>
/// Replays one trace against every candidate and ranks the results. Candidates advance together,
/// chunk by chunk (a row group of the trace at a time), in parallel across cores; results are the same
/// whatever the number of threads. A candidate whose policy throws is marked failed; the others finish.
/// </summary>
public static class Backtest
{
    /// <summary>
    /// Checks that every request of <paramref name="workload"/> fits the serving profile of each candidate's replica shape
    /// (its maxModelLen and KV cache), as reading the workload checked them against the config's.
    /// </summary>
    /// <exception cref="Serving.ServingWorkloadException">A request does not fit a shape; the message names both.</exception>
    public static void CheckShapes(Serving.ServingWorkload workload, IReadOnlyList<CandidateSpec> candidates, string name = "trace")
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(candidates);
        foreach (var shaped in candidates.Where(c => c.Serving is not null).DistinctBy(c => c.Shape))
        {
            workload.CheckFits(shaped.Serving!, $"replicas.{shaped.Shape}.serving", name);
        }
    }

    /// <summary>Replays an in-memory trace for one candidate (exceptions propagate).</summary>
    public static CandidateResult RunOne(TickTrace trace, ReplaySettings settings, CandidateSpec candidate)
    {
        var run = new CandidateRun(candidate, settings, trace.Start);
        run.Advance(trace.Arrivals);
        return run.Complete();
    }

    /// <summary>Replays an in-memory trace for every candidate and returns them ranked.</summary>
    public static IReadOnlyList<CandidateResult> Run(TickTrace trace, ReplaySettings settings, IReadOnlyList<CandidateSpec> candidates, int maxParallelism = -1, int timelinePoints = 0)
    {
        var runs = Start(candidates, settings, trace.Start, TimelineBucket(trace.Length, timelinePoints), ZoomWorstHour(trace.Length, settings, timelinePoints));
        AdvanceAll(runs, trace.Arrivals, maxParallelism);
        return Finish(runs, settings);
    }

    /// <summary>Streams a trace file through every candidate and returns them ranked.</summary>
    /// <param name="trace">The open trace; read once.</param>
    /// <param name="settings">Settings shared by every candidate.</param>
    /// <param name="candidates">The candidates.</param>
    /// <param name="maxParallelism">Threads to use (-1: every core).</param>
    /// <param name="timelinePoints">Record a timeline of about this many points per candidate (0: none).</param>
    /// <param name="progress">Told the share of ticks replayed after each chunk.</param>
    /// <param name="cancellationToken">Cancels the replay.</param>
    public static async Task<IReadOnlyList<CandidateResult>> RunAsync(TraceReader trace, ReplaySettings settings, IReadOnlyList<CandidateSpec> candidates,
        int maxParallelism = -1, int timelinePoints = 0, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        var runs = Start(candidates, settings, trace.Start, TimelineBucket(trace.Length, timelinePoints), ZoomWorstHour(trace.Length, settings, timelinePoints));
        long done = 0;

        // The next chunk is decoded on another thread while the candidates replay this one.
        var chunks = trace.ReadTicksAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using var chunksScope = chunks.ConfigureAwait(false);
        var next = Task.Run(() => chunks.MoveNextAsync().AsTask(), cancellationToken);
        while (await next.ConfigureAwait(false))
        {
            var chunk = chunks.Current;
            next = Task.Run(() => chunks.MoveNextAsync().AsTask(), cancellationToken);
            try
            {
                AdvanceAll(runs, chunk, maxParallelism);
            }
            catch
            {
                // Let the read in flight finish before the enumerator is disposed.
                await Task.WhenAny(next).ConfigureAwait(false);
                throw;
            }

            done += chunk.Length;
            progress?.Report(trace.Length == 0 ? 1 : (double)done / trace.Length);
        }

        return Finish(runs, settings);
    }

    /// <summary>
    /// Replays a serving workload request by request against every candidate (in parallel across cores) and returns
    /// them ranked. Needs <see cref="ReplaySettings.Serving"/>.
    /// </summary>
    public static IReadOnlyList<CandidateResult> RunServing(Serving.ServingWorkload workload, ReplaySettings settings, IReadOnlyList<CandidateSpec> candidates,
        int maxParallelism = -1, int timelinePoints = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workload);
        return RunServing(workload, settings, candidates, maxParallelism, TimelineBucket(workload.Ticks, timelinePoints), ZoomWorstHour(workload.Ticks, settings, timelinePoints), cancellationToken);
    }

    /// <summary>As the public overload, with the timeline's bucket given in ticks (0: no timeline).</summary>
    internal static IReadOnlyList<CandidateResult> RunServing(Serving.ServingWorkload workload, ReplaySettings settings, IReadOnlyList<CandidateSpec> candidates,
        int maxParallelism, long bucket, bool zoom, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(candidates);
        var results = new CandidateResult[candidates.Count];
        var runs = new Serving.ServingRunBase?[candidates.Count];
        var replayed = new long[candidates.Count];

        // Candidates advance a slice of ticks at a time, taken in turn from one queue by every thread that may run: each
        // thread stays busy until the last slices, however many candidates there are and however their costs differ (a
        // whole candidate per thread would leave one thread alone with the last). A short trace is cut into 16 slices;
        // those deciding most often (they take longest) go first. The results keep the candidates' order.
        var slice = Math.Clamp((workload.Ticks + 15) / 16, MinServingSliceTicks, ServingSliceTicks);
        var queue = new System.Collections.Concurrent.ConcurrentQueue<int>(Enumerable.Range(0, candidates.Count).OrderBy(i => candidates[i].DecisionIntervalTicks));
        bool Slice(int i)
        {
            var spec = candidates[i];
            try
            {
                var run = runs[i] ??= settings.FluidServing
                    ? new Serving.FluidRun(spec, settings, workload, bucket, zoom) { Cancellation = cancellationToken }
                    : new Serving.ServingRun(spec, settings, workload, bucket, zoom) { Cancellation = cancellationToken };
                replayed[i] = Math.Min(workload.Ticks, replayed[i] + slice);
                run.AdvanceTo(replayed[i]);
                if (replayed[i] < workload.Ticks)
                {
                    return true;
                }

                // The last slice: the drain and the result at once, so a run's memory goes as soon as it is done.
                results[i] = run.Complete();
                runs[i] = null;
                return false;
            }
            catch (Exception e) when (e is not (OutOfMemoryException or InvalidOptionsException or OperationCanceledException))
            {
                results[i] = Failed(spec, e, runs[i]?.Tick);
                runs[i] = null;
                return false;
            }
        }

        void Work()
        {
            try
            {
                while (!cancellationToken.IsCancellationRequested && queue.TryDequeue(out var i))
                {
                    if (Slice(i))
                    {
                        queue.Enqueue(i);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Thrown from inside a slice; every thread stops and the cancellation is thrown once below.
            }
        }

        var threads = Math.Min(candidates.Count, maxParallelism > 0 ? maxParallelism : Environment.ProcessorCount);
        if (threads <= 1)
        {
            Work();
        }
        else
        {
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => Work());
        }

        cancellationToken.ThrowIfCancellationRequested();
        return Ranking.Rank(Checked(results, settings));
    }

    /// <summary>
    /// A candidate whose policy threw, in every engine the same way: when it was being created (<paramref name="tick"/> null),
    /// or at the tick it was replaying; the other candidates finish.
    /// </summary>
    internal static CandidateResult Failed(CandidateSpec spec, Exception e, long? tick) => new()
    {
        Name = spec.Name,
        Policy = spec.PolicyName,
        SweepGroup = spec.SweepGroup,
        SweepValue = spec.SweepValue,
        Error = tick is null ? $"policy could not be created: {e.GetType().Name}: {e.Message}" : $"policy threw at tick {tick}: {e.GetType().Name}: {e.Message}",
        Ticks = tick ?? 0,
    };

    /// <summary>The most ticks a serving candidate replays before the thread takes the next candidate in turn.</summary>
    private const long ServingSliceTicks = 16_384;

    /// <summary>The fewest ticks of a slice (a short trace's sixteenth may be less).</summary>
    private const long MinServingSliceTicks = 64;

    /// <summary>Ticks per timeline point for about <paramref name="points"/> points (0: no timeline).</summary>
    public static long TimelineBucket(long ticks, int points) => points <= 0 ? 0 : Math.Max(1, (ticks + points - 1) / points);

    /// <summary>Whether timelines also keep each candidate's worst hour: for traces longer than a day, whose overview hides a spike.</summary>
    public static bool ZoomWorstHour(long ticks, ReplaySettings settings, int points) => points > 0 && ticks * settings.TickSeconds > 86_400;

    private static GuardedRun[] Start(IReadOnlyList<CandidateSpec> candidates, ReplaySettings settings, NodaTime.Instant start, long timelineBucket, bool zoom)
    {
        var runs = new GuardedRun[candidates.Count];
        for (var i = 0; i < runs.Length; i++)
        {
            runs[i] = new GuardedRun(candidates[i], settings, start, timelineBucket, zoom);
        }

        return runs;
    }

    private static void AdvanceAll(GuardedRun[] runs, long[] chunk, int maxParallelism)
    {
        if (runs.Length == 1 || maxParallelism == 1)
        {
            foreach (var run in runs)
            {
                run.Advance(chunk);
            }

            return;
        }

        Parallel.For(0, runs.Length, new ParallelOptions { MaxDegreeOfParallelism = maxParallelism }, i => runs[i].Advance(chunk));
    }

    private static IReadOnlyList<CandidateResult> Finish(GuardedRun[] runs, ReplaySettings settings) => Ranking.Rank(Checked(runs.Select(r => r.Complete()), settings));

    /// <summary>
    /// The results, each checked against the invariants every result keeps (<see cref="CandidateResult.Inconsistency"/>):
    /// a replay that breaks one has a bug, and stops with it rather than print a number that cannot be true.
    /// </summary>
    private static IEnumerable<CandidateResult> Checked(IEnumerable<CandidateResult> results, ReplaySettings settings)
    {
        foreach (var result in results)
        {
            if (result.Inconsistency(settings) is { } problem)
            {
                throw new InvalidOperationException($"a result that cannot be true (a bug in the replay): {problem}");
            }

            yield return result;
        }
    }

    /// <summary>One candidate's run that turns an exception from its policy into a failed result.</summary>
    private sealed class GuardedRun
    {
        private readonly CandidateSpec _spec;
        private readonly CandidateRun? _run;
        private CandidateResult? _failure;

        public GuardedRun(CandidateSpec spec, ReplaySettings settings, NodaTime.Instant start, long timelineBucket, bool zoom)
        {
            _spec = spec;
            try
            {
                _run = new CandidateRun(spec, settings, start, timelineBucket, zoom);
            }
            catch (Exception e) when (e is not (OutOfMemoryException or InvalidOptionsException))
            {
                _failure = Failed(spec, e, null);
            }
        }

        public void Advance(long[] chunk)
        {
            if (_failure is not null)
            {
                return;
            }

            try
            {
                _run!.Advance(chunk);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _failure = Failed(_spec, e, _run!.Tick);
            }
        }

        public CandidateResult Complete() => _failure is null
            ? _run!.Complete()
            : _failure;
    }
}
