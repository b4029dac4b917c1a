using Autoscale.Backtesting.Engine;
using Autoscale.Traces;
using Autoscale.Policies.ScheduledFloor;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;

namespace Autoscale.Tests.Policies;

public sealed class ScheduledFloorTests
{
    private static readonly DateTimeZone Berlin = DateTimeZoneProviders.Tzdb["Europe/Berlin"];

    private static ScheduledFloorPolicy Policy(string days, string from, string to, int min = 4, int fallback = 0, string zone = "Europe/Berlin") =>
        new(new ScheduledFloorOptions
        {
            TimeZone = zone,
            DefaultMinReplicas = fallback,
            Schedule = [new ScheduleWindow { Days = days, From = from, To = to, MinReplicas = min }],
        });

    private static Instant Local(int y, int m, int d, int h, int min, bool later = false)
    {
        var local = new LocalDateTime(y, m, d, h, min);
        var mapping = Berlin.MapLocal(local);
        return (later ? mapping.Last() : mapping.First()).ToInstant();
    }

    [Fact]
    public void A_weekday_window_holds_its_floor_in_local_time()
    {
        var policy = Policy("Mon-Fri", "07:00", "21:00", min: 2);

        Assert.Equal(0, policy.FloorAt(Local(2026, 1, 5, 6, 59)));   // Monday, before
        Assert.Equal(2, policy.FloorAt(Local(2026, 1, 5, 7, 0)));    // Monday 07:00 Berlin = 06:00 UTC
        Assert.Equal(2, policy.FloorAt(Local(2026, 1, 9, 20, 59)));  // Friday
        Assert.Equal(0, policy.FloorAt(Local(2026, 1, 9, 21, 0)));   // end is exclusive
        Assert.Equal(0, policy.FloorAt(Local(2026, 1, 10, 12, 0)));  // Saturday
    }

    [Fact]
    public void An_overnight_window_belongs_to_the_day_it_starts()
    {
        var policy = Policy("Fri", "22:00", "06:00");

        Assert.Equal(4, policy.FloorAt(Local(2026, 1, 9, 23, 0)));  // Friday night
        Assert.Equal(4, policy.FloorAt(Local(2026, 1, 10, 5, 59))); // Saturday morning, still Friday's window
        Assert.Equal(0, policy.FloorAt(Local(2026, 1, 10, 6, 0)));
        Assert.Equal(0, policy.FloorAt(Local(2026, 1, 8, 23, 0)));  // Thursday night
    }

    [Fact]
    public void A_window_starting_in_the_spring_forward_gap_opens_when_the_clock_jumps()
    {
        // Sunday 2026-03-29: Berlin clocks go from 02:00 straight to 03:00.
        var policy = Policy("Sun", "02:30", "05:00");
        var jump = Instant.FromUtc(2026, 3, 29, 1, 0); // 03:00 CEST, the first local time after the gap

        Assert.Equal(0, policy.FloorAt(jump - Duration.FromSeconds(1))); // 01:59:59 CET
        Assert.Equal(4, policy.FloorAt(jump));
        Assert.Equal(4, policy.FloorAt(Local(2026, 3, 29, 4, 59)));
        Assert.Equal(0, policy.FloorAt(Local(2026, 3, 29, 5, 0)));
    }

    [Fact]
    public void A_window_ending_in_the_gap_closes_at_the_jump()
    {
        var policy = Policy("Sun", "01:00", "02:30");
        var jump = Instant.FromUtc(2026, 3, 29, 1, 0);

        Assert.Equal(4, policy.FloorAt(jump - Duration.FromSeconds(1)));
        Assert.Equal(0, policy.FloorAt(jump));
    }

    [Fact]
    public void The_repeated_fall_back_hour_is_in_the_window_both_times()
    {
        // Sunday 2026-10-25: Berlin clocks go from 03:00 CEST back to 02:00 CET; 02:00-02:59 happens twice.
        var policy = Policy("Sun", "02:15", "02:45");

        Assert.Equal(4, policy.FloorAt(Local(2026, 10, 25, 2, 30)));             // first 02:30 (CEST, 00:30 UTC)
        Assert.Equal(4, policy.FloorAt(Local(2026, 10, 25, 2, 30, later: true))); // second 02:30 (CET, 01:30 UTC)
        Assert.Equal(0, policy.FloorAt(Instant.FromUtc(2026, 10, 25, 1, 0)));    // 02:00 CET, between the two windows
    }

