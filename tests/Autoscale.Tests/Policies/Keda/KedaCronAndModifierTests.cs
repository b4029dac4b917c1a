using Autoscale.Policies.Keda;
using NodaTime;
using Xunit;

namespace Autoscale.Tests.Policies.Keda;

/// <summary>KEDA's cron scaler and scaling modifiers, replayed: the cron expressions, the formula grammar, and the HPA KEDA creates for them.</summary>
public sealed class KedaCronAndModifierTests
{
    private static readonly DateTimeZone Berlin = DateTimeZoneProviders.Tzdb["Europe/Berlin"];

    private static Instant Berlin_(int year, int month, int day, int hour, int minute) =>
        new LocalDateTime(year, month, day, hour, minute).InZoneStrictly(Berlin).ToInstant();

    [Theory]
    // 2025-06-02 is a Monday. Weekdays at 08:00 in Berlin; from Saturday the next one is Monday.
    [InlineData("0 8 * * 1-5", "2025-06-02T07:59", "2025-06-02T08:00")]
    [InlineData("0 8 * * 1-5", "2025-06-02T08:00", "2025-06-03T08:00")]
    [InlineData("0 8 * * MON-FRI", "2025-06-07T12:00", "2025-06-09T08:00")]
    [InlineData("*/15 * * * *", "2025-06-02T10:07", "2025-06-02T10:15")]
    [InlineData("30 22 * * 0", "2025-06-02T00:00", "2025-06-08T22:30")]
    [InlineData("30 22 * * 7", "2025-06-02T00:00", "2025-06-08T22:30")]
    [InlineData("0 0 1 JAN *", "2025-06-02T00:00", "2026-01-01T00:00")]
    [InlineData("@hourly", "2025-06-02T10:59", "2025-06-02T11:00")]
    // Day of month and day of week both restricted: either matches (cron's rule); the 15th or any Sunday.
    [InlineData("0 12 15 * 0", "2025-06-09T13:00", "2025-06-15T12:00")]
    [InlineData("0 12 13 * 0", "2025-06-09T13:00", "2025-06-13T12:00")]
    public void Next_fire_times_follow_cron(string spec, string after, string expected)
    {
        var cron = KedaCron.TryParse(spec, out var problem);
        Assert.True(cron is not null, problem);
        var from = LocalDateTime.FromDateTime(DateTime.Parse(after, System.Globalization.CultureInfo.InvariantCulture)).InZoneStrictly(Berlin).ToInstant();

        var next = cron!.Next(from, Berlin);

        Assert.Equal(LocalDateTime.FromDateTime(DateTime.Parse(expected, System.Globalization.CultureInfo.InvariantCulture)).InZoneStrictly(Berlin).ToInstant(), next);
    }

