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
public sealed partial class ServingWorkload
{
    // A request log (or explicit requests): one entry per request.
    private readonly long[]? _arrivals;
    private readonly int[]? _input;
    private readonly int[]? _output;

    // Interval counts: per tick, expanded as the replay reaches them (memory grows with ticks, not requests).
    private readonly long[]? _tickCounts;
    private readonly long[]? _tickInput;
    private readonly long[]? _tickOutput;
    private readonly ServingProfile _profile;
    private readonly long _seed;
    private readonly long _tickNanos;

    // A window's first request is this request of the workload it was cut from: drawn tokens keep their ordinals.
    private long _ordinalBase;

    private ServingWorkload(Instant start, Duration tick, long ticks, ServingProfile profile, long seed,
        long[]? arrivals, int[]? input, int[]? output, long[]? tickCounts, long[]? tickInput, long[]? tickOutput, Totals totals)
    {
        Start = start;
        Tick = tick;
        Ticks = ticks;
        _profile = profile;
        _seed = seed;
        _tickNanos = tick.ToInt64Nanoseconds();
        _arrivals = arrivals;
        _input = input;
        _output = output;
        _tickCounts = tickCounts;
        _tickInput = tickInput;
        _tickOutput = tickOutput;
        Count = totals.Count;
        TotalInputTokens = totals.Input;
        TotalOutputTokens = totals.Output;
        MeanInputTokens = Count == 0 ? 0 : (double)totals.Input / Count;
        MeanOutputTokens = Count == 0 ? 0 : (double)totals.Output / Count;
    }

    /// <summary>The instant tick 0 begins.</summary>
    public Instant Start { get; }

    /// <summary>The replay tick.</summary>
    public Duration Tick { get; }

    /// <summary>Ticks in the trace.</summary>
    public long Ticks { get; }

    /// <summary>Requests in the workload.</summary>
    public long Count { get; }

    /// <summary>The mean input tokens per request.</summary>
    public double MeanInputTokens { get; private set; }

    /// <summary>The mean output tokens per request.</summary>
    public double MeanOutputTokens { get; private set; }

    /// <summary>All input tokens.</summary>
    public long TotalInputTokens { get; }

    /// <summary>All output tokens.</summary>
    public long TotalOutputTokens { get; }

    /// <summary>What each request shares with others for prefix caching (a request log with prefix columns); null without.</summary>
    internal PrefixKeys? Prefixes { get; private init; }

    /// <summary>Whether the requests carry prefix information (a request log with <c>prefix_group</c> or <c>hash_ids</c>).</summary>
    public bool HasPrefixes => Prefixes is not null;

    /// <summary>
    /// This request log with what each request shares for prefix caching (one entry per request, in order).
    /// </summary>
    /// <exception cref="ServingWorkloadException">A request shares more tokens than its prompt has.</exception>
    /// <exception cref="InvalidOperationException">The workload is interval counts, which have no single requests.</exception>
    public ServingWorkload WithPrefixes(RequestPrefixes prefixes, string name = "workload")
    {
        ArgumentNullException.ThrowIfNull(prefixes);
        if (_arrivals is null)
        {
            throw new InvalidOperationException("interval counts have no single requests to give prefixes to");
        }

        if (prefixes.Count != _arrivals.Length)
        {
            throw new ArgumentException($"{prefixes.Count} prefixes for {_arrivals.Length} requests", nameof(prefixes));
        }

        var builder = new PrefixKeys.Builder();
        builder.Add(prefixes, _input!, name, 0);
        var totals = new Totals { Count = Count, Input = TotalInputTokens, Output = TotalOutputTokens };
        return new ServingWorkload(Start, Tick, Ticks, _profile, _seed, _arrivals, _input, _output, null, null, null, totals) { Prefixes = builder.Build() };
    }

    /// <summary>A request log holds at most this many requests in memory (interval counts have no limit).</summary>
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

        var totals = default(Totals);
        for (var i = 0; i < arrivalNanos.Length; i++)
        {
            if (i > 0 && arrivalNanos[i] < arrivalNanos[i - 1])
            {
                throw new ArgumentException($"arrival {i} is earlier than arrival {i - 1}");
            }

            if (arrivalNanos[i] < 0 || arrivalNanos[i] >= ticks * tick.ToInt64Nanoseconds())
            {
                throw new ArgumentException($"arrival {i} is outside the {ticks} ticks");
            }

            Check(name, start, i, arrivalNanos[i], input[i], output[i], profile);
            totals.Add(input[i], output[i]);
        }