    [Property(MaxTest = 300)]
    public Property The_floor_holds_at_every_instant_of_its_window_across_dst() =>
        Prop.ForAll(
            Gen.Choose(0, 364 * 24 * 60).ToArbitrary(),                          // a minute of 2026
            Gen.Zip(Gen.Choose(0, 23 * 60), Gen.Choose(1, 8 * 60)).ToArbitrary(), // window start and length, minutes
            Gen.Elements("Mon-Fri", "Sat,Sun", "Sun", "*", "Fri-Mon").ToArbitrary(),
            (minuteOfYear, window, days) =>
            {
                var (from, length) = window;
                var to = Math.Min(24 * 60, from + length);
                string Hm(int m) => m == 1440 ? "24:00" : $"{m / 60:00}:{m % 60:00}";
                var policy = Policy(days, Hm(from), Hm(to));
                var instant = Instant.FromUtc(2026, 1, 1, 0, 0) + Duration.FromMinutes(minuteOfYear) + Duration.FromSeconds(17);

                // The oracle: NodaTime's own local time of the instant.
                var local = instant.InZone(Berlin).LocalDateTime;
                var minute = local.Hour * 60 + local.Minute + local.Second / 60.0;
                var day = ScheduleWindow.ParseDaysForTest(days)[(int)local.DayOfWeek - 1];
                var inside = day && minute >= from && minute < to;

                var signal = new ScalingSignal(instant, Duration.FromSeconds(15), 0, 0, 0, 0, 30, Duration.FromSeconds(90)) { MaxReplicas = 100 };
                var desired = policy.Decide(signal).DesiredReplicas;
                return (!inside || desired >= 4).Label($"{local} in {days} {Hm(from)}-{Hm(to)}: desired {desired}");
            });

    [Theory]
    [InlineData(90, 15)]
    [InlineData(240, 60)]
    [InlineData(45, 1)]
    public void The_floor_is_ready_when_the_window_opens(int loadSeconds, int decisionSeconds)
    {
        // The trace starts an hour before a 07:00 Berlin window (06:00 UTC); no traffic at all.
        var policy = Policy("Mon-Fri", "07:00", "09:00", min: 6);
        var start = Instant.FromUtc(2026, 1, 5, 5, 0);
        var settings = new ReplaySettings(new SloSettings(NodaTime.Duration.FromSeconds(2), 99), new ReplicaSettings(30, 1, 3), Duration.FromSeconds(1), 50);
        var spec = new CandidateSpec("s", () => policy, new FixedLoadTime(Duration.FromSeconds(loadSeconds)), decisionSeconds);
        var run = new CandidateRun(spec, settings, start);
        var open = 3600; // 06:00 UTC

        for (var t = 0; t <= open; t++)
        {
            if (t == open)
            {
                run.Step(0);
                Assert.True(run.ReadyReplicas >= 6, $"{run.ReadyReplicas} ready at the window's start");
                break;
            }

            run.Step(0);
            if (t < open - loadSeconds - 2 * decisionSeconds)
            {
                Assert.Equal(0, run.ReadyReplicas + run.LoadingReplicas);
            }
        }
    }

    [Theory]
    [InlineData("Mon-Fry", "07:00", "21:00", "schedule[0]: days (\"Mon-Fry\") must be days such as Mon-Fri, Sat,Sun or *")]
    [InlineData("Mon", "7am", "21:00", "schedule[0]: from (\"7am\") must be a local time HH:mm")]
    [InlineData("Mon", "07:00", "25:00", "schedule[0]: to (\"25:00\") must be a local time HH:mm or 24:00")]
    public void A_bad_window_is_named(string days, string from, string to, string expected)
    {
        var error = Assert.Throws<InvalidOptionsException>(() => Policy(days, from, to));
        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public void A_bad_zone_is_named()
    {
        var error = Assert.Throws<InvalidOptionsException>(() => Policy("*", "00:00", "01:00", zone: "Europe/Atlantis"));
        Assert.Equal("timeZone (\"Europe/Atlantis\") must be an IANA time zone such as Europe/Berlin", error.Message);
    }
}
