using Autoscale.Traces.Synthesis;
using Autoscale.Traces;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;

namespace Autoscale.Tests.Backtesting.Synthesis;

public sealed class TrafficSynthesizerTests
{
    private static long[] All(SynthOptions o) => TrafficSynthesizer.Generate(o).SelectMany(c => c).ToArray();

    [Fact]
    public void The_same_seed_gives_the_same_counts_and_another_seed_does_not()
    {
        var o = new SynthOptions { Length = Duration.FromHours(2), MeanRps = 40, DailyAmplitude = 0.3 };

        Assert.Equal(All(o), All(o));
        Assert.NotEqual(All(o), All(o with { Seed = 2 }));
    }

    [Fact]
    public void Poisson_noise_keeps_the_mean_and_its_variance()
    {
        var counts = All(new SynthOptions { Length = Duration.FromHours(6), MeanRps = 50 });
        var mean = counts.Average();
        var variance = counts.Select(c => (c - mean) * (c - mean)).Average();

        Assert.InRange(mean, 49.7, 50.3);
        Assert.InRange(variance / mean, 0.95, 1.05);
    }

    [Fact]
    public void A_dispersion_noise_has_the_variance_asked_for()
    {
        var counts = All(new SynthOptions { Length = Duration.FromHours(6), MeanRps = 50, Noise = NoiseKind.Dispersion, Dispersion = 4 });
        var mean = counts.Average();
        var variance = counts.Select(c => (c - mean) * (c - mean)).Average();

        Assert.InRange(mean, 49.5, 50.5);
        Assert.InRange(variance / mean, 3.7, 4.3);
    }

    [Fact]
    public void The_daily_cycle_peaks_at_its_local_hour_and_weekends_dip()
    {
        var o = new SynthOptions
        {
            Length = Duration.FromDays(7), Interval = Duration.FromMinutes(1), MeanRps = 100, DailyAmplitude = 0.5, PeakHour = 14,
            WeekendFactor = 0.5, Noise = NoiseKind.None, TimeZone = DateTimeZoneProviders.Tzdb["Europe/Berlin"],
        };
        var counts = All(o);

        // --mean-rps is the week's mean: weekdays run at 100 x 7 / (5 + 2 x 0.5) = 116.7 rps, weekends at half that.
        Assert.InRange(counts.Sum() / (7 * 86_400.0), 99.9, 100.1);

        // Monday 2026-01-05: 14:00 in Berlin is 13:00 UTC (minute 780); the trough twelve hours away.
        var monday = counts[..1440];
        Assert.InRange(Array.IndexOf(monday, monday.Max()), 770, 790);
        Assert.InRange(monday.Max(), 10490, 10510);   // 175 rps * 60 s
        Assert.InRange(monday.Min(), 3490, 3510);     // 58.3 rps * 60 s
        // Saturday (day 5, shifted by the zone's hour): half of Monday.
        Assert.InRange(counts[(5 * 1440 + 780)..(5 * 1440 + 781)][0], 5240, 5260);
    }

    [Fact]
    public void A_spike_adds_its_volume_and_repeats_daily()
    {
        var flat = new SynthOptions { Length = Duration.FromDays(2), MeanRps = 10, Noise = NoiseKind.None };
        var spiked = flat with { Spikes = [new SpikeSpec(flat.Start + Duration.FromHours(9), Duration.FromMinutes(2), Multiplier: 3, Every: Duration.FromDays(1))] };

        var extra = All(spiked).Sum() - All(flat).Sum();

        Assert.Equal(2 * 120 * 20, extra);  // two days x 120 s x 20 extra requests per second
    }

    [Property(MaxTest = 50)]
    public Property Transforms_of_a_trace_scale_repeat_and_shift_it() =>
        Prop.ForAll(Gen.Choose(1, 300).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 200), n)).ToArbitrary(), Gen.Choose(1, 4).ToArbitrary(), Gen.Choose(1, 3).ToArbitrary(), (counts, scale, repeat) =>
        {
            var trace = new TickTrace(Instant.FromUtc(2026, 1, 5, 0, 0), Duration.FromSeconds(1), counts.Select(c => (long)c).ToArray());
            var o = new SynthOptions { Base = trace, Scale = scale, Repeat = repeat, Shift = Duration.FromHours(1), Noise = NoiseKind.None };
            var result = All(o);
            return result.Length == counts.Length * repeat
                && result.Sum() == (long)counts.Sum() * scale * repeat
                && TrafficSynthesizer.StartOf(o) == trace.Start + Duration.FromHours(1);
        });

    [Fact]
    public async Task A_written_trace_reads_back_as_generated()
    {
        using var dir = new TempFolder();
        var o = new SynthOptions { Length = Duration.FromMinutes(30), MeanRps = 20, Seed = 9 };

        var (rows, requests) = await TrafficSynthesizer.WriteAsync(o, dir.File("s.parquet"));
        var trace = await ParquetTrace.ReadAsync(dir.File("s.parquet"), Duration.FromSeconds(1));

        Assert.Equal(1800, rows);
        Assert.Equal(All(o), trace.Arrivals);
        Assert.Equal(requests, trace.TotalRequests);
    }
}
