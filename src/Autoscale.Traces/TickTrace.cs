using NodaTime;

namespace Autoscale.Traces;

/// <summary>
/// A trace binned to the replay tick: how many requests arrive in each tick from <see cref="Start"/>.
/// </summary>
/// <remarks>Treat as immutable once built; safe to read from several threads.</remarks>
public sealed class TickTrace
{
    /// <summary>Creates a trace from its per-tick arrival counts.</summary>
    public TickTrace(Instant start, Duration tick, long[] arrivals)
    {
        ArgumentNullException.ThrowIfNull(arrivals);
        if (tick <= Duration.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(tick), "tick must be > 0");
        }

        Start = start;
        Tick = tick;
        Arrivals = arrivals;
        long total = 0;
        foreach (var a in arrivals)
        {
            total += a;
        }

        TotalRequests = total;
    }

    /// <summary>The instant tick 0 begins.</summary>
    public Instant Start { get; }

    /// <summary>The length of one tick.</summary>
    public Duration Tick { get; }

    /// <summary>Requests arriving in each tick.</summary>
    public long[] Arrivals { get; }

    /// <summary>Ticks in the trace.</summary>
    public long Length => Arrivals.LongLength;

    /// <summary>All requests in the trace.</summary>
    public long TotalRequests { get; }

    /// <summary>The instant the last tick ends.</summary>
    public Instant End => Start + Tick * Length;

    /// <summary>Input tokens of the requests of each tick, when read with tokens from a trace that has them; null otherwise.</summary>
    public long[]? InputTokens { get; init; }

    /// <summary>Output tokens of the requests of each tick, when read with tokens from a trace that has them; null otherwise.</summary>
    public long[]? OutputTokens { get; init; }
}

/// <summary>One chunk of a trace's ticks, as <see cref="TraceReader.ReadChunksAsync"/> hands them out.</summary>
/// <param name="FirstTick">The tick of the chunk's first element.</param>
/// <param name="Arrivals">Requests arriving in each tick.</param>
/// <param name="InputTokens">Input tokens of those requests per tick, when asked for and the trace has them.</param>
/// <param name="OutputTokens">Output tokens of those requests per tick, when asked for and the trace has them.</param>
public sealed record TickChunk(long FirstTick, long[] Arrivals, long[]? InputTokens, long[]? OutputTokens);

/// <summary>One batch of a request log's requests, as <see cref="TraceReader.ReadRequestsAsync"/> hands them out.</summary>
/// <param name="ArrivalNanos">Each request's arrival, in nanoseconds after the trace's start.</param>
/// <param name="InputTokens">Each request's input tokens, when the trace has them.</param>
/// <param name="OutputTokens">Each request's output tokens, when the trace has them.</param>
public sealed record RequestBatch(long[] ArrivalNanos, long[]? InputTokens, long[]? OutputTokens)
{
    /// <summary>What the requests share for prefix caching, when the trace has prefix columns (<c>prefix_group</c> and <c>prefix_tokens</c>, or <c>hash_ids</c>).</summary>
    public RequestPrefixes? Prefixes { get; init; }
}
