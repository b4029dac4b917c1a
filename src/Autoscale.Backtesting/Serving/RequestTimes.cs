namespace Autoscale.Backtesting.Serving;

/// <summary>
/// When each request of a request-by-request replay was admitted to a batch, had its first token and ended, by arrival
/// order, in nanoseconds after the workload's start; -1 where it never happened (never admitted, dropped). What a
/// replay is checked against when a server's measured requests are replayed (<c>autoscale serving validate</c>).
/// </summary>
/// <param name="AdmittedNanos">Each request's first admission to a batch.</param>
/// <param name="FirstTokenNanos">Each request's first token.</param>
/// <param name="EndNanos">Each request's end (its last token).</param>
public sealed record RequestTimes(long[] AdmittedNanos, long[] FirstTokenNanos, long[] EndNanos)
{
    /// <summary>
    /// Replays <paramref name="workload"/> request by request for one candidate, to the end of its drain, recording each
    /// request's times.
    /// </summary>
    /// <param name="workload">The requests.</param>
    /// <param name="settings">The replay's settings; needs <see cref="Engine.ReplaySettings.Serving"/>.</param>
    /// <param name="candidate">The candidate (its policy's exceptions propagate).</param>
    /// <param name="cancellationToken">Stops the replay.</param>
    public static RequestTimes Replay(ServingWorkload workload, Engine.ReplaySettings settings, Engine.CandidateSpec candidate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        if (candidate.Pools is not null)
        {
            // A disaggregated fleet: the times its clients saw, which the decode pool records (admission: to a decode replica).
            var pools = new DisaggregatedRun(candidate, settings, workload, recordRequests: true) { Cancellation = cancellationToken };
            pools.AdvanceTo(workload.Ticks);
            pools.Complete();
            return pools.DecodePool.RecordedTimes();
        }

        var run = new ServingRun(candidate, settings, workload, recordRequests: true) { Cancellation = cancellationToken };
        run.Run();
        return run.RecordedTimes();
    }
}