    [Theory]
    [InlineData("0 8 * *", "five fields")]
    [InlineData("61 8 * * *", "minute field")]
    [InlineData("0 8 * * FOO", "day of week field")]
    [InlineData("0 8-6 * * *", "ends before it starts")]
    [InlineData("0 8/0 * * *", "bad step")]
    public void Bad_cron_expressions_say_what_is_wrong(string spec, string expected)
    {
        Assert.Null(KedaCron.TryParse(spec, out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cron_window_is_active_between_its_start_and_end_as_keda_reports_it()
    {
        var trigger = new KedaCronTrigger(Cron("0 8 * * 1-5", "0 18 * * 1-5", 5));

        Assert.Equal(1, trigger.Value(Berlin_(2025, 6, 2, 7, 59)));
        Assert.Equal(5, trigger.Value(Berlin_(2025, 6, 2, 8, 0)));
        Assert.Equal(5, trigger.Value(Berlin_(2025, 6, 2, 17, 59)));
        Assert.Equal(1, trigger.Value(Berlin_(2025, 6, 2, 18, 0)));
        Assert.Equal(1, trigger.Value(Berlin_(2025, 6, 7, 12, 0))); // Saturday
        Assert.Equal(5, trigger.Value(Berlin_(2025, 6, 4, 12, 0))); // back in time: a new run recomputes
    }

    private static KedaTrigger Cron(string start, string end, int desired) => new()
    {
        Type = "cron",
        Name = "office-hours",
        Metadata = new() { ["timezone"] = "Europe/Berlin", ["start"] = start, ["end"] = end, ["desiredReplicas"] = desired.ToString(System.Globalization.CultureInfo.InvariantCulture) },
    };

    [Fact]
    public void A_cron_trigger_holds_its_replicas_in_the_window_and_lets_them_go_after()
    {
        var options = new KedaOptions
        {
            MinReplicaCount = 1,
            MaxReplicaCount = 50,
            Triggers =
            [
                new KedaTrigger { Type = "prometheus", Name = "q", Signal = "queue", Metadata = new() { ["threshold"] = "10" } },
                Cron("0 8 * * 1-5", "0 18 * * 1-5", 6),
            ],
            Advanced = new KedaAdvanced { HorizontalPodAutoscalerConfig = new KedaHpaConfig { Behavior = new() { ScaleDown = new() { StabilizationWindowSeconds = 0 } } } },
        };
        var keda = new KedaPolicy(options);
        var start = Berlin_(2025, 6, 2, 7, 0);
        var replicas = 1;
        var seen = new Dictionary<int, int>();
        for (var s = 0; s <= 12 * 3600; s += 15)
        {
            var now = start + Duration.FromSeconds(s);
            var signal = new Autoscale.ScalingSignal(now, Duration.FromSeconds(15), replicas, 0, 0, 0, 30, Duration.FromSeconds(60)) { MaxReplicas = 1000 };
            replicas = keda.Decide(signal).DesiredReplicas;
            seen[s / 3600] = replicas;
        }

        // 07:00-08:00: 1 (the queue is empty); 08:00-18:00: the cron's 6, not multiplied each sync; from 18:00: back to 1.
        Assert.Equal(1, seen[0]);
        Assert.All(Enumerable.Range(1, 10), h => Assert.Equal(6, seen[h]));
        Assert.Equal(1, seen[12]);
    }

    [Theory]
    [InlineData("(a + b) / 2", 3, 5, 4)]
    [InlineData("a + b * 2", 1, 2, 5)]
    [InlineData("2 ** 3 ** 2", 0, 0, 512)]
    [InlineData("a > 2 ? a : b", 3, 9, 3)]
    [InlineData("a > 2 && b < 1 ? 1 : 0", 3, 0, 1)]
    [InlineData("not (a == 3) or b != 0 ? 7 : 8", 3, 0, 8)]
    [InlineData("max(a, b, 4) - min(a, b)", 1, 2, 3)]
    [InlineData("ceil(a / b) + floor(-1.5) + abs(-2)", 7, 2, 4)]
    [InlineData("7 % 4 + -a", 1, 0, 2)]
    [InlineData("queue-depth - 1", 5, 0, 4)]
    [InlineData("1_000 / 1e3", 0, 0, 1)]
    public void Formulas_evaluate_as_expr_lang_does(string formula, double a, double b, double expected)
    {
        var names = formula.Contains("queue-depth", StringComparison.Ordinal) ? new[] { "queue-depth", "b" } : ["a", "b"];
        var parsed = KedaFormula.TryParse(formula, names, out var problem);
        Assert.True(parsed is not null, problem);

        Assert.Equal(expected, parsed!.Evaluate([a, b]), 9);
    }

    [Theory]
    [InlineData("a +", "ends too soon")]
    [InlineData("a + c", "\"c\" names no trigger")]
    [InlineData("count([a, b], {# > 1})", "\"count\" is not replayed")]
    [InlineData("[a, b]", "arrays, maps, strings and closures")]
    [InlineData("(a + b", "expected \")\"")]
    [InlineData("", "must be given")]
    public void Bad_formulas_say_what_is_wrong(string formula, string expected)
    {
        Assert.Null(KedaFormula.TryParse(formula, ["a", "b"], out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Scaling_modifiers_scale_on_the_formula_against_its_target()
    {
        var options = new KedaOptions
        {
            MinReplicaCount = 1,
            MaxReplicaCount = 100,
            Triggers =
            [
                new KedaTrigger { Name = "queued", Signal = "queue", Metadata = new() { ["threshold"] = "1000" } },
                new KedaTrigger { Name = "rate", Signal = "arrivalRps", Metadata = new() { ["threshold"] = "1000" } },
            ],
            Advanced = new KedaAdvanced { ScalingModifiers = new KedaScalingModifiers { Formula = "queued + rate", Target = "10" } },
        };
        Assert.Empty(options.Validate());
        var keda = new KedaPolicy(options);
        keda.Decide(new Autoscale.ScalingSignal(Instant.FromUtc(2025, 6, 2, 0, 0), Duration.FromSeconds(15), 1, 0, 0, 0, 30, Duration.FromSeconds(60)) { MaxReplicas = 1000 });

        // 60 queued + 20 rps = 80 against an average of 10 per replica: 8 replicas, where each trigger alone (target 1000) would give 1.
        var signal = new Autoscale.ScalingSignal(Instant.FromUtc(2025, 6, 2, 0, 0, 15), Duration.FromSeconds(15), 1, 0, 60, 300, 30, Duration.FromSeconds(60)) { MaxReplicas = 1000 };
        Assert.Equal(4, keda.Decide(signal).DesiredReplicas); // the HPA's scale-up limit without behavior: max(2 x 1, 4)

        var keda2 = new KedaPolicy(options);
        keda2.Decide(new Autoscale.ScalingSignal(Instant.FromUtc(2025, 6, 2, 0, 0), Duration.FromSeconds(15), 4, 0, 0, 0, 30, Duration.FromSeconds(60)) { MaxReplicas = 1000 });
        var at4 = new Autoscale.ScalingSignal(Instant.FromUtc(2025, 6, 2, 0, 0, 15), Duration.FromSeconds(15), 4, 0, 60, 300, 30, Duration.FromSeconds(60)) { MaxReplicas = 1000 };
        Assert.Equal(8, keda2.Decide(at4).DesiredReplicas);
    }

    [Fact]
    public void A_formula_giving_true_or_false_or_reading_an_unnamed_trigger_is_refused()
    {
        var options = new KedaOptions
        {
            Triggers = [new KedaTrigger { Name = "a", Signal = "queue", Metadata = new() { ["threshold"] = "1" } }],
            Advanced = new KedaAdvanced { ScalingModifiers = new KedaScalingModifiers { Formula = "a > 1", Target = "1" } },
        };
        Assert.Contains(options.Validate(), e => e.Contains("must give a number", StringComparison.Ordinal));
        options.Triggers.Add(new KedaTrigger { Signal = "queue", Metadata = new() { ["threshold"] = "1" } });
        Assert.Contains(options.Validate(), e => e.Contains("every trigger needs a name", StringComparison.Ordinal));
    }

    // KEDA's own cron scaler tests, ported: kedacore/keda v2.17.0 pkg/scalers/cron_scaler_test.go (Apache-2.0, The KEDA
    // Authors), testCronMetadata (which metadata parse) and TestGetMetrics/TestGetMetricsRange (10 in the window, 1
    // outside), at fixed instants instead of the clock.
    [Theory]
    [InlineData(null, null, null, null, true)]
    [InlineData("Etc/UTC", "0 0 * * Thu", "59 23 * * Thu", "10", false)]
    [InlineData("Etc/UTC", "0 */2 * * *", "0 1-23/2 * * *", "10", false)]
    [InlineData("Asia/Kolkata", "30 * * * *", "45 * * * *", null, true)]
    [InlineData(null, "30 * * * *", "45 * * * *", "10", true)]
    [InlineData("Asia/Kolkata", "30-33 * * * *", "45 * * * *", "10", false)]
    [InlineData("Asia/Kolkata", "30 * * * *", "45-50 * * * *", "10", false)]
    [InlineData("Asia/Kolkata", "-30 * * * *", "45 * * * *", "10", true)]
    [InlineData("Asia/Kolkata", "30 * * * *", "-50 * * * *", "10", true)]
    [InlineData("Asia/Kolkata", "30 * * * *", "50 * * -3 *", "10", true)]
    [InlineData("Asia/Kolkata", "30 * * * *", "30 * * * *", "10", true)]
    public void Cron_metadata_parses_as_keda_parses_it(string? timezone, string? start, string? end, string? desired, bool isError)
    {
        var metadata = new Dictionary<string, string>();
        foreach (var (key, value) in new[] { ("timezone", timezone), ("start", start), ("end", end), ("desiredReplicas", desired) })
        {
            if (value is not null)
            {
                metadata[key] = value;
            }
        }

        var errors = new KedaTrigger { Type = "cron", Name = "c", Metadata = metadata }.Validate();

        Assert.True(isError == errors.Count > 0, string.Join("; ", errors));
    }

    [Fact]
    public void A_zero_desired_count_is_refused_as_keda_refuses_it()
    {
        var errors = new KedaTrigger { Type = "cron", Name = "c", Metadata = new() { ["timezone"] = "Etc/UTC", ["start"] = "0 8 * * *", ["end"] = "0 9 * * *", ["desiredReplicas"] = "0" } }.Validate();

        Assert.Contains(errors, e => e.Contains("1 or more", StringComparison.Ordinal));
    }

    [Theory]
    // validCronMetadata: Thursday all day (00:00 to 23:59). 2025-06-05 is a Thursday.
    [InlineData("0 0 * * Thu", "59 23 * * Thu", 2025, 6, 5, 12, 10)]
    [InlineData("0 0 * * Thu", "59 23 * * Thu", 2025, 6, 6, 12, 1)]
    // validCronMetadata2: even hours on, odd hours off.
    [InlineData("0 */2 * * *", "0 1-23/2 * * *", 2025, 6, 6, 14, 10)]
    [InlineData("0 */2 * * *", "0 1-23/2 * * *", 2025, 6, 6, 15, 1)]
    public void The_cron_scaler_reports_its_replicas_in_the_window_and_1_outside(string start, string end, int year, int month, int day, int hour, int expected)
    {
        var trigger = new KedaCronTrigger(new KedaTrigger
        {
            Type = "cron",
            Name = "c",
            Metadata = new() { ["timezone"] = "Etc/UTC", ["start"] = start, ["end"] = end, ["desiredReplicas"] = "10" },
        });

        Assert.Equal(expected, trigger.Value(Instant.FromUtc(year, month, day, hour, 30)));
    }

    // Scalers' own target keys and defaults, from KEDA v2.17's scaler sources (pkg/scalers/*_scaler.go).
    [Theory]
    [InlineData("aws-sqs-queue", null, null, 5)]
    [InlineData("aws-sqs-queue", "queueLength", "30", 30)]
    [InlineData("kafka", null, null, 10)]
    [InlineData("redis", null, null, 5)]
    [InlineData("redis-streams", "lagCount", "7", 7)]
    [InlineData("azure-eventhub", null, null, 64)]
    [InlineData("ibmmq", "queueDepth", "3", 3)]
    [InlineData("prometheus", "threshold", "500m", 0.5)]
    public void A_scaler_target_is_read_under_its_own_key_or_at_keda_s_default(string type, string? key, string? value, double expected)
    {
        var trigger = new KedaTrigger { Type = type, Signal = "queue", Metadata = key is null ? [] : new() { [key] = value! } };

        Assert.Empty(trigger.Validate());
        Assert.Equal(expected, trigger.Threshold);
    }

    [Theory]
    [InlineData("mysql", "metadata.queryValue (missing; the mysql scaler has no default)")]
    [InlineData("some-new-scaler", "metadata.threshold (missing; also looked for")]
    public void A_scaler_without_a_default_needs_its_target(string type, string expected)
    {
        var errors = new KedaTrigger { Type = type, Signal = "queue" }.Validate();

        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }
}
