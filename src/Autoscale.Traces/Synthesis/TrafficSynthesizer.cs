using Autoscale.Traces;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.Random;
using NodaTime;
using NodaTime.TimeZones;

namespace Autoscale.Traces.Synthesis;

/// <summary>
/// Generates interval counts from <see cref="SynthOptions"/>, chunk by chunk, so a year of per-second
/// traffic streams to disk without being held in memory. Same options and seed, same counts.
/// </summary>
public static class TrafficSynthesizer
{
    /// <summary>Rows per generated chunk (and row group).</summary>
    public const int ChunkRows = 1 << 20;

    /// <summary>Generates the counts in chunks of up to <see cref="ChunkRows"/>.</summary>
    /// <exception cref="InvalidOptionsException">The options break a rule.</exception>
    public static IEnumerable<long[]> Generate(SynthOptions options) => GenerateWithTokens(options).Select(c => c.Counts);

    /// <summary>
    /// Generates the counts in chunks of up to <see cref="ChunkRows"/> with, for a transformed trace that has token
    /// columns, the tokens of each generated interval: its requests times the mean tokens per request of the source
    /// interval it comes from (of the whole source where that interval had none), whole tokens carried row to row.
    /// </summary>
    /// <exception cref="InvalidOptionsException">The options break a rule.</exception>
    public static IEnumerable<(long[] Counts, long[]? InputTokens, long[]? OutputTokens)> GenerateWithTokens(SynthOptions options)
    {
        InvalidOptionsException.ThrowIfAny(options.Validate());
        return GenerateValid(options);
    }

    /// <summary>The start of the generated trace.</summary>
    public static Instant StartOf(SynthOptions options) => options.Base is { } b ? b.Start + options.Shift : options.Start;

    /// <summary>Writes the generated trace to <paramref name="path"/> (atomically); returns rows and requests.</summary>
    public static async Task<(long Rows, long Requests)> WriteAsync(SynthOptions options, string path, CancellationToken cancellationToken = default)
    {
        var chunks = GenerateWithTokens(options);
        var intervalNanos = options.Interval.ToInt64Nanoseconds();
        var startNanos = (StartOf(options) - Instant.FromUnixTimeTicks(0)).ToInt64Nanoseconds();
        var writer = await ParquetTraceWriter.CreateAsync(path, TraceShape.IntervalCounts, intervalNanos,
            withInputTokens: options.Base?.InputTokens is not null, withOutputTokens: options.Base?.OutputTokens is not null,
            evenlySpaced: true, cancellationToken: cancellationToken).ConfigureAwait(false);
        await using var writerScope = writer.ConfigureAwait(false);
        long row = 0, requests = 0;
        foreach (var (counts, input, output) in chunks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var stamps = new long[counts.Length];
            for (var i = 0; i < stamps.Length; i++)
            {
                stamps[i] = startNanos + (row + i) * intervalNanos;
                requests = checked(requests + counts[i]);
            }

            await writer.WriteRowGroupAsync(stamps, counts, input, output, cancellationToken).ConfigureAwait(false);
            row += counts.Length;
        }

        await writer.CommitAsync().ConfigureAwait(false);
        return (row, requests);
    }

    private static IEnumerable<(long[], long[]?, long[]?)> GenerateValid(SynthOptions o)
    {
        var random = new Xoshiro256StarStar(o.Seed, threadSafe: false);
        var rate = new RateShape(o);
        var seconds = o.Interval.TotalSeconds;
        var rows = o.Rows;
        var carry = 0.0;
        var input = TokenShare.Of(o.Base, o.Base?.InputTokens);
        var output = TokenShare.Of(o.Base, o.Base?.OutputTokens);
        for (long offset = 0; offset < rows; offset += ChunkRows)
        {
            var n = (int)Math.Min(ChunkRows, rows - offset);
            var chunk = new long[n];
            var inputChunk = input is null ? null : new long[n];
            var outputChunk = output is null ? null : new long[n];
            for (var i = 0; i < n; i++)
            {
                var expected = rate.At(offset + i) * seconds;
                chunk[i] = Draw(o, random, expected, ref carry);
                if (inputChunk is not null)
                {
                    inputChunk[i] = input!.For(offset + i, chunk[i]);
                }

                if (outputChunk is not null)
                {
                    outputChunk[i] = output!.For(offset + i, chunk[i]);
                }
            }

            yield return (chunk, inputChunk, outputChunk);
        }
    }

    /// <summary>Tokens of generated intervals from the mean tokens per request of the source intervals they come from.</summary>
    private sealed class TokenShare
    {
        private readonly TickTrace _source;
        private readonly long[] _tokens;
        private readonly double _overall;
        private double _carry;

