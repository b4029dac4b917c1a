using NodaTime;

namespace Autoscale.Traces.Synthesis;

/// <summary>
/// Prefix groups added to a trace (<c>trace synth --prefix-groups N --prefix-tokens T</c>): each request joins one of N
/// groups, drawn with Zipf weights (group k, from 1, has weight 1/k: a few system prompts carry most of the traffic, as in
/// conversation and agent traces), and shares its first T prompt tokens (all of a shorter prompt) with its group.
/// The output is a request log: a request log given with <c>--from</c> keeps its requests; interval counts are spread out,
/// the i-th of an interval's n requests at its start plus i/n of the interval, with the interval's tokens shared equally.
/// </summary>
public static class PrefixGroupSynthesis
{
    /// <summary>The most requests a synthesized request log holds (it is written from memory).</summary>
    public const long MaxRequests = 50_000_000;

    /// <summary>The group of request <paramref name="ordinal"/> among <paramref name="groups"/>, Zipf-weighted, from <paramref name="seed"/>.</summary>
    public static int Group(int groups, long seed, long ordinal, double[] cumulative)
    {
        var u = Uniform(seed, ordinal) * cumulative[^1];
        var k = Array.BinarySearch(cumulative, u);
        return Math.Min(k < 0 ? ~k : k, groups - 1);
    }

    /// <summary>The cumulative Zipf weights of <paramref name="groups"/> groups.</summary>
    public static double[] ZipfCumulative(int groups)
    {
        var c = new double[groups];
        double sum = 0;
        for (var k = 0; k < groups; k++)
        {
            sum += 1.0 / (k + 1);
            c[k] = sum;
        }

        return c;
    }

    /// <summary>Prefix groups for requests <paramref name="first"/> on, with their input tokens where known.</summary>
    public static RequestPrefixes Assign(int groups, long tokens, long seed, long first, long[]? input, int count)
    {
        var cumulative = ZipfCumulative(groups);
        var names = new string?[count];
        var shared = new long[count];
        for (var i = 0; i < count; i++)
        {
            names[i] = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"g{Group(groups, seed, first + i, cumulative) + 1}");
            shared[i] = input is null ? tokens : Math.Min(tokens, input[i]);
        }

        return new RequestPrefixes(names, shared);
    }

    /// <summary>
    /// Writes the trace <paramref name="options"/> describes as a request log with prefix groups; returns the requests.
    /// </summary>
    /// <exception cref="TraceFormatException">The trace would hold more than <see cref="MaxRequests"/> requests.</exception>
    public static async Task<long> WriteAsync(SynthOptions options, int groups, long tokens, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var start = TrafficSynthesizer.StartOf(options);
        var startNanos = (start - Instant.FromUnixTimeTicks(0)).ToInt64Nanoseconds();
        var step = options.Interval.ToInt64Nanoseconds();
        var stamps = new List<long>();
        List<long>? input = null, output = null;
        long row = 0;
        foreach (var (counts, inTokens, outTokens) in TrafficSynthesizer.GenerateWithTokens(options))
        {
            cancellationToken.ThrowIfCancellationRequested();
            input ??= inTokens is null ? null : [];
            output ??= outTokens is null ? null : [];
            for (var k = 0; k < counts.Length; k++, row++)
            {
                var n = counts[k];
                if (stamps.Count + n > MaxRequests)
                {
                    throw new TraceFormatException(path, $"with prefix groups the trace is written as a request log, at most {MaxRequests:N0} requests; this one has more: shorten it or lower the rate");
                }

                for (var i = 0L; i < n; i++)
                {
                    stamps.Add(startNanos + (row * step) + Autoscale.Shared.IntervalRequests.ArrivalOffset(i, n, step));
                    input?.Add(Autoscale.Shared.IntervalRequests.Share(inTokens![k], n, i));
                    output?.Add(Autoscale.Shared.IntervalRequests.Share(outTokens![k], n, i));
                }
            }
        }

        var prefixes = Assign(groups, tokens, options.Seed, 0, input?.ToArray(), stamps.Count);
        await ParquetTrace.WriteRequestLogWithPrefixesAsync(path, stamps.ToArray(), Column(input), Column(output), prefixes, cancellationToken: cancellationToken).ConfigureAwait(false);
        return stamps.Count;
    }

    /// <summary>A token column to write, or none (spelled out: a null array would convert into an empty, present column).</summary>
    public static ReadOnlyMemory<long>? Column(List<long>? values) => values is null ? (ReadOnlyMemory<long>?)null : new ReadOnlyMemory<long>(values.ToArray());

    private static double Uniform(long seed, long ordinal)
    {
        var x = unchecked(((ulong)seed * 0x9E3779B97F4A7C15UL) ^ ((ulong)ordinal * 0xBF58476D1CE4E5B9UL) ^ 0x5EED_C0DE_0000_0001UL);
        x = unchecked(x + 0x9E3779B97F4A7C15UL);
        x = unchecked((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL);
        x = unchecked((x ^ (x >> 27)) * 0x94D049BB133111EBUL);
        x ^= x >> 31;
        return ((x >> 11) + 0.5) / (1UL << 53);
    }
}
