namespace Autoscale.Backtesting.Engine;

/// <summary>
/// One candidate's replay as <see cref="ReplayScheduler"/> drives it, whichever the engine: the count replay
/// (<see cref="CandidateRun"/>, fed the trace chunk by chunk) or a serving replay (request by request or fluid, which own
/// their workload). Ticks are replayed in order; the result comes once, at the end.
/// </summary>
internal interface ICandidateReplay
{
    /// <summary>Ticks replayed so far: the next tick to replay.</summary>
    long Replayed { get; }

    /// <summary>The tick being replayed, or the last one (what a failure names when the policy throws).</summary>
    long Tick { get; }

    /// <summary>Replays every tick before <paramref name="tick"/> not replayed yet.</summary>
    void AdvanceTo(long tick);

    /// <summary>Ends the replay at the ticks replayed and gives its result.</summary>
    CandidateResult Complete();
}
