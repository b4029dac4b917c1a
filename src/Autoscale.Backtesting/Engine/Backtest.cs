using Autoscale.Backtesting.Traces;

namespace Autoscale.Backtesting.Engine;

/// <summary>Replays one trace against every candidate, in parallel, and ranks the results.</summary>
public static class Backtest
{
    /// <summary>Replays <paramref name="trace"/> for one candidate.</summary>
    public static CandidateResult RunOne(TickTrace trace, ReplaySettings settings, CandidateSpec candidate)
    {
        var run = new CandidateRun(candidate, settings, trace.Start);
        run.Advance(trace.Arrivals);
        return run.Complete();
    }

    /// <summary>
    /// Replays <paramref name="trace"/> for every candidate (in parallel across cores, up to
    /// <paramref name="maxParallelism"/>; results are the same whatever the number of threads)
    /// and returns them ranked. A candidate whose policy throws is marked failed; the others finish.
    /// </summary>
    public static IReadOnlyList<CandidateResult> Run(TickTrace trace, ReplaySettings settings, IReadOnlyList<CandidateSpec> candidates, int maxParallelism = -1)
    {
        var results = new CandidateResult[candidates.Count];
        Parallel.For(0, candidates.Count, new ParallelOptions { MaxDegreeOfParallelism = maxParallelism }, i =>
        {
            results[i] = RunGuarded(trace, settings, candidates[i]);
        });

        return Ranking.Rank(results);
    }

    private static CandidateResult RunGuarded(TickTrace trace, ReplaySettings settings, CandidateSpec candidate)
    {
        var run = new CandidateRun(candidate, settings, trace.Start);
        try
        {
            run.Advance(trace.Arrivals);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new CandidateResult
            {
                Name = candidate.Name,
                Policy = candidate.PolicyName,
                Error = $"policy threw at tick {run.Tick}: {e.GetType().Name}: {e.Message}",
                Ticks = run.Tick,
            };
        }

        return run.Complete();
    }
}
