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

    /// <summary>
    /// Checks that every request of <paramref name="workload"/> fits both pools of a disaggregated fleet (each pool's
    /// maxModelLen and KV cache), when a candidate scales them.
    /// </summary>
    /// <exception cref="Serving.ServingWorkloadException">A request does not fit a pool; the message names both.</exception>
    public static void CheckPools(Serving.ServingWorkload workload, ReplaySettings settings, IReadOnlyList<CandidateSpec> candidates, string name = "trace")
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(candidates);
        if (settings.Serving?.Disaggregation is { } pools && candidates.Any(c => c.Pools is not null))
        {
            workload.CheckFits(pools.Prefill, "replica.serving.disaggregation.prefill", name);
            workload.CheckFits(pools.Decode, "replica.serving.disaggregation.decode", name);
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
        ArgumentNullException.ThrowIfNull(trace);
        var scheduler = CountReplays(candidates, settings, trace.Start, TimelineBucket(trace.Length, timelinePoints), ZoomWorstHour(trace.Length, settings, timelinePoints), maxParallelism);
        Feed(scheduler, 0, trace.Arrivals);
        scheduler.AdvanceTo(trace.Length, CountSliceTicks, last: true, CancellationToken.None);
        return Finish(scheduler, settings);
    }

    /// <summary>
    /// Replays ticks <paramref name="from"/> to <paramref name="to"/> of an in-memory trace for one candidate, as a trace
    /// of its own that starts at <paramref name="from"/> (what tuning replays each held-out day with). A policy that throws
    /// gives a failed result, as in a backtest.
    /// </summary>
    /// <param name="trace">The trace.</param>
    /// <param name="from">The window's first tick.</param>
    /// <param name="to">The tick after its last.</param>
    /// <param name="settings">The replay's settings.</param>
    /// <param name="candidate">The candidate.</param>
    /// <param name="bucket">Ticks per timeline point (0: no timeline).</param>
    public static CandidateResult RunWindow(TickTrace trace, long from, long to, ReplaySettings settings, CandidateSpec candidate, long bucket = 0)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentOutOfRangeException.ThrowIfNegative(from);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(to, trace.Length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(from, to);
        var scheduler = CountReplays([candidate], settings, trace.Start + (trace.Tick * from), bucket, zoom: false, maxParallelism: 1);

        // The window's tick t is the trace's from + t.
        Feed(scheduler, -from, trace.Arrivals);
        scheduler.AdvanceTo(to - from, CountSliceTicks, last: true, CancellationToken.None);
        return Checked(scheduler.Results(), settings).Single();
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
        ArgumentNullException.ThrowIfNull(trace);
        var scheduler = CountReplays(candidates, settings, trace.Start, TimelineBucket(trace.Length, timelinePoints), ZoomWorstHour(trace.Length, settings, timelinePoints), maxParallelism);
        long done = 0;

        // The next chunk is decoded on another thread while the candidates replay this one. Its array is the one of the chunk
        // before this (recycled): every candidate has replayed that one by the time the next read starts.
        var chunks = trace.ReadTicksRecycledAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using var chunksScope = chunks.ConfigureAwait(false);
        var next = Task.Run(() => chunks.MoveNextAsync().AsTask(), cancellationToken);
        while (await next.ConfigureAwait(false))
        {
            var chunk = chunks.Current;
            next = Task.Run(() => chunks.MoveNextAsync().AsTask(), cancellationToken);
            try
            {
                Feed(scheduler, done, chunk);
                scheduler.AdvanceTo(done + chunk.Length, CountSliceTicks, last: false, cancellationToken);
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

        scheduler.AdvanceTo(done, CountSliceTicks, last: true, cancellationToken);
        return Finish(scheduler, settings);
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

    /// <summary>
    /// Replays a serving workload (a window cut with <see cref="Serving.ServingWorkload.Window"/>, say) for one candidate,
    /// with the timeline's bucket given in ticks (0: no timeline). A policy that throws gives a failed result.
    /// </summary>
    /// <param name="workload">The requests.</param>
    /// <param name="settings">The replay's settings; needs <see cref="ReplaySettings.Serving"/>.</param>
    /// <param name="candidate">The candidate.</param>
    /// <param name="bucket">Ticks per timeline point (0: no timeline).</param>
    /// <param name="cancellationToken">Stops the replay.</param>
    public static CandidateResult RunServingOne(Serving.ServingWorkload workload, ReplaySettings settings, CandidateSpec candidate, long bucket = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(workload);
        var scheduler = ServingReplays(workload, settings, [candidate], 1, bucket, zoom: false, cancellationToken);
        return Checked(scheduler.Results(), settings).Single();
    }

    /// <summary>As the public overload, with the timeline's bucket given in ticks (0: no timeline).</summary>
    internal static IReadOnlyList<CandidateResult> RunServing(Serving.ServingWorkload workload, ReplaySettings settings, IReadOnlyList<CandidateSpec> candidates,
        int maxParallelism, long bucket, bool zoom, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workload);
        return Finish(ServingReplays(workload, settings, candidates, maxParallelism, bucket, zoom, cancellationToken), settings);
    }

    /// <summary>Every candidate's serving replay (request by request, or fluid), driven to the workload's end and completed.</summary>
    private static ReplayScheduler ServingReplays(Serving.ServingWorkload workload, ReplaySettings settings, IReadOnlyList<CandidateSpec> candidates,
        int maxParallelism, long bucket, bool zoom, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        // A short trace is cut into 16 slices.
        var slice = Math.Clamp((workload.Ticks + 15) / 16, MinServingSliceTicks, ServingSliceTicks);
        var scheduler = new ReplayScheduler(candidates, spec => spec.Pools is not null
            ? new Serving.DisaggregatedRun(spec, settings, workload, bucket, zoom) { Cancellation = cancellationToken }
            : settings.FluidServing
            ? new Serving.FluidRun(spec, settings, workload, bucket, zoom) { Cancellation = cancellationToken }
            : new Serving.ServingRun(spec, settings, workload, bucket, zoom) { Cancellation = cancellationToken }, maxParallelism);
        scheduler.AdvanceTo(workload.Ticks, slice, last: true, cancellationToken);
        return scheduler;
    }

    /// <summary>The most ticks a serving candidate replays before the thread takes the next candidate in turn.</summary>
    private const long ServingSliceTicks = 16_384;

    /// <summary>The fewest ticks of a slice (a short trace's sixteenth may be less).</summary>
    private const long MinServingSliceTicks = 64;

    /// <summary>Ticks per timeline point for about <paramref name="points"/> points (0: no timeline).</summary>
    public static long TimelineBucket(long ticks, int points) => points <= 0 ? 0 : Math.Max(1, (ticks + points - 1) / points);

    /// <summary>Whether timelines also keep each candidate's worst hour: for traces longer than a day, whose overview hides a spike.</summary>
    public static bool ZoomWorstHour(long ticks, ReplaySettings settings, int points) => points > 0 && ticks * settings.TickSeconds > 86_400;

    /// <summary>The ticks a count replay advances before its thread takes the next candidate in turn.</summary>
    private const long CountSliceTicks = 1 << 18;

    private static ReplayScheduler CountReplays(IReadOnlyList<CandidateSpec> candidates, ReplaySettings settings, NodaTime.Instant start, long timelineBucket, bool zoom, int maxParallelism)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        var scheduler = new ReplayScheduler(candidates, spec => new CandidateRun(spec, settings, start, timelineBucket, zoom), maxParallelism);

        // Made before the first chunk, to be fed it.
        scheduler.CreateAll();
        return scheduler;
    }

    private static void Feed(ReplayScheduler scheduler, long firstTick, long[] arrivals)
    {
        foreach (var replay in scheduler.Replays)
        {
            (replay as CandidateRun)?.Feed(firstTick, arrivals);
        }
    }

    private static IReadOnlyList<CandidateResult> Finish(ReplayScheduler scheduler, ReplaySettings settings) => Ranking.Rank(Checked(scheduler.Results(), settings));

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
}
