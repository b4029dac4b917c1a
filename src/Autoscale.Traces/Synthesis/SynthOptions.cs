using Autoscale.Traces;
using NodaTime;

namespace Autoscale.Traces.Synthesis;

/// <summary>Randomness added to the expected count of each interval.</summary>
public enum NoiseKind
{
    /// <summary>No randomness: the expected count, rounded with the remainder carried forward.</summary>
    None,

    /// <summary>A Poisson draw (variance equals the mean).</summary>
    Poisson,

    /// <summary>A negative-binomial draw whose variance is <see cref="SynthOptions.Dispersion"/> times the mean (burstier than Poisson).</summary>
    Dispersion,
}

/// <summary>A burst of traffic: from <see cref="At"/> for <see cref="Width"/>, the rate is multiplied and/or raised.</summary>
/// <param name="At">When the spike starts.</param>
/// <param name="Width">How long it lasts.</param>
/// <param name="Multiplier">The rate is multiplied by this (1 for none).</param>
/// <param name="AddedRps">Requests per second added on top (0 for none).</param>
/// <param name="Every">When set, the spike repeats with this period (e.g. daily at 09:00).</param>
public sealed record SpikeSpec(Instant At, Duration Width, double Multiplier = 1, double AddedRps = 0, Duration? Every = null)
{
    /// <summary>Whether the spike is on at <paramref name="t"/>.</summary>
    public bool IsActive(Instant t)
    {
        if (t < At)
        {
            return false;
        }

        var since = (t - At).ToInt64Nanoseconds();
        if (Every is { } every)
        {
            since %= every.ToInt64Nanoseconds();
        }

        return since < Width.ToInt64Nanoseconds();
    }
}

/// <summary>
/// What <see cref="TrafficSynthesizer"/> generates: either a seeded synthetic rate (mean, daily and
/// weekly cycle, spikes, noise), or a transform of an existing trace (scale, shift, repeat, spikes spliced in).
/// </summary>
/// <remarks>Immutable.</remarks>
public sealed record SynthOptions
{
    /// <summary>The start of the generated trace (default Monday 2026-01-05 00:00 UTC).</summary>
    public Instant Start { get; init; } = Instant.FromUtc(2026, 1, 5, 0, 0);

    /// <summary>How long the trace lasts (ignored with a base trace, whose length times <see cref="Repeat"/> is used).</summary>
    public Duration Length { get; init; } = Duration.FromDays(1);

    /// <summary>The interval of each row (default 1 s).</summary>
    public Duration Interval { get; init; } = Duration.FromSeconds(1);

    /// <summary>The mean rate, requests per second, before the cycles and spikes.</summary>
    public double MeanRps { get; init; } = 100;

    /// <summary>The daily cycle: the rate swings by this fraction of the mean (0 for flat, up to 1).</summary>
    public double DailyAmplitude { get; init; }

    /// <summary>The local hour of the daily peak (0 to 24); the trough is twelve hours away.</summary>
    public double PeakHour { get; init; } = 14;

    /// <summary>The weekly cycle: Saturdays and Sundays run at this fraction of the weekday rate (1 for none).</summary>
    public double WeekendFactor { get; init; } = 1;

    /// <summary>The zone whose local time the daily and weekly cycles follow (default UTC).</summary>
    public DateTimeZone TimeZone { get; init; } = DateTimeZone.Utc;

    /// <summary>Spikes to add.</summary>
    public IReadOnlyList<SpikeSpec> Spikes { get; init; } = [];

    /// <summary>The noise on each interval's count.</summary>
    public NoiseKind Noise { get; init; } = NoiseKind.Poisson;

    /// <summary>Variance over mean for <see cref="NoiseKind.Dispersion"/> (greater than 1).</summary>
    public double Dispersion { get; init; } = 2;

    /// <summary>The seed of every random draw.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>A trace to transform instead of a synthetic rate.</summary>
    public TickTrace? Base { get; init; }

    /// <summary>Multiplies the rate (of the base trace or the synthetic one).</summary>
    public double Scale { get; init; } = 1;

    /// <summary>Moves the base trace in time (its start plus this).</summary>
    public Duration Shift { get; init; }

    /// <summary>Plays the base trace this many times back to back.</summary>
    public int Repeat { get; init; } = 1;

    /// <summary>Intervals in the generated trace.</summary>
    public long Rows => Base is { } b ? b.Length * Repeat : Length.ToInt64Nanoseconds() / Interval.ToInt64Nanoseconds();

    /// <summary>The most requests per second a generated rate may reach (mean, scale and spikes together).</summary>
    public const double MaxRps = 1e9;

    /// <summary>Every rule the options break, one message each; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        var ms = Duration.FromMilliseconds(1);
        if (Interval < ms || Interval.ToInt64Nanoseconds() % ms.ToInt64Nanoseconds() != 0)
        {
            // Traces are written to the millisecond: a finer interval would write two rows at one timestamp.
            errors.Add($"--interval ({Interval.TotalSeconds.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} s) must be a whole number of milliseconds, at least 1 ms");
        }

