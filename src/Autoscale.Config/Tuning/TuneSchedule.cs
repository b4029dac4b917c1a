using NodaTime;

namespace Autoscale.Config.Tuning;

/// <summary>
/// One training window of a tune: a walk-forward fold (trained on its window, judged on the test days after it) or the
/// last training window of the trace (the setting to deploy, with no test days). Days are given by their first tick,
/// with the window's end as the last entry.
/// </summary>
/// <param name="Index">The fold's number from 0; the deploy window comes last.</param>
/// <param name="Deploy">Whether this is the last training window (no test days).</param>
/// <param name="TrainDays">Each training day's first tick, then the first tick after the window.</param>
/// <param name="TestDays">Each test day's first tick, then the first tick after them; empty for the deploy window.</param>
/// <param name="DayStarts">The instant each day of <paramref name="TrainDays"/> and then <paramref name="TestDays"/> begins (the ends included).</param>
public sealed record TuneWindow(int Index, bool Deploy, IReadOnlyList<long> TrainDays, IReadOnlyList<long> TestDays, IReadOnlyList<Instant> DayStarts)
{
    /// <summary>The training window's first tick.</summary>
    public long TrainFrom => TrainDays[0];

    /// <summary>The first tick after the training window.</summary>
    public long TrainTo => TrainDays[^1];

    /// <summary>Training days.</summary>
    public int TrainDayCount => TrainDays.Count - 1;

    /// <summary>Held-out days (0 for the deploy window).</summary>
    public int TestDayCount => Math.Max(0, TestDays.Count - 1);

    /// <summary>The instant the training days begin.</summary>
    public Instant TrainStart => DayStarts[0];

    /// <summary>The instant the training days end.</summary>
    public Instant TrainEnd => DayStarts[TrainDayCount];

    /// <summary>The instant the held-out days begin; null for the deploy window.</summary>
    public Instant? TestStart => Deploy ? null : DayStarts[TrainDayCount];

    /// <summary>The instant the held-out days end; null for the deploy window.</summary>
    public Instant? TestEnd => Deploy ? null : DayStarts[^1];
}

/// <summary>
/// Walk-forward folds by whole calendar days in a time zone: a partial first (and last) day is skipped; fold k trains on
/// days [k x test, k x test + train) and is judged on the test days that follow; the last window trains on the trace's
/// last <c>train</c> whole days.
/// </summary>
public static class TuneSchedule
{
    /// <summary>The folds, then the deploy window.</summary>
    /// <exception cref="ArgumentException">The trace holds fewer whole days than one fold needs; the message says how many it has.</exception>
    public static IReadOnlyList<TuneWindow> Build(Instant start, Duration tick, long ticks, DateTimeZone zone, int trainDays, int testDays)
    {
        var days = WholeDays(start, tick, ticks, zone);
        var count = days.Count - 1;
        if (count < trainDays + testDays)
        {
            var first = days.Count > 0 ? $" from {days[0].Start.InZone(zone).Date:yyyy-MM-dd}" : "";
            throw new ArgumentException($"the trace holds {Math.Max(0, count)} whole calendar day(s) in {zone.Id}{first}; --train {trainDays}d --test {testDays}d needs at least {trainDays + testDays}");
        }

        var windows = new List<TuneWindow>();
        for (var k = 0; k * testDays + trainDays + testDays <= count; k++)
        {
            var from = k * testDays;
            windows.Add(new TuneWindow(windows.Count, false,
                days.Skip(from).Take(trainDays + 1).Select(d => d.Tick).ToList(),
                days.Skip(from + trainDays).Take(testDays + 1).Select(d => d.Tick).ToList(),
                days.Skip(from).Take(trainDays + testDays + 1).Select(d => d.Start).ToList()));
        }

        windows.Add(new TuneWindow(windows.Count, true,
            days.Skip(count - trainDays).Select(d => d.Tick).ToList(), [],
            days.Skip(count - trainDays).Select(d => d.Start).ToList()));
        return windows;
    }

    /// <summary>The first tick of each whole calendar day of the trace, and the first tick after the last one.</summary>
    private static List<(long Tick, Instant Start)> WholeDays(Instant start, Duration tick, long ticks, DateTimeZone zone)
    {
        var end = start + tick * ticks;
        var date = start.InZone(zone).Date;
        if (zone.AtStartOfDay(date).ToInstant() < start)
        {
            date = date.PlusDays(1);
        }

        var days = new List<(long, Instant)>();
        var tickNanos = tick.ToInt64Nanoseconds();
        while (true)
        {
            var at = zone.AtStartOfDay(date).ToInstant();
            if (at > end)
            {
                break;
            }

            // A day that begins inside a tick begins with the next tick.
            var nanos = (at - start).ToInt64Nanoseconds();
            days.Add(((nanos + tickNanos - 1) / tickNanos, at));
            date = date.PlusDays(1);
        }

        return days;
    }
}