        private TokenShare(TickTrace source, long[] tokens)
        {
            _source = source;
            _tokens = tokens;
            long total = 0;
            foreach (var t in tokens)
            {
                total = checked(total + t);
            }

            _overall = source.TotalRequests > 0 ? total / (double)source.TotalRequests : 0;
        }

        public static TokenShare? Of(TickTrace? source, long[]? tokens) => source is not null && tokens is not null ? new TokenShare(source, tokens) : null;

        public long For(long row, long requests)
        {
            var at = row % _source.Length;
            var perRequest = _source.Arrivals[at] > 0 ? _tokens[at] / (double)_source.Arrivals[at] : _overall;
            // Whole tokens, the fraction carried to the next row; the slack absorbs the rounding of an exact multiple.
            var exact = requests * perRequest + _carry;
            var whole = Math.Max(0, Math.Floor(exact + 1e-6));
            _carry = exact - whole;
            return (long)whole;
        }
    }

    private static long Draw(SynthOptions o, Random random, double expected, ref double carry)
    {
        if (!(expected > 0))
        {
            return 0;
        }

        switch (o.Noise)
        {
            case NoiseKind.Poisson:
                return PoissonCount(random, expected);
            case NoiseKind.Dispersion:
                // A Gamma-Poisson mixture (negative binomial): the rate is Gamma with shape r = mean / (D - 1)
                // and mean as given, so the count has variance mean + mean^2 / r = D * mean.
                var shape = expected / (o.Dispersion - 1);
                return PoissonCount(random, Gamma.Sample(random, shape, shape / expected));
            default:
                var total = expected + carry;
                var whole = Math.Floor(total);
                carry = total - whole;
                return (long)whole;
        }
    }

    /// <summary>
    /// A Poisson count of mean <paramref name="mean"/>: exact below a million, where MathNet's sampler counts in 32 bits;
    /// above it the normal approximation (its error is far below the count's own spread), as a 64-bit count.
    /// </summary>
    private static long PoissonCount(Random random, double mean)
    {
        if (mean < 1e6)
        {
            return Poisson.Sample(random, mean);
        }

        return (long)Math.Max(0, Math.Round(Normal.Sample(random, mean, Math.Sqrt(mean))));
    }

    /// <summary>The expected rate (requests per second) of each row.</summary>
    private sealed class RateShape
    {
        private readonly SynthOptions _o;
        private readonly Instant _start;
        private ZoneInterval? _zoneInterval;

        public RateShape(SynthOptions options)
        {
            _o = options;
            _start = StartOf(options);

            // --mean-rps is the mean over a whole week: five weekdays and a weekend at the weekend factor.
            _weekNormal = 7 / (5 + 2 * options.WeekendFactor);
        }

        private readonly double _weekNormal;

        public double At(long row)
        {
            var t = _start + _o.Interval * row;
            double rate;
            if (_o.Base is { } b)
            {
                rate = b.Arrivals[row % b.Length] / _o.Interval.TotalSeconds * _o.Scale;
            }
            else
            {
                rate = _o.MeanRps * _o.Scale * Cycles(t) * _weekNormal;
            }

            var multiplier = 1.0;
            var added = 0.0;
            foreach (var spike in _o.Spikes)
            {
                if (spike.IsActive(t))
                {
                    multiplier *= spike.Multiplier;
                    added += spike.AddedRps;
                }
            }

            return Math.Max(0, rate * multiplier + added);
        }

        private double Cycles(Instant t)
        {
            if (_o.DailyAmplitude == 0 && _o.WeekendFactor == 1)
            {
                return 1;
            }

            // The zone's offset only changes at its transitions: look it up once per zone interval.
            if (_zoneInterval is null || !_zoneInterval.Contains(t))
            {
                _zoneInterval = _o.TimeZone.GetZoneInterval(t);
            }

            var local = t.Plus(Duration.FromSeconds(_zoneInterval.WallOffset.Seconds));
            var nanosOfDay = local.ToUnixTimeTicks() % NodaConstants.TicksPerDay;
            if (nanosOfDay < 0)
            {
                nanosOfDay += NodaConstants.TicksPerDay;
            }

            var hour = nanosOfDay / (double)NodaConstants.TicksPerHour;
            var daily = 1 + _o.DailyAmplitude * Math.Cos(2 * Math.PI * (hour - _o.PeakHour) / 24);
            var day = local.InUtc().DayOfWeek;
            var weekly = day is IsoDayOfWeek.Saturday or IsoDayOfWeek.Sunday ? _o.WeekendFactor : 1;
            return daily * weekly;
        }
    }
}
