namespace Autoscale.Backtesting.LoadTime;

/// <summary>
/// The loads of one candidate's run as the engine drives them, tick by tick. A simple model knows each
/// load's duration when it starts; a physical one (shared bandwidth, node caches) advances every load
/// every tick. A load is ready at the first tick at or after it completes.
/// </summary>
/// <remarks>Owned by one run; not thread-safe. The per-tick methods allocate nothing once warm.</remarks>
internal interface ILoadSimulation
{
    /// <summary>Loads in progress.</summary>
    int Loading { get; }

    /// <summary>Starts a load at <paramref name="tick"/>; <paramref name="ordinal"/> numbers the starts of the run from 0. Returns true when it is ready at once.</summary>
    bool Start(long tick, long ordinal);

    /// <summary>
    /// Advances the loads through the end of tick <paramref name="tick"/> - 1 and removes those ready at <paramref name="tick"/>; returns how many.
    /// The engine calls it only while <see cref="Loading"/> is above zero, so nothing may depend on a call per tick.
    /// </summary>
    int CompleteDue(long tick);

    /// <summary>Places the first fleet, <paramref name="count"/> replicas ready when the trace begins; returns how many are (on a cluster, those beyond its nodes wait for one and count as loading).</summary>
    int StartReady(long tick, int count) => count;

    /// <summary>Cancels up to <paramref name="max"/> loads, newest first; returns how many.</summary>
    int CancelNewest(long tick, int max);

    /// <summary>Tells the model that <paramref name="count"/> ready replicas were released at <paramref name="tick"/> (their nodes may keep a cache).</summary>
    void Release(long tick, int count);

    /// <summary>Ends the run at <paramref name="horizon"/>: dollars the model bills beyond replicas (cache holds), and its own figures.</summary>
    double Finish(long horizon, IDictionary<string, double> metrics);
}

/// <summary>A load-time model the engine drives tick by tick instead of asking for one duration per start.</summary>
internal interface ISimulatedLoadTime : ILoadTimeModel
{
    /// <summary>A fresh simulation for one run with ticks of <paramref name="tickSeconds"/> and the run's seed.</summary>
    ILoadSimulation CreateSimulation(double tickSeconds, long seed);
}

/// <summary>A load-time model whose draws are keyed by a seed: the engine runs it with the run's seed (<c>--seeds</c>).</summary>
internal interface ISeededLoadTime : ILoadTimeModel
{
    /// <summary>The same model drawing with <paramref name="seed"/>.</summary>
    ILoadTimeModel WithSeed(long seed);
}
