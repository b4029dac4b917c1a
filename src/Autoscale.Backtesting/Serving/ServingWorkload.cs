using System.Globalization;
using Autoscale.Traces;
using NodaTime;

namespace Autoscale.Backtesting.Serving;

/// <summary>
/// The requests a serving replay runs, in arrival order, each with its arrival (nanoseconds after the trace's start) and
/// its input and output tokens. Every candidate replays the same workload.
/// </summary>
/// <remarks>
/// Tokens come from the trace where it has them: a request log's per request; interval totals shared equally among the
/// interval's requests (the remainder to the earliest). A trace without a token column takes that side from the serving
/// profile's distribution, drawn from a stream keyed by (seed, request ordinal). The i-th of a tick's n requests of an
/// interval-count trace arrives at t + floor(i * tick / n). Immutable once built.
/// </remarks>
public sealed class ServingWorkload
{
    private ServingWorkload(Instant start, Duration tick, long ticks, long[] arrivals, int[] input, int[] output)
    {
        Start = start;
        Tick = tick;
        Ticks = ticks;
        ArrivalNanos = arrivals;
        InputTokens = input;
        OutputTokens = output;
        double inSum = 0, outSum = 0;
        for (var i = 0; i < input.Length; i++)
        {
            inSum += input[i];
            outSum += output[i];
        }

        MeanInputTokens = input.Length == 0 ? 0 : inSum / input.Length;
        MeanOutputTokens = output.Length == 0 ? 0 : outSum / output.Length;
        TotalInputTokens = (long)inSum;
        TotalOutputTokens = (long)outSum;
    }

    /// <summary>The instant tick 0 begins.</summary>
    public Instant Start { get; }

    /// <summary>The replay tick.</summary>
    public Duration Tick { get; }

    /// <summary>Ticks in the trace.</summary>
    public long Ticks { get; }

    /// <summary>Each request's arrival in nanoseconds after <see cref="Start"/>, ascending.</summary>
    public IReadOnlyList<long> Arrivals => ArrivalNanos;

    /// <summary>Requests in the workload.</summary>
    public int Count => ArrivalNanos.Length;

    /// <summary>The mean input tokens per request.</summary>
    public double MeanInputTokens { get; }

    /// <summary>The mean output tokens per request.</summary>
    public double MeanOutputTokens { get; }

    /// <summary>All input tokens.</summary>
    public long TotalInputTokens { get; }

    /// <summary>All output tokens.</summary>
    public long TotalOutputTokens { get; }

    internal long[] ArrivalNanos { get; }

    internal int[] InputTokens { get; }

    internal int[] OutputTokens { get; }

    /// <summary>The input tokens of request <paramref name="index"/>.</summary>
    public int Input(int index) => InputTokens[index];

    /// <summary>The output tokens of request <paramref name="index"/>.</summary>
    public int Output(int index) => OutputTokens[index];

    /// <summary>Requests at most this many are replayed request by request (more: split the trace).</summary>
    public const int MaxRequests = 200_000_000;

    /// <summary>Builds a workload from explicit requests (arrivals in nanoseconds after <paramref name="start"/>, ascending).</summary>
    /// <exception cref="ServingWorkloadException">A request breaks a rule of <paramref name="profile"/>.</exception>
    public static ServingWorkload FromRequests(Instant start, Duration tick, long ticks, long[] arrivalNanos, int[] input, int[] output, ServingProfile profile, string name = "workload")
    {
        ArgumentNullException.ThrowIfNull(arrivalNanos);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(profile);
        if (input.Length != arrivalNanos.Length || output.Length != arrivalNanos.Length)
        {
            throw new ArgumentException("arrivals, input and output must have the same length");
        }

        for (var i = 0; i < arrivalNanos.Length; i++)
        {
            if (i > 0 && arrivalNanos[i] < arrivalNanos[i - 1])
            {
                throw new ArgumentException($"arrival {i} is earlier than arrival {i - 1}");
            }

            Check(name, start, i, arrivalNanos[i], input[i], output[i], profile);
        }

        return new ServingWorkload(start, tick, ticks, arrivalNanos, input, output);
    }

    /// <summary>Builds a workload from an in-memory trace of per-tick arrivals (and token totals where it has them).</summary>
    public static ServingWorkload FromTicks(TickTrace trace, ServingProfile profile, long seed, string name = "trace")
    {
        ArgumentNullException.ThrowIfNull(trace);
        var builder = new Builder(name, trace.Start, trace.Tick, profile, seed);
        builder.AddTicks(0, trace.Arrivals, trace.InputTokens, trace.OutputTokens);
        return builder.Build(trace.Length);
    }