        return new ServingWorkload(start, tick, ticks, profile, 0, arrivalNanos, input, output, null, null, null, totals);
    }

    /// <summary>The most token draws a trace without token columns adds up for its totals (20 million); past them the totals are scaled.</summary>
    internal const long MaxDrawnForTotals = 20_000_000;

    /// <summary>Builds a workload from an in-memory trace of per-tick arrivals (and token totals where it has them).</summary>
    /// <exception cref="ServingWorkloadException">A request breaks a rule of <paramref name="profile"/>, or tokens are missing.</exception>
    public static ServingWorkload FromTicks(TickTrace trace, ServingProfile profile, long seed, string name = "trace")
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentNullException.ThrowIfNull(profile);
        var workload = new ServingWorkload(trace.Start, trace.Tick, trace.Length, profile, seed, null, null, null, trace.Arrivals, trace.InputTokens, trace.OutputTokens, default);
        var totals = default(Totals);
        if (trace.InputTokens is { } inputs && trace.OutputTokens is { } outputs)
        {
            // Token totals per tick, shared out equally (the remainder to the earliest requests): the totals are the
            // columns' sums, and the first request of each tick has the largest share, so checking it checks them all.
            var tickNanos = trace.Tick.ToInt64Nanoseconds();
            long ordinal = 0;
            for (var k = 0; k < trace.Arrivals.Length; k++)
            {
                var n = trace.Arrivals[k];
                if (n <= 0)
                {
                    continue;
                }

                CheckShare(name, trace.Start, ordinal, k * tickNanos, inputs[k], outputs[k], n, profile);
                ordinal += n;
                totals.Count += n;
                totals.Input += inputs[k];
                totals.Output += outputs[k];
            }
        }
        else
        {
            // Each request's tokens are drawn by its ordinal; the totals (for the mean a policy's capacity is judged at, and
            // the fluid replay's tick totals) add the draws, up to MaxDrawnForTotals of them: a longer trace's totals are
            // its first draws scaled to its count (a trace of 965 billion requests once drew every one, for hours).
            long count = 0;
            foreach (var n in trace.Arrivals)
            {
                count += Math.Max(0, n);
            }

            var cursor = workload.OpenCursor(name);
            while (cursor.Next != long.MaxValue && totals.Count < MaxDrawnForTotals)
            {
                cursor.Take(out var input, out var output);
                totals.Add(input, output);
            }

            if (totals.Count > 0 && totals.Count < count)
            {
                var scale = (double)count / totals.Count;
                (totals.Count, totals.Input, totals.Output) = (count, (long)Math.Round(totals.Input * scale), (long)Math.Round(totals.Output * scale));
            }
        }

        return new ServingWorkload(trace.Start, trace.Tick, trace.Length, profile, seed, null, null, null, trace.Arrivals, trace.InputTokens, trace.OutputTokens, totals);
    }

    /// <summary>Reads the workload of an open trace: a request log request by request, interval counts tick by tick.</summary>
    /// <exception cref="TraceFormatException">The trace breaks a rule.</exception>
    /// <exception cref="ServingWorkloadException">A request breaks a rule of <paramref name="profile"/>, or tokens are missing.</exception>
    public static async Task<ServingWorkload> ReadAsync(TraceReader reader, ServingProfile profile, long seed, string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(profile);
        if (reader.Info.Shape != TraceShape.RequestLog)
        {
            return FromTicks(await reader.ReadAllAsync(cancellationToken, tokens: true).ConfigureAwait(false), profile, seed, name);
        }

        var builder = new LogBuilder(name, reader.Start, profile, seed);
        await foreach (var batch in reader.ReadRequestsAsync(cancellationToken).ConfigureAwait(false))
        {
            builder.Add(batch);
        }

        return builder.Build(reader.Tick, reader.Length);
    }

    /// <summary>A request log's arrivals (nanoseconds after the start) and tokens, request by request; null for interval counts.</summary>
    internal (long[] Arrivals, int[] Input, int[] Output)? Requests => _arrivals is null ? null : (_arrivals, _input!, _output!);

    /// <summary>
    /// Interval counts' requests and tokens in the ticks from <paramref name="first"/> on, as many as the spans hold or the
    /// trace has (returns how many): the trace's token totals, or the requests times the mean tokens drawn for the whole
    /// workload where it has none (the fluid replay's expectation). A run of ticks at once keeps the replay off the memory's latency.
    /// </summary>
    internal int TickTotals(long first, Span<long> count, Span<double> input, Span<double> output)
    {
        var n = (int)Math.Min(count.Length, Ticks - first);
        var counts = _tickCounts.AsSpan((int)first, n);
        counts.CopyTo(count);
        Fill(input, counts, _tickInput, first, MeanInputTokens);
        Fill(output, counts, _tickOutput, first, MeanOutputTokens);
        return n;

        static void Fill(Span<double> into, ReadOnlySpan<long> counts, long[]? totals, long first, double mean)
        {
            for (var k = 0; k < counts.Length; k++)
            {
                into[k] = totals is null ? counts[k] * mean : totals[first + k];
            }
        }
    }

    /// <summary>The requests in arrival order, one at a time (the same every time it is opened).</summary>
    internal Cursor OpenCursor(string name = "trace") => new(this, name);

    /// <summary>
    /// The requests arriving in ticks [<paramref name="fromTick"/>, <paramref name="toTick"/>), as a workload of its own
    /// that starts at <paramref name="fromTick"/>: each request keeps its tokens (drawn ones too). The means a policy's
    /// capacity is judged at are <paramref name="means"/> when given (so windows that share a start replay alike),
    /// else the window's own; with drawn tokens, those of this workload (they come from the profile, not the trace).
    /// </summary>
    /// <param name="fromTick">The window's first tick.</param>
    /// <param name="toTick">The tick after its last.</param>
    /// <param name="means">The mean input and output tokens a policy's capacity is judged at (null: the window's own).</param>
    /// <exception cref="ArgumentOutOfRangeException">The window is not within the workload's ticks.</exception>
    public ServingWorkload Window(long fromTick, long toTick, (double Input, double Output)? means = null)
    {
        if (fromTick < 0 || toTick > Ticks || fromTick > toTick)
        {
            throw new ArgumentOutOfRangeException(nameof(fromTick), $"ticks [{fromTick}, {toTick}) are not within the workload's {Ticks}");
        }

        var start = Start + Tick * fromTick;
        var ticks = toTick - fromTick;
        ServingWorkload window;
        if (_arrivals is not null)
        {
            var offset = fromTick * _tickNanos;
            var first = LowerBound(_arrivals, offset);
            var last = LowerBound(_arrivals, toTick * _tickNanos);
            var arrivals = new long[last - first];
            var totals = default(Totals);
            for (var i = first; i < last; i++)
            {
                arrivals[i - first] = _arrivals[i] - offset;
                totals.Add(_input![i], _output![i]);
            }

            window = new ServingWorkload(start, Tick, ticks, _profile, _seed, arrivals, _input![first..last], _output![first..last], null, null, null, totals) { Prefixes = Prefixes?.Slice(first, last) };
        }
        else
        {
            var counts = _tickCounts![(int)fromTick..(int)toTick];
            var totals = default(Totals);
            foreach (var n in counts)
            {
                totals.Count += Math.Max(0, n);
            }

            long before = 0;
            for (var k = 0; k < fromTick; k++)
            {
                before += Math.Max(0, _tickCounts[k]);
            }

            var inputs = _tickInput?[(int)fromTick..(int)toTick];
            var outputs = _tickOutput?[(int)fromTick..(int)toTick];
            if (inputs is not null && outputs is not null)
            {
                totals.Input = inputs.Sum();
                totals.Output = outputs.Sum();
            }
            else
            {
                totals.Input = (long)Math.Round(MeanInputTokens * totals.Count);
                totals.Output = (long)Math.Round(MeanOutputTokens * totals.Count);
            }

            window = new ServingWorkload(start, Tick, ticks, _profile, _seed, null, null, null, counts, inputs, outputs, totals) { _ordinalBase = _ordinalBase + before };
        }

        if (means is { } m)
        {
            window.MeanInputTokens = m.Input;
            window.MeanOutputTokens = m.Output;
        }
        else if (_arrivals is null && (_tickInput is null || _tickOutput is null))
        {
            window.MeanInputTokens = MeanInputTokens;
            window.MeanOutputTokens = MeanOutputTokens;
        }

        return window;
    }

    private static int LowerBound(long[] sorted, long value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>
    /// Checks every request against another profile (a replica shape's, under <paramref name="section"/>): it must fit the
    /// shape's maxModelLen and KV cache, as every request was checked against the config's profile when read.
    /// </summary>
    /// <exception cref="ServingWorkloadException">A request does not fit; the message names it.</exception>
    internal void CheckFits(ServingProfile profile, string section, string name = "trace")
    {
        if (_arrivals is not null)
        {
            for (var i = 0; i < _arrivals.Length; i++)
            {
                Check(name, Start, i, _arrivals[i], _input![i], _output![i], profile, section);
            }

            return;
        }

        if (_tickInput is not null && _tickOutput is not null)
        {
            // Shared out per tick, the first requests of a tick take the remainder: the largest of each tick is its first.
            long ordinal = 0;
            for (var k = 0; k < _tickCounts!.Length; k++)
            {
                var n = _tickCounts[k];
                if (n > 0)
                {
                    CheckShare(name, Start, ordinal, k * _tickNanos, _tickInput[k], _tickOutput[k], n, profile, section);
                }

                ordinal += n;
            }

            return;
        }

        var cursor = new Cursor(this, name);
        for (long i = 0; i < Count; i++)
        {
            var arrival = cursor.Next;
            cursor.Take(out var input, out var output);
            Check(name, Start, i, arrival, input, output, profile, section);
        }
    }

    /// <summary>
    /// Checks the first (largest) share of a tick's <paramref name="input"/> and <paramref name="output"/> totals among its
    /// <paramref name="n"/> requests, as <see cref="Check"/> does. The exact shares take two 64-bit divisions, so a bound
    /// in floating point passes first: each share is at most its total over n plus one, the bound's rounding is far below
    /// the margin of one token it keeps, and only a tick near a limit is divided exactly.
    /// </summary>
    private static void CheckShare(string name, Instant start, long ordinal, long arrival, long input, long output, long n, ServingProfile profile, string section = "replica.serving")
    {
        if (input >= 0 && output >= 0)
        {
            var bound = ((double)input + output) / n + 3;
            if (bound <= profile.MaxModelLen && bound + profile.BlockTokens <= (double)profile.KvBlocks * profile.BlockTokens)
            {
                return;
            }
        }

        Check(name, start, ordinal, arrival, (input + n - 1) / n, (output + n - 1) / n, profile, section);
    }

    private static void Check(string name, Instant start, long ordinal, long arrival, long input, long output, ServingProfile profile, string section = "replica.serving")
    {
        if (input < 0 || output < 0)
        {
            throw new ServingWorkloadException($"{name}: request {ordinal + 1} (at {At(start, arrival)}) has negative tokens");
        }

        if (input + output > profile.MaxModelLen)
        {
            throw new ServingWorkloadException($"{name}: request {ordinal + 1} (at {At(start, arrival)}) has {input} input + {output} output = {input + output} tokens, more than {section}.maxModelLen ({profile.MaxModelLen})");
        }

        var blocks = (input + Math.Max(1, output) + profile.BlockTokens - 1) / profile.BlockTokens;
        if (blocks > profile.KvBlocks)
        {
            throw new ServingWorkloadException($"{name}: request {ordinal + 1} (at {At(start, arrival)}) needs {blocks} KV blocks of {profile.BlockTokens} tokens ({input} input + {output} output), more than {section}.kvCacheTokens holds ({profile.KvBlocks} blocks)");
        }
    }

    private static string At(Instant start, long arrival) =>
        NodaTime.Text.InstantPattern.ExtendedIso.Format(start + Duration.FromNanoseconds(arrival));

    /// <summary>Tokens of request <paramref name="ordinal"/> from the trace or, where it has none, the profile's distribution, capped at maxModelLen.</summary>
    private static (long Input, long Output) Tokens(ServingProfile profile, long seed, long ordinal, long? input, long? output, string name)
    {
        var i = input ?? Draw(profile.InputTokens, seed, 0, ordinal, "input", name);
        var o = output ?? Draw(profile.OutputTokens, seed, 1, ordinal, "output", name);
        if (input is null || output is null)
        {
            // Drawn tokens are capped at maxModelLen (input first, leaving room for one output token).
            i = Math.Min(i, profile.MaxModelLen - 1);
            o = Math.Min(o, profile.MaxModelLen - i);
        }

        return (i, o);
    }

    private static long Draw(TokenDistribution? distribution, long seed, int side, long ordinal, string which, string name)
    {
        if (distribution is null)
        {
            var column = side == 0 ? ParquetTrace.InputTokensColumn : ParquetTrace.OutputTokensColumn;
            throw new ServingWorkloadException($"{name}: has no {column} column and replica.serving.tokens.{which} gives no distribution: a serving replay needs each request's {which} tokens");
        }

        return distribution.Draw(seed, ordinal, side);
    }

    private struct Totals
    {
        public long Count;
        public long Input;
        public long Output;

        public void Add(long input, long output)
        {
            Count++;
            Input += input;
            Output += output;
        }
    }
}
