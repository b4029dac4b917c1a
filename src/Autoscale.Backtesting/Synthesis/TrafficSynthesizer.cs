using Autoscale.Backtesting.Traces;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.Random;
using NodaTime;
using NodaTime.TimeZones;

namespace Autoscale.Backtesting.Synthesis;

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
    public static IEnumerable<long[]> Generate(SynthOptions options)
    {
        InvalidOptionsException.ThrowIfAny(options.Validate());
        return GenerateValid(options);
    }

    /// <summary>The start of the generated trace.</summary>
    public static Instant StartOf(SynthOptions options) => options.Base is { } b ? b.Start + options.Shift : options.Start;

    /// <summary>Writes the generated trace to <paramref name="path"/> (atomically); returns rows and requests.</summary>
    public static async Task<(long Rows, long Requests)> WriteAsync(SynthOptions options, string path, CancellationToken cancellationToken = default)
    {
        var chunks = Generate(options);
        var intervalNanos = options.Interval.ToInt64Nanoseconds();
        var startNanos = (StartOf(options) - Instant.FromUnixTimeTicks(0)).ToInt64Nanoseconds();
        await using var writer = await ParquetTraceWriter.CreateAsync(path, TraceShape.IntervalCounts, intervalNanos, cancellationToken: cancellationToken, evenlySpaced: true);
        long row = 0, requests = 0;
        foreach (var chunk in chunks)
        {
            var stamps = new long[chunk.Length];
            for (var i = 0; i < stamps.Length; i++)
            {
                stamps[i] = startNanos + (row + i) * intervalNanos;
                requests += chunk[i];
            }

            await writer.WriteRowGroupAsync(stamps, chunk, cancellationToken: cancellationToken);
            row += chunk.Length;
        }

        await writer.CommitAsync();
        return (row, requests);
    }

    private static IEnumerable<long[]> GenerateValid(SynthOptions o)
    {
        var random = new Xoshiro256StarStar(o.Seed, threadSafe: false);
        var rate = new RateShape(o);
        var seconds = o.Interval.TotalSeconds;
        var rows = o.Rows;
        var carry = 0.0;
        for (long offset = 0; offset < rows; offset += ChunkRows)
        {
            var n = (int)Math.Min(ChunkRows, rows - offset);
            var chunk = new long[n];
            for (var i = 0; i < n; i++)
            {
                var expected = rate.At(offset + i) * seconds;
                chunk[i] = Draw(o, random, expected, ref carry);
            }

            yield return chunk;
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
                return Poisson.Sample(random, expected);
            case NoiseKind.Dispersion:
                // A Gamma-Poisson mixture (negative binomial): the rate is Gamma with shape r = mean / (D - 1)
                // and mean as given, so the count has variance mean + mean^2 / r = D * mean.
                var shape = expected / (o.Dispersion - 1);
                return Poisson.Sample(random, Gamma.Sample(random, shape, shape / expected));
            default:
                var total = expected + carry;
                var whole = Math.Floor(total);
                carry = total - whole;
                return (long)whole;
        }
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
        }

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
                rate = _o.MeanRps * _o.Scale * Cycles(t);
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