    /// <summary>Reads the workload of an open trace: a request log request by request, interval counts tick by tick.</summary>
    /// <exception cref="TraceFormatException">The trace breaks a rule.</exception>
    /// <exception cref="ServingWorkloadException">A request breaks a rule of <paramref name="profile"/>, or tokens are missing.</exception>
    public static async Task<ServingWorkload> ReadAsync(TraceReader reader, ServingProfile profile, long seed, string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(profile);
        var builder = new Builder(name, reader.Start, reader.Tick, profile, seed);
        if (reader.Info.Shape == TraceShape.RequestLog)
        {
            await foreach (var batch in reader.ReadRequestsAsync(cancellationToken).ConfigureAwait(false))
            {
                builder.AddRequests(batch);
            }
        }
        else
        {
            await foreach (var chunk in reader.ReadChunksAsync(tokens: true, cancellationToken).ConfigureAwait(false))
            {
                builder.AddTicks(chunk.FirstTick, chunk.Arrivals, chunk.InputTokens, chunk.OutputTokens);
            }
        }

        return builder.Build(reader.Length);
    }

    private static void Check(string name, Instant start, long ordinal, long arrival, long input, long output, ServingProfile profile)
    {
        if (input < 0 || output < 0)
        {
            throw new ServingWorkloadException($"{name}: request {ordinal + 1} (at {At(start, arrival)}) has negative tokens");
        }

        if (input + output > profile.MaxModelLen)
        {
            throw new ServingWorkloadException($"{name}: request {ordinal + 1} (at {At(start, arrival)}) has {input} input + {output} output = {input + output} tokens, more than replica.serving.maxModelLen ({profile.MaxModelLen})");
        }

        var blocks = (input + Math.Max(1, output) + profile.BlockTokens - 1) / profile.BlockTokens;
        if (blocks > profile.KvBlocks)
        {
            throw new ServingWorkloadException($"{name}: request {ordinal + 1} (at {At(start, arrival)}) needs {blocks} KV blocks of {profile.BlockTokens} tokens ({input} input + {output} output), more than replica.serving.kvCacheTokens holds ({profile.KvBlocks} blocks)");
        }
    }

    private static string At(Instant start, long arrival) =>
        NodaTime.Text.InstantPattern.ExtendedIso.Format(start + Duration.FromNanoseconds(arrival));

    private sealed class Builder(string name, Instant start, Duration tick, ServingProfile profile, long seed)
    {
        private readonly long _tickNanos = tick.ToInt64Nanoseconds();
        private long[] _arrivals = new long[1024];
        private int[] _input = new int[1024];
        private int[] _output = new int[1024];
        private int _count;

        public void AddRequests(RequestBatch batch)
        {
            for (var i = 0; i < batch.ArrivalNanos.Length; i++)
            {
                Add(batch.ArrivalNanos[i], batch.InputTokens?[i], batch.OutputTokens?[i]);
            }
        }

        public void AddTicks(long firstTick, long[] arrivals, long[]? input, long[]? output)
        {
            for (var k = 0; k < arrivals.Length; k++)
            {
                var n = arrivals[k];
                if (n == 0)
                {
                    continue;
                }

                var t0 = (firstTick + k) * _tickNanos;
                for (long i = 0; i < n; i++)
                {
                    var at = t0 + (long)((Int128)i * _tickNanos / n);
                    Add(at, Share(input?[k], n, i), Share(output?[k], n, i));
                }
            }
        }

        private static long? Share(long? total, long n, long i) =>
            total is not { } sum ? null : (sum / n) + (i < sum % n ? 1 : 0);

        private void Add(long arrival, long? input, long? output)
        {
            if (_count >= MaxRequests)
            {
                throw new ServingWorkloadException($"{name}: more than {MaxRequests:N0} requests; a request-level replay holds them all: replay a part of the trace (trace slice) or use a coarser model");
            }

            if (_count == _arrivals.Length)
            {
                var size = (int)Math.Min(MaxRequests, _arrivals.Length * 2L);
                Array.Resize(ref _arrivals, size);
                Array.Resize(ref _input, size);
                Array.Resize(ref _output, size);
            }

            var ordinal = _count;
            var i = input ?? Draw(profile.InputTokens, 0, ordinal, "input");
            var o = output ?? Draw(profile.OutputTokens, 1, ordinal, "output");
            if (input is null || output is null)
            {
                // Drawn tokens are capped at maxModelLen (input first, leaving room for one output token).
                i = Math.Min(i, profile.MaxModelLen - 1);
                o = Math.Min(o, profile.MaxModelLen - i);
            }

            Check(name, start, ordinal, arrival, i, o, profile);
            _arrivals[_count] = arrival;
            _input[_count] = (int)i;
            _output[_count] = (int)o;
            _count++;
        }

        private long Draw(TokenDistribution? distribution, int side, long ordinal, string which)
        {
            if (distribution is null)
            {
                var column = side == 0 ? ParquetTrace.InputTokensColumn : ParquetTrace.OutputTokensColumn;
                throw new ServingWorkloadException($"{name}: has no {column} column and replica.serving.tokens.{which} gives no distribution: a serving replay needs each request's {which} tokens");
            }

            return distribution.Draw(seed, ordinal, side);
        }

        public ServingWorkload Build(long ticks) =>
            new(start, tick, ticks, _arrivals[.._count], _input[.._count], _output[.._count]);
    }
}

/// <summary>A trace cannot be replayed with a serving profile: tokens missing, or a request larger than a replica can hold.</summary>
public sealed class ServingWorkloadException(string message) : Exception(message);