        if (Base is null && (Length <= Duration.Zero || (Interval > Duration.Zero && Rows < 1)))
        {
            errors.Add($"--duration ({Length.TotalSeconds} s) must be at least one interval");
        }

        if (!(MeanRps >= 0 && MeanRps <= MaxRps))
        {
            errors.Add($"--mean-rps ({MeanRps}) must be between 0 and {MaxRps:0e0}");
        }

        SpanErrors(errors);
        if (!(DailyAmplitude is >= 0 and <= 1))
        {
            errors.Add($"--daily-amplitude ({DailyAmplitude}) must be between 0 and 1");
        }

        if (!(PeakHour is >= 0 and < 24))
        {
            errors.Add($"--peak-hour ({PeakHour}) must be in [0, 24)");
        }

        if (!(WeekendFactor is >= 0 and <= 10))
        {
            errors.Add($"--weekend-factor ({WeekendFactor}) must be between 0 and 10");
        }

        if (Noise == NoiseKind.Dispersion && !(Dispersion > 1 && double.IsFinite(Dispersion)))
        {
            errors.Add($"dispersion ({Dispersion}) must be > 1 (1 is Poisson)");
        }

        if (!(Scale >= 0 && Scale <= 1e6))
        {
            errors.Add($"--scale ({Scale}) must be between 0 and 1000000");
        }

        if (Repeat < 1)
        {
            errors.Add($"--repeat ({Repeat}) must be >= 1");
        }

        foreach (var spike in Spikes)
        {
            if (spike.Width <= Duration.Zero || !(spike.Multiplier is >= 0 and <= 1e6) || !(spike.AddedRps is >= 0 and <= MaxRps) || (spike.Every is { } every && every <= spike.Width))
            {
                errors.Add($"--spike at {spike.At}: width must be > 0, height at most 1000000x or +{MaxRps:0e0}, and every (if set) longer than the width");
            }
        }

        CountErrors(errors);
        if (Base is not null && Base.Tick != Interval)
        {
            errors.Add($"the base trace must be binned to the interval ({Interval.TotalSeconds} s)");
        }

        return errors;
    }

    /// <summary>The trace's span: within what a replay of 1-second ticks runs, and its timestamps within the years a trace may hold.</summary>
    private void SpanErrors(List<string> errors)
    {
        var ms = Duration.FromMilliseconds(1);
        if (Interval >= ms && Repeat >= 1 && (Base is null || Base.Length > 0))
        {
            var rows = Base is { } b ? (decimal)b.Length * Repeat : Length.ToInt64Nanoseconds() / Interval.ToInt64Nanoseconds();
            var seconds = rows * (decimal)Interval.TotalSeconds;
            var start = Base is { } baseTrace ? baseTrace.Start + Shift : Start;
            if (seconds > Traces.TraceLimits.MaxTicks)
            {
                errors.Add($"the trace would span {seconds:N0} s; at most {Traces.TraceLimits.Count(Traces.TraceLimits.MaxTicks)} s (68 years), what a replay of 1-second ticks can run");
            }
            else if (!Traces.TraceLimits.Contains(start) || start + Duration.FromSeconds((double)seconds) > Traces.TraceLimits.End)
            {
                errors.Add($"the trace would run from {Traces.TraceLimits.Format(start)} for {seconds:N0} s: {Traces.TraceLimits.TimestampRule}");
            }
        }
    }

    /// <summary>The requests the trace could hold, at its busiest (mean, scale and every spike at once), within what a replay counts.</summary>
    private void CountErrors(List<string> errors)
    {
        // The busiest interval must stay countable: mean, scale and every spike at once.
        var peak = MeanRps * Scale * (1 + DailyAmplitude) * 7 / (5 + 2 * Math.Min(1, WeekendFactor)) * Math.Max(1, WeekendFactor)
            * Spikes.Aggregate(1.0, (m, s) => m * Math.Max(1, s.Multiplier)) + Spikes.Sum(s => s.AddedRps);
        if (Base is { } source && Rows > 0)
        {
            var most = (double)source.TotalRequests * Scale * Repeat * Spikes.Aggregate(1.0, (m, s) => m * Math.Max(1, s.Multiplier))
                + Spikes.Sum(s => s.AddedRps) * Interval.TotalSeconds * Rows;
            if (most > Traces.TraceLimits.MaxRequests)
            {
                errors.Add($"the trace could hold {most:0.###e0} requests, more than a replay can count ({Traces.TraceLimits.MaxRequests:0.###e0}): lower --scale, --repeat or the spikes");
            }
        }

        if (Base is null && double.IsFinite(peak) && peak * Interval.TotalSeconds * Rows > Traces.TraceLimits.MaxRequests)
        {
            errors.Add($"the trace could hold {peak * Interval.TotalSeconds * Rows:0.###e0} requests, more than a replay can count ({Traces.TraceLimits.MaxRequests:0.###e0}): lower --mean-rps or the spikes");
        }
    }
}
