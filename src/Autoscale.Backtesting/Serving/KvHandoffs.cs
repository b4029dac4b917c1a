using NodaTime;

namespace Autoscale.Backtesting.Serving;

/// <summary>
/// The KV caches in flight from a disaggregated fleet's prefill pool to its decode pool: a request prefilled at some
/// instant reaches the decode pool one transfer later (a fixed latency, then its prompt blocks, whole, over one link per
/// GPU of its prefill replica); a request the prefill pool dropped reaches it at once, to be counted there. Ordered by
/// the time each reaches the decode pool, then by when it was sent.
/// </summary>
internal sealed class KvHandoffs
{
    private readonly PriorityQueue<Handoff, (long At, long Sent)> _queue = new();
    private readonly double _baseNanos;
    private readonly double _nanosPerBlock;
    private readonly int _blockTokens;
    private long _sent;

    /// <param name="transfer">The transfer's model.</param>
    /// <param name="blockTokens">Tokens per KV block of the prefill pool (whole blocks move).</param>
    public KvHandoffs(KvTransfer transfer, int blockTokens)
    {
        ArgumentNullException.ThrowIfNull(transfer);
        _baseNanos = transfer.BaseLatency.ToInt64Nanoseconds();
        _blockTokens = blockTokens;
        _nanosPerBlock = blockTokens * transfer.KvBytesPerToken / (transfer.BandwidthGBps * transfer.Links);
    }

    /// <summary>When the next request reaches the decode pool, in nanoseconds after the start; long.MaxValue when none is in flight.</summary>
    public long Next => _queue.TryPeek(out _, out var key) ? key.At : long.MaxValue;

    /// <summary>Requests in flight.</summary>
    public int Count => _queue.Count;

    /// <summary>Nanoseconds to move the KV cache of a prompt of <paramref name="input"/> tokens, rounded up as steps are.</summary>
    public long TransferNanos(int input)
    {
        var blocks = ((long)Math.Max(1, input) + _blockTokens - 1) / _blockTokens;
        return Math.Max(1L, (long)Math.Ceiling(_baseNanos + (blocks * _nanosPerBlock) - 1e-6));
    }

    /// <summary>Request <paramref name="ordinal"/>, prefilled when its transfer starts at <paramref name="at"/>, reaches the decode pool one transfer later.</summary>
    public void Send(long at, long ordinal, int input, int output, long arrival, bool late) =>
        _queue.Enqueue(new Handoff(ordinal, input, output, arrival, late, false), (at + TransferNanos(input), _sent++));

    /// <summary>Request <paramref name="ordinal"/> was dropped by the prefill pool at <paramref name="at"/>: the decode pool counts it then.</summary>
    public void Dropped(long at, long ordinal, int input, int output, long arrival) =>
        _queue.Enqueue(new Handoff(ordinal, input, output, arrival, false, true), (at, _sent++));

    /// <summary>Takes the next request.</summary>
    public Handoff Take() => _queue.Dequeue();

    /// <summary>One request handed on.</summary>
    /// <param name="Ordinal">Its ordinal in the workload.</param>
    /// <param name="Input">Its prompt tokens.</param>
    /// <param name="Output">Its output tokens.</param>
    /// <param name="Arrival">When the client sent it, in nanoseconds after the start.</param>
    /// <param name="Late">Whether it waited in the prefill pool's queue beyond the SLO's maxWait.</param>
    /// <param name="Dropped">Whether the prefill pool dropped it.</param>
    internal readonly record struct Handoff(long Ordinal, int Input, int Output, long Arrival, bool Late, bool Dropped);
}

/// <summary>A disaggregated fleet's KV cache transfer.</summary>
/// <param name="BandwidthGBps">One link's bandwidth, 10^9 bytes a second.</param>
/// <param name="BaseLatency">Fixed time of every transfer.</param>
/// <param name="KvBytesPerToken">KV cache bytes of one token over the whole model.</param>
/// <param name="Links">Links the transfer crosses in parallel: the prefill replica's GPUs.</param>
public sealed record KvTransfer(double BandwidthGBps, Duration BaseLatency, double KvBytesPerToken, int Links);
