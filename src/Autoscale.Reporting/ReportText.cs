using System.Globalization;
using NodaTime;
using NodaTime.Text;

namespace Autoscale.Reporting;

/// <summary>The words and scales every report uses: how long a trace is, what each column means.</summary>
public static class ReportText
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    /// <summary>The terms of the reports and what they mean, in the order a reader meets them.</summary>
    public static IReadOnlyList<(string Term, string Meaning)> Glossary { get; } =
    [
        ("requests", "Requests in the trace; every candidate replays the same ones."),
        ("late", "Requests whose service started more than slo.maxWaitSeconds after they arrived, or still waiting at the end and older than that."),
        ("dropped", "Requests that waited longer than slo.clientTimeoutSeconds and left."),
        ("viol %", "Late plus dropped, as a percentage of requests. A candidate meets the SLO when at most 100 - slo.targetPercent of them violate it."),
        ("p99 wait s", "The 99th percentile of the wait before service (nearest rank, in whole ticks); with a serving profile, the wait from arrival to admission into a batch."),
        ("p99 TTFT s", "With a serving profile: the 99th percentile time to first token, arrival to the end of the step that completes the prompt (nearest rank, buckets of 1 ms or 1 %, the bucket's upper edge; a dropped request counts as infinite, shown as dropped). Late and dropped then count requests that miss slo.maxTtftSeconds, maxTpotSeconds or maxE2eSeconds, or leave."),
        ("p99 TPOT s", "With a serving profile: the 99th percentile time per output token after the first, (end - first token) / (output tokens - 1), over requests with more than one output token."),
        ("p99 E2E s", "With a serving profile: the 99th percentile time from arrival to the last token."),
        ("prefix cache hits", "With prefix caching on a trace with prefix columns (hash_ids, or prefix_group with prefix_tokens): prompt tokens served from a replica's prefix cache over prompt tokens admitted (a preempted request's again). docs/serving.md, \"Prefix caching\"."),
        ("$/M tokens", "With a serving profile: dollars per million tokens (input plus output) of the requests served."),
        ("$ total", "Dollars billed over the whole trace: every replica from the start of its load until its release, gpus x dollarsPerGpuHour, plus billing rounding and cache hold."),
        ("$/hour, $/day", "$ total divided by the trace's length in hours (or days): what the candidate costs per hour of traffic like this."),
        ("idle $", "Dollars of ready capacity the queue could not use: per tick, (ready x capacity - served) / capacity replica-seconds."),
        ("loading $", "Dollars paid for replicas while they loaded (billed, not serving)."),
        ("cold starts", "Loads started after the first tick (the first decision's fleet starts ready)."),
        ("peak replicas, end replicas", "The largest ready + loading count; the ready count after the last tick."),
        ("minutes in breach", "Minutes of the trace whose own violation share was above the SLO's allowance."),
        ("budget burn", "Violations over the error budget (requests x (100 - targetPercent)%): 1x spends the budget exactly, 47x overspends it 47 times."),
        ("capacity lag", "How long demand (arrivals smoothed over 10 s) stayed above ready capacity before ready capacity covered it again: the longest such stretch, in seconds."),
        ("scale actions, flaps", "Decisions that changed the fleet's size; flaps are reversals of direction within five minutes of the previous action."),
        ("Pareto front", "Candidates no other candidate beats on both violation % and dollars; marked * in the terminal and ★ in the report."),
        ("knee", "In a sweep, the cheapest value that meets the SLO target."),
        ("node $ (cluster)", "On a cluster, $ total is node dollars: every node billed from its provision request until removal at its pool's price, committed nodes for the whole span at their committed price."),
        ("idle GPU $ (cluster)", "Node dollars of GPUs no replica held: empty, warm, provisioning and partly used nodes."),
        ("node wait (cluster)", "How long a started replica waited for a node (0 when a ready node had room); pending seconds sum these waits. Unplaced replicas were cancelled while pending, or still pending at the end."),
        ("reclaims, crashes (cluster)", "Spot nodes reclaimed (their replicas stop at the notice; the node is billed until the deadline), and ready replicas that crashed and reloaded on their node."),
        ("stockout min (cluster)", "Minutes a pool could not provision, summed over pools; a provision request then fails and retries after retrySeconds."),
    ];

    /// <summary>A duration as a reader says it: <c>2 min</c>, <c>58 min</c>, <c>6 h 30 min</c>, <c>14 days</c>, <c>1 year 3 days</c>.</summary>
    public static string Span(Duration span)
    {
        var seconds = span.TotalSeconds;
        if (seconds < 120)
        {
            return $"{Number(seconds)} s";
        }

        if (seconds < 7_200)
        {
            return $"{Number(seconds / 60)} min";
        }

        if (seconds < 2 * 86_400)
        {
            var hours = Math.Floor(seconds / 3600);
            var minutes = Math.Round((seconds - hours * 3600) / 60);
            return minutes == 0 ? $"{hours.ToString(Ci)} h" : $"{hours.ToString(Ci)} h {minutes.ToString(Ci)} min";
        }

        var days = seconds / 86_400;
        return Math.Abs(days - Math.Round(days)) < 1e-9 ? $"{Math.Round(days).ToString(Ci)} days" : $"{days.ToString("0.#", Ci)} days";
    }

    /// <summary>The trace as one line: file, span, start and end in the report's zone, requests.</summary>
    public static string TraceLine(TraceInfo trace, DateTimeZone zone)
    {
        var span = trace.End - trace.Start;
        return $"Trace {trace.File}: {Span(span)}, {Local(trace.Start, zone)} to {Local(trace.End, zone)} {ZoneName(zone)}, {trace.Requests.ToString("N0", Ci)} requests.";
    }

    /// <summary>The SLO as one sentence.</summary>
    public static string SloLine(SloSettings slo)
    {
        var timeout = slo.ClientTimeout is { } t ? $"; requests that wait {t.TotalSeconds.ToString(Ci)} s leave (dropped)" : "";
        var parts = new List<string>();
        if (slo.MaxWait is { } wait)
        {
            parts.Add($"start within {wait.TotalSeconds.ToString(Ci)} s");
        }

        if (slo.MaxTtft is { } ttft)
        {
            parts.Add($"have their first token within {ttft.TotalSeconds.ToString(Ci)} s");
        }

        if (slo.MaxTpot is { } tpot)
        {
            parts.Add($"take at most {tpot.TotalSeconds.ToString(Ci)} s per later token");
        }

        if (slo.MaxE2e is { } e2e)
        {
            parts.Add($"finish within {e2e.TotalSeconds.ToString(Ci)} s");
        }

        var what = parts.Count switch
        {
            1 => parts[0],
            _ => string.Join(", ", parts.Take(parts.Count - 1)) + " and " + parts[^1],
        };
        return $"SLO: {slo.TargetPercent.ToString(Ci)}% of requests {what}{timeout}.";
    }

    /// <summary>An instant in the zone, as <c>2026-01-05 19:00:00</c>.</summary>
    public static string Local(Instant instant, DateTimeZone zone) =>
        LocalDateTimePattern.CreateWithInvariantCulture("uuuu-MM-dd HH:mm:ss").Format(instant.InZone(zone).LocalDateTime);

    /// <summary>How the zone is named in reports: <c>UTC</c> or its IANA id.</summary>
    public static string ZoneName(DateTimeZone zone) => zone.Id is "Etc/UTC" or "UTC" ? "UTC" : zone.Id;

    /// <summary>The report's zone from its IANA id (UTC when unknown).</summary>
    public static DateTimeZone Zone(string id) => DateTimeZoneProviders.Tzdb.GetZoneOrNull(id) ?? DateTimeZone.Utc;

    /// <summary>Hours in the span (at least one tick's worth, never zero).</summary>
    public static double Hours(TraceInfo trace) => Math.Max((trace.End - trace.Start).TotalHours, 1e-9);

    private static string Number(double value) => value.ToString(value >= 10 || Math.Abs(value - Math.Round(value)) < 1e-9 ? "0" : "0.#", Ci);
}
