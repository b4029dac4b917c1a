using Autoscale.Config.Tuning;
using NodaTime;
using Xunit;

namespace Autoscale.Tests.Tuning;

/// <summary>Walk-forward folds by whole calendar days in the report's time zone.</summary>
public sealed class TuneScheduleTests
{
    private static readonly Duration Second = Duration.FromSeconds(1);

    [Fact]
    public void Fourteen_days_give_seven_folds_and_the_last_week_to_deploy()
    {
        var start = Instant.FromUtc(2026, 1, 5, 0, 0);
        var windows = TuneSchedule.Build(start, Second, 14 * 86_400, DateTimeZone.Utc, 7, 1);

        Assert.Equal(8, windows.Count);
        Assert.Equal(7, windows.Count(w => !w.Deploy));
        for (var k = 0; k < 7; k++)
        {
            var w = windows[k];
            Assert.Equal(k * 86_400L, w.TrainFrom);
            Assert.Equal((k + 7) * 86_400L, w.TrainTo);
            Assert.Equal([(k + 7) * 86_400L, (k + 8) * 86_400L], w.TestDays);
            Assert.Equal(start + Duration.FromDays(k + 7), w.TestStart);
        }

        var deploy = windows[^1];
        Assert.True(deploy.Deploy);
        Assert.Equal(7 * 86_400L, deploy.TrainFrom);
        Assert.Equal(14 * 86_400L, deploy.TrainTo);
        Assert.Empty(deploy.TestDays);
        Assert.Null(deploy.TestStart);
    }

    [Fact]
    public void A_partial_first_day_is_skipped_and_test_days_step_by_the_test()
    {
        // From Monday 09:30 for 12 days: the first whole day is Tuesday; the last, partial, is left out too.
        var start = Instant.FromUtc(2026, 1, 5, 9, 30);
        var windows = TuneSchedule.Build(start, Second, 12 * 86_400, DateTimeZone.Utc, 4, 2);
        var tuesday = (long)(Instant.FromUtc(2026, 1, 6, 0, 0) - start).TotalSeconds;

        Assert.Equal(tuesday, windows[0].TrainFrom);
        Assert.Equal(Instant.FromUtc(2026, 1, 6, 0, 0), windows[0].TrainStart);

        // 11 whole days: folds at days 0, 2 and 4 (4 training days and 2 held-out ones each), then the last 4 days.
        Assert.Equal(4, windows.Count);
        Assert.Equal([tuesday + (4 * 86_400L), tuesday + (5 * 86_400L), tuesday + (6 * 86_400L)], windows[0].TestDays);
        Assert.Equal(tuesday + (2 * 86_400L), windows[1].TrainFrom);
        Assert.Equal(tuesday + (11 * 86_400L), windows[^1].TrainTo);
    }

    [Fact]
    public void Days_follow_the_zone_across_a_change_of_clocks()
    {
        // New York moves to summer time on Sunday 2026-03-08: that day has 23 hours.
        var zone = DateTimeZoneProviders.Tzdb["America/New_York"];
        var start = Instant.FromUtc(2026, 3, 5, 5, 0);
        var windows = TuneSchedule.Build(start, Second, 6 * 86_400, zone, 2, 1);

        var days = windows[0].TrainDays.Concat(windows[0].TestDays.Skip(1)).ToList();
        Assert.Equal(0, days[0]);
        var lengths = days.Zip(days.Skip(1), (a, b) => b - a).ToList();
        Assert.Equal([86_400L, 86_400L, 86_400L], lengths);
        var sunday = windows.First(w => !w.Deploy && w.TestStart == zone.AtStartOfDay(new LocalDate(2026, 3, 8)).ToInstant());
        Assert.Equal(23 * 3600L, sunday.TestDays[1] - sunday.TestDays[0]);
    }

    [Fact]
    public void A_trace_shorter_than_one_fold_says_how_many_days_it_has()
    {
        var e = Assert.Throws<ArgumentException>(() => TuneSchedule.Build(Instant.FromUtc(2026, 1, 5, 0, 0), Second, 5 * 86_400, DateTimeZone.Utc, 7, 1));
        Assert.Equal("the trace holds 5 whole calendar day(s) in UTC from 2026-01-05; --train 7d --test 1d needs at least 8", e.Message);
    }

    [Fact]
    public void Successive_halving_judges_on_the_last_days_a_third_as_many_per_rung()
    {
        Assert.Equal([1, 3, 7], Tuner.Rungs(7));
        Assert.Equal([2, 5, 14], Tuner.Rungs(14));
        Assert.Equal([1, 2], Tuner.Rungs(2));
        Assert.Equal([1], Tuner.Rungs(1));
    }
}
