namespace Autoscale.Backtesting.Engine;

/// <summary>
/// Drives every candidate's replay of a backtest, whichever the engine, and turns a policy's exception into that
/// candidate's failed result while the others finish. Candidates advance a slice of ticks at a time, taken in turn from
/// one queue by every thread that may run: each thread stays busy until the last slices, however many candidates there
/// are and however their costs differ (a whole candidate per thread would leave one thread alone with the last). Results
/// keep the candidates' order and are the same whatever the number of threads.
/// </summary>
/// <remarks>
/// A count replay is fed the trace a chunk at a time and driven to each chunk's end in turn; a serving replay is driven
/// once, to its workload's end. A replay is created on its first slice (a serving replay's memory is taken only when a
/// thread gets to it) and completed on its last (its memory goes as soon as it is done).
/// </remarks>
internal sealed class ReplayScheduler
{
    private readonly IReadOnlyList<CandidateSpec> _candidates;
    private readonly Func<CandidateSpec, ICandidateReplay> _create;
    private readonly ICandidateReplay?[] _replays;
    private readonly CandidateResult?[] _results;
    private readonly int _threads;
    private readonly int[] _order;

    /// <summary>A scheduler of <paramref name="candidates"/>' replays, each made by <paramref name="create"/> on its first slice.</summary>
    /// <param name="candidates">The candidates, in the order their results keep.</param>
    /// <param name="create">Makes a candidate's replay; an <see cref="InvalidOptionsException"/> from it (settings a user got wrong) ends the backtest.</param>
    /// <param name="maxParallelism">Threads to use (-1: every core).</param>
    public ReplayScheduler(IReadOnlyList<CandidateSpec> candidates, Func<CandidateSpec, ICandidateReplay> create, int maxParallelism)
    {
        _candidates = candidates;
        _create = create;
        _replays = new ICandidateReplay?[candidates.Count];
        _results = new CandidateResult?[candidates.Count];
        _threads = Math.Min(candidates.Count, maxParallelism > 0 ? maxParallelism : Environment.ProcessorCount);

        // Those deciding most often (they take longest) go first.
        _order = [.. Enumerable.Range(0, candidates.Count).OrderBy(i => candidates[i].DecisionIntervalTicks)];
    }

    /// <summary>The replays made so far (null: not yet, failed or completed), by candidate; a count replay is fed through them.</summary>
    public IReadOnlyList<ICandidateReplay?> Replays => _replays;

    /// <summary>Makes every replay not made yet (one that cannot be made is failed), before the first chunk is fed.</summary>
    public void CreateAll()
    {
        for (var i = 0; i < _replays.Length; i++)
        {
            _ = Replay(i);
        }
    }

    /// <summary>
    /// Advances every replay still running to <paramref name="until"/>, <paramref name="slice"/> ticks at a time; with
    /// <paramref name="last"/>, completes each as it gets there.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (thrown once, after every thread stopped).</exception>
    public void AdvanceTo(long until, long slice, bool last, CancellationToken cancellationToken)
    {
        var queue = new System.Collections.Concurrent.ConcurrentQueue<int>(_order.Where(i => _results[i] is null));
        void Work()
        {
            try
            {
                while (!cancellationToken.IsCancellationRequested && queue.TryDequeue(out var i))
                {
                    if (Slice(i, until, slice, last, cancellationToken))
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

        var threads = Math.Min(_threads, queue.Count);
        if (threads <= 1)
        {
            Work();
        }
        else
        {
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => Work());
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Every candidate's result, in the candidates' order, once each replay was driven to its end with <c>last</c>.</summary>
    public CandidateResult[] Results() => [.. _results.Select((r, i) => r ?? throw new InvalidOperationException($"candidate {i} was not completed"))];

    /// <summary>One slice of candidate <paramref name="i"/>: whether it has ticks left before <paramref name="until"/>.</summary>
    private bool Slice(int i, long until, long slice, bool last, CancellationToken cancellationToken)
    {
        var replay = Replay(i);
        if (replay is null)
        {
            return false;
        }

        var before = replay.Replayed;
        try
        {
            replay.AdvanceTo(Math.Min(until, before + slice));
            if (replay.Replayed < until)
            {
                return replay.Replayed > before ? true : throw new StalledReplayException($"the replay of candidate {i} stopped at tick {before} short of {until} (a bug in the replay)");
            }

            if (last)
            {
                _results[i] = replay.Complete();
                _replays[i] = null;
            }

            return false;
        }
        catch (Exception e) when (e is not (OutOfMemoryException or StalledReplayException) && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // Whatever the policy threw (a cancellation of its own too), at the tick it was replaying.
            Fail(i, e, replay.Tick);
            return false;
        }
    }

    /// <summary>Candidate <paramref name="i"/>'s replay, made on first use; null once it failed or completed.</summary>
    private ICandidateReplay? Replay(int i)
    {
        if (_replays[i] is { } made)
        {
            return made;
        }

        if (_results[i] is not null)
        {
            return null;
        }

        try
        {
            return _replays[i] = _create(_candidates[i]);
        }
        catch (Exception e) when (e is not (OutOfMemoryException or InvalidOptionsException or OperationCanceledException))
        {
            Fail(i, e, null);
            return null;
        }
    }

    private void Fail(int i, Exception e, long? tick)
    {
        _results[i] = Failed(_candidates[i], e, tick);
        _replays[i] = null;
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

    /// <summary>A replay that stopped short of where it was driven: a bug, never a candidate's failure.</summary>
    private sealed class StalledReplayException(string message) : InvalidOperationException(message);
}
