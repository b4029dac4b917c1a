using System.Globalization;
using System.Net;
using System.Text;
using Autoscale.Backtesting.Engine;

namespace Autoscale.Reporting;

/// <summary>
/// report.html: one self-contained page (inline style, no script, no network) that refers only to the
/// PNG files written beside it. The trade is shown first, the numbers after, every term in a glossary.
/// </summary>
internal static class ReportHtml
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static string Render(BacktestReport report, IReadOnlyList<(string File, string Caption)> plots)
    {
        var html = new StringBuilder();
        var perDay = report.Trace.End - report.Trace.Start >= NodaTime.Duration.FromDays(1);
        var best = report.Results.FirstOrDefault(r => !r.Failed);
        html.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Autoscale backtest report</title>
            <style>
            body{font-family:"DejaVu Sans",Verdana,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}
            h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}
            table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}th,td{padding:.3rem .5rem;border-bottom:1px solid #e4e4e4;text-align:right}
            th{background:#f4f4f4}td.name,th.name{text-align:left}tr.winner td{background:#eaf6ea;font-weight:bold}
            .met{color:#1a7f1a}.missed{color:#b22}.note{color:#555;font-size:.85rem}figure{margin:1rem 0}img{max-width:100%;height:auto;border:1px solid #ddd}
            .summary{background:#f7f9fc;border:1px solid #dde5f0;padding:1rem;border-radius:6px}
            .warnings{background:#fff8e6;border:1px solid #f0d79a;padding:.5rem 1rem;border-radius:6px}
            dl.glossary dt{font-weight:bold;margin-top:.5rem}dl.glossary dd{margin-left:1.5rem}
            </style></head><body>
            """);
        Summary(html, report, best);
        if (report.Warnings.Count > 0)
        {
            html.Append("<h2>Warnings</h2>\n<div class=\"warnings\"><ul>\n");
            foreach (var warning in report.Warnings)
            {
                html.Append(Ci, $"<li>{E(warning)}</li>\n");
            }

            html.Append("</ul></div>\n");
        }

        html.Append("<h2>Why each candidate wins or loses</h2>\n<p class=\"note\">Each timeline shows demand against the capacity that was ready (and that was still loading), the replicas, and the queue with the requests that broke the SLO, on the trace's clock. For traces longer than a day, a second figure zooms on the candidate's worst hour.</p>\n");
        foreach (var (file, caption) in plots.Where(p => p.File.StartsWith("timeline-", StringComparison.Ordinal)))
        {
            Figure(html, file, caption);
        }

        if (report.Results.Any(r => r.Cluster is not null))
        {
            Cluster(html, report);
            foreach (var (file, caption) in plots.Where(p => p.File.StartsWith("cluster-", StringComparison.Ordinal)))
            {
                Figure(html, file, caption);
            }
        }

        html.Append("<h2>Ranking</h2>\n<p class=\"note\">Candidates that meet the SLO target come first, cheapest first; then the others, fewest violations first. &#9733; marks the Pareto front of (violation %, dollars). Dollars are totals over the whole trace; $/hour divides them by its length.</p>\n");
        Ranking(html, report, perDay);
        foreach (var (file, caption) in plots.Where(p => p.File == "pareto.png"))
        {
            Figure(html, file, caption);
        }

        html.Append("<h2>SLO risk</h2>\n");
        Risk(html, report.Results);
        if (report.Results.Any(r => r.Serving is not null))
        {
            Serving(html, report.Results);
        }

        if (report.Results.Any(r => r.Pools is not null))
        {
            Pools(html, report.Results);
        }

        html.Append("<h2>Dollars</h2>\n");
        Dollars(html, report);

        Sweeps(html, report);
        foreach (var (file, caption) in plots.Where(p => p.File.StartsWith("sweep-", StringComparison.Ordinal)))
        {
            Figure(html, file, caption);
        }

        SeedSpreads(html, report);
        html.Append("<h2>Glossary</h2>\n<dl class=\"glossary\">\n");
        foreach (var (term, meaning) in ReportText.Glossary)
        {
            html.Append(Ci, $"<dt>{E(term)}</dt><dd>{E(meaning)}</dd>\n");
        }

        html.Append("</dl>\n<p class=\"note\">Made by Autoscale. The same numbers are in results.json and results.csv beside this page.</p>\n</body></html>\n");
        return html.ToString();
    }

    /// <summary>The summary box: the trace, the SLO and replica, and the winner (or that none meets the SLO).</summary>
    private static void Summary(StringBuilder html, BacktestReport report, CandidateResult? best)
    {
        var slo = report.Settings.Slo;
        var zone = ReportText.Zone(report.TimeZone);
        html.Append("<h1>Autoscale backtest report</h1>\n<div class=\"summary\">");
        html.Append(Ci, $"<p>{E(ReportText.TraceLine(report.Trace, zone))} Ticks of {report.Settings.TickSeconds.ToString(Ci)} s.</p>");
        var serving = report.Settings.Serving;
        var replicaText = serving is null
            ? $"{report.Settings.Replica.CapacityRps.ToString(Ci)} req/s"
            : $"a serving profile (a step is {(serving.BaseSeconds * 1000).ToString("0.###", Ci)} ms + {(serving.PerPrefillTokenSeconds * 1e6).ToString("0.###", Ci)} µs per prefill token + {(serving.PerDecodeTokenSeconds * 1e6).ToString("0.###", Ci)} µs per sequence decoding; {serving.MaxSequences} sequences, {serving.MaxBatchedTokens} tokens a step, {serving.KvCacheTokens.ToString("N0", Ci)} KV tokens)";
        html.Append(Ci, $"<p>{E(ReportText.SloLine(slo))} Replica: {E(replicaText)}, {report.Settings.Replica.Gpus} GPU{(report.Settings.Replica.Gpus == 1 ? "" : "s")} at ${report.Settings.Replica.DollarsPerGpuHour.ToString("0.###", Ci)} per GPU-hour.</p>");
        if (serving is not null && report.Settings.FluidServing)
        {
            html.Append("<p>Replayed as a fluid (<code>engine.serving: \"fluid\"</code>): cohorts of requests through one pool of identical replicas, not request by request; docs/serving.md gives where it agrees with the request-level replay and where it does not.</p>");
        }
        if (best is not null)
        {
            html.Append(best.MeetsSlo
                ? $"<p><b>Winner: {E(best.Name)}</b>: meets the SLO with {best.ViolationPercent.ToString("0.###", Ci)}% violations for ${best.Dollars.ToString("N2", Ci)} over the trace (${best.DollarsPerHour.ToString("N2", Ci)} per hour; idle ${best.IdleDollars.ToString("N2", Ci)}).</p>"
                : $"<p><b>No candidate meets the SLO.</b> The best ranked, {E(best.Name)}, has {best.ViolationPercent.ToString("0.###", Ci)}% violations for ${best.Dollars.ToString("N2", Ci)} over the trace (${best.DollarsPerHour.ToString("N2", Ci)} per hour).</p>");
        }

        html.Append("</div>\n");
    }

    /// <summary>Each sweep's table, its knee (the cheapest value that meets the SLO) marked.</summary>
    private static void Sweeps(StringBuilder html, BacktestReport report)
    {
        foreach (var sweep in report.Sweeps)
        {
            html.Append(Ci, $"<h2>Sweep: {E(sweep.Group)}</h2>\n<p>");
            html.Append(sweep.Knee is { } knee
                ? $"Knee: <b>{E(knee.Value)}</b>, the cheapest value that meets the SLO target (${knee.Result.Dollars.ToString("N2", Ci)}, {knee.Result.ViolationPercent.ToString("0.###", Ci)}% violations)."
                : "No value meets the SLO target.");
            if (sweep.FirstWithoutViolations is { } clean)
            {
                html.Append(Ci, $" The first value without any violation: <b>{E(clean.Value)}</b>.");
            }

            html.Append("</p>\n<table><tr><th class=\"name\">value</th><th>violations</th><th>viol %</th><th>idle $</th><th>$ total</th><th>SLO</th></tr>\n");
            foreach (var row in sweep.Rows)
            {
                var r = row.Result;
                var cls = ReferenceEquals(row, sweep.Knee) ? " class=\"winner\"" : "";
                html.Append(Ci, $"<tr{cls}><td class=\"name\">{E(row.Value)}</td><td>{r.Violations:N0}</td><td>{r.ViolationPercent.ToString("0.###", Ci)}</td><td>{r.IdleDollars.ToString("N2", Ci)}</td><td>{r.Dollars.ToString("N2", Ci)}</td><td>{Met(r)}</td></tr>\n");
            }

            html.Append("</table>\n");
        }
    }

    /// <summary>With <c>--seeds</c>: each candidate's spread of violations and dollars over the seeds.</summary>
    private static void SeedSpreads(StringBuilder html, BacktestReport report)
    {
        if (report.SeedSpreads.Count > 0)
        {
            html.Append("<h2>Spread over seeds</h2>\n<table><tr><th class=\"name\">candidate</th><th>seeds</th><th>met SLO</th><th>viol % min</th><th>mean</th><th>max</th><th>$ min</th><th>mean</th><th>max</th></tr>\n");
            foreach (var s in report.SeedSpreads)
            {
                html.Append(Ci, $"<tr><td class=\"name\">{E(s.Name)}</td><td>{s.Seeds}</td><td>{s.MeetsSloRuns}</td><td>{s.ViolationPercent.Min.ToString("0.###", Ci)}</td><td>{s.ViolationPercent.Mean.ToString("0.###", Ci)}</td><td>{s.ViolationPercent.Max.ToString("0.###", Ci)}</td><td>{s.Dollars.Min.ToString("N2", Ci)}</td><td>{s.Dollars.Mean.ToString("N2", Ci)}</td><td>{s.Dollars.Max.ToString("N2", Ci)}</td></tr>\n");
            }

            html.Append("</table>\n");
        }
    }

    private static void Cluster(StringBuilder html, BacktestReport report)
    {
        html.Append("<h2>The cluster</h2>\n<p class=\"note\">Dollars are node dollars: every node from its provision request until removal, committed nodes for the whole span (docs/cluster.md). Idle GPU $ are GPUs paid for that no replica held.</p>\n");
        html.Append("<table><tr><th class=\"name\">candidate</th><th>node $</th><th>on-demand $</th><th>spot $</th><th>committed $</th><th>warm node $</th><th>idle GPU $</th><th>peak nodes</th><th>node wait p50 s</th><th>p99</th><th>max</th><th>pending s</th><th>unplaced</th><th>reclaims</th><th>crashes</th><th>stockout min</th><th class=\"name\">$ by pool</th></tr>\n");
        foreach (var r in report.Results)
        {
            if (r.Cluster is not { } c)
            {
                continue;
            }

            var pools = string.Join(", ", c.Pools.Select(p => $"{p.Name} {p.Dollars.ToString("N2", Ci)}"));
            html.Append(Ci, $"<tr><td class=\"name\">{E(r.Name)}</td><td>{c.NodeDollars.ToString("N2", Ci)}</td><td>{c.OnDemandDollars.ToString("N2", Ci)}</td><td>{c.SpotDollars.ToString("N2", Ci)}</td><td>{c.CommittedDollars.ToString("N2", Ci)}</td><td>{c.WarmNodeDollars.ToString("N2", Ci)}</td><td>{c.IdleGpuDollars.ToString("N2", Ci)}</td><td>{c.PeakNodes}</td><td>{c.ProvisionWaitP50Seconds.ToString("0.##", Ci)}</td><td>{c.ProvisionWaitP99Seconds.ToString("0.##", Ci)}</td><td>{c.ProvisionWaitMaxSeconds.ToString("0.##", Ci)}</td><td>{c.PendingSeconds.ToString("N0", Ci)}</td><td>{c.UnplacedReplicas}</td><td>{c.Preemptions}</td><td>{c.Crashes}</td><td>{c.StockoutMinutes.ToString("0.#", Ci)}</td><td class=\"name\">{E(pools)}</td></tr>\n");
        }

        html.Append("</table>\n");
    }

    private static void Ranking(StringBuilder html, BacktestReport report, bool perDay)
    {
        html.Append("<table><tr><th>rank</th><th class=\"name\">candidate</th><th class=\"name\">policy</th><th>requests</th><th>late</th><th>dropped</th><th>viol %</th><th>SLO</th><th>p99 wait s</th><th>$ total</th><th>$/hour</th>");
        html.Append(perDay ? "<th>$/day</th>" : "");
        html.Append("<th>idle $</th><th>cold starts</th><th>peak replicas</th><th>end replicas</th></tr>\n");
        foreach (var r in report.Results)
        {
            var cls = r.Rank == 1 && !r.Failed && r.MeetsSlo ? " class=\"winner\"" : "";
            var star = r.OnParetoFront ? " &#9733;" : "";
            if (r.Failed)
            {
                html.Append(Ci, $"<tr><td>{r.Rank}</td><td class=\"name\">{E(r.Name)}</td><td class=\"name\">{E(r.Policy)}</td><td colspan=\"{(perDay ? 13 : 12)}\" class=\"name missed\">failed: {E(r.Error!)}</td></tr>\n");
                continue;
            }

            html.Append(Ci, $"<tr{cls}><td>{r.Rank}</td><td class=\"name\">{E(r.Name)}{star}</td><td class=\"name\">{E(r.Policy)}</td><td>{r.Requests:N0}</td><td>{r.Late:N0}</td><td>{r.Dropped:N0}</td><td>{r.ViolationPercent.ToString("0.###", Ci)}</td><td>{Met(r)}</td><td>{r.WaitP99Seconds.ToString(Ci)}</td><td>{r.Dollars.ToString("N2", Ci)}</td><td>{r.DollarsPerHour.ToString("N2", Ci)}</td>");
            if (perDay)
            {
                html.Append(Ci, $"<td>{(r.DollarsPerHour * 24).ToString("N2", Ci)}</td>");
            }

            html.Append(Ci, $"<td>{r.IdleDollars.ToString("N2", Ci)}</td><td>{r.ColdStarts:N0}</td><td>{r.PeakReplicas}</td><td>{r.EndReplicas}</td></tr>\n");
        }

        html.Append("</table>\n");
    }

    private static void Serving(StringBuilder html, IReadOnlyList<CandidateResult> results)
    {
        static string S(double v) => double.IsNaN(v) ? "-" : double.IsFinite(v) ? v.ToString("0.###", Ci) : "dropped";
        // The prefix cache's hit rate, when a candidate cached prefixes of a trace that has them.
        var hits = results.Any(r => r.Serving?.PrefixCacheHitRate is not null);
        html.Append("<h3>Tokens and latencies</h3>\n<table><tr><th class=\"name\">candidate</th><th>TTFT p50 s</th><th>p90</th><th>p99</th><th>TPOT p50 s</th><th>p99</th><th>E2E p50 s</th><th>p99</th><th>goodput req/s</th><th>input tok/s</th><th>output tok/s</th><th>KV use</th>");
        html.Append(hits ? "<th>prefix cache hits</th>" : "").Append("<th>preemptions</th><th>$/M tokens</th></tr>\n");
        foreach (var r in results)
        {
            if (r.Serving is not { } s)
            {
                continue;
            }

            html.Append(Ci, $"<tr><td class=\"name\">{E(r.Name)}</td><td>{S(s.TtftP50Seconds)}</td><td>{S(s.TtftP90Seconds)}</td><td>{S(s.TtftP99Seconds)}</td><td>{S(s.TpotP50Seconds)}</td><td>{S(s.TpotP99Seconds)}</td><td>{S(s.E2eP50Seconds)}</td><td>{S(s.E2eP99Seconds)}</td><td>{s.GoodputRps.ToString("0.###", Ci)}</td><td>{s.InputTokensPerSecond.ToString("N0", Ci)}</td><td>{s.OutputTokensPerSecond.ToString("N0", Ci)}</td><td>{s.KvCacheUtilization.ToString("P1", Ci)}</td>{(hits ? $"<td>{(s.PrefixCacheHitRate is { } h ? h.ToString("P1", Ci) : "-")}</td>" : "")}<td>{s.Preemptions:N0}</td><td>{S(s.DollarsPerMillionTokens)}</td></tr>\n");
        }

        var first = results.First(r => r.Serving is not null).Serving!;
        html.Append(Ci, $"</table>\n<p class=\"note\">A replica's nominal rate at the trace's mean {first.MeanInputTokens:0} input and {first.MeanOutputTokens:0} output tokens is {first.NominalCapacityRps:0.###} requests per second: the capacity per replica the policies see. docs/serving.md states how requests are replayed.</p>\n");
    }

    /// <summary>Each pool of a disaggregated candidate: its policy, replicas, dollars and latencies (the prefill pool's TTFT ends with its prefill, the decode pool's is the client's).</summary>
    private static void Pools(StringBuilder html, IReadOnlyList<CandidateResult> results)
    {
        static string S(double v) => double.IsNaN(v) ? "-" : double.IsFinite(v) ? v.ToString("0.###", Ci) : "dropped";
        html.Append("<h3>Prefill and decode pools</h3>\n<p class=\"note\">A disaggregated candidate's two pools, each scaled by its own policy. The prefill pool's requests end when prefilled: its TTFT is the prefill's, from the client's request; its KV cache then moves to the decode pool, whose TTFT (its first decode step) and TPOT are the client's. The ranking's figures are the clients' and both pools' dollars.</p>\n");
        html.Append("<table><tr><th class=\"name\">candidate</th><th class=\"name\">pool</th><th class=\"name\">policy</th><th>p99 wait s</th><th>TTFT p50 s</th><th>p99</th><th>TPOT p99 s</th><th>KV use</th><th>preemptions</th><th>$ total</th><th>idle $</th><th>cold starts</th><th>peak replicas</th><th>end replicas</th></tr>\n");
        foreach (var r in results)
        {
            if (r.Pools is not { } pools)
            {
                continue;
            }

            foreach (var (pool, p) in new[] { ("prefill", pools.Prefill), ("decode", pools.Decode) })
            {
                var s = p.Serving;
                html.Append(Ci, $"<tr><td class=\"name\">{E(r.Name)}</td><td class=\"name\">{pool}</td><td class=\"name\">{E(p.Policy)}</td><td>{p.WaitP99Seconds.ToString("0.###", Ci)}</td><td>{(s is null ? "-" : S(s.TtftP50Seconds))}</td><td>{(s is null ? "-" : S(s.TtftP99Seconds))}</td><td>{(s is null || pool == "prefill" ? "-" : S(s.TpotP99Seconds))}</td><td>{(s is null ? "-" : s.KvCacheUtilization.ToString("P1", Ci))}</td><td>{s?.Preemptions ?? 0:N0}</td><td>{p.Dollars.ToString("N2", Ci)}</td><td>{p.IdleDollars.ToString("N2", Ci)}</td><td>{p.ColdStarts:N0}</td><td>{p.PeakReplicas}</td><td>{p.EndReplicas}</td></tr>\n");
            }
        }

        html.Append("</table>\n");
    }

    private static void Risk(StringBuilder html, IReadOnlyList<CandidateResult> results)
    {
        html.Append("<table><tr><th class=\"name\">candidate</th><th>p50 wait s</th><th>p95 wait s</th><th>p99 wait s</th><th>max wait s</th><th>minutes in breach</th><th>longest breach (min)</th><th>worst minute (violations)</th><th>worst hour (violations)</th><th>budget burn</th><th>capacity lag max s</th><th>scale actions</th><th>flaps</th></tr>\n");
        foreach (var r in results.Where(r => !r.Failed))
        {
            var burn = double.IsFinite(r.ErrorBudgetBurn) ? r.ErrorBudgetBurn.ToString("0.##", Ci) + "x" : "n/a";
            html.Append(Ci, $"<tr><td class=\"name\">{E(r.Name)}</td><td>{r.WaitP50Seconds.ToString(Ci)}</td><td>{r.WaitP95Seconds.ToString(Ci)}</td><td>{r.WaitP99Seconds.ToString(Ci)}</td><td>{r.WaitMaxSeconds.ToString(Ci)}</td><td>{r.BreachMinutes:N0} ({r.BreachMinutesPercent.ToString("0.#", Ci)}%)</td><td>{r.LongestBreachMinutes:N0}</td><td>{r.WorstMinuteViolations:N0}</td><td>{r.WorstHourViolations:N0}</td><td>{burn}</td><td>{r.CapacityLagMaxSeconds.ToString("0.#", Ci)}</td><td>{r.ScaleActions:N0}</td><td>{r.Flaps:N0}</td></tr>\n");
        }

        html.Append("</table>\n");
    }

    private static void Dollars(StringBuilder html, BacktestReport report)
    {
        var tokens = report.Trace.Tokens is > 0;
        html.Append("<table><tr><th class=\"name\">candidate</th><th>$ total</th><th>$/hour</th><th>idle $</th><th>loading $</th><th>cache hold $</th><th>billing rounding $</th><th>$ per 1,000 requests</th>");
        html.Append(tokens ? "<th>$ per million tokens</th>" : "");
        html.Append("<th>cost with violations $</th></tr>\n");
        foreach (var r in report.Results.Where(r => !r.Failed))
        {
            html.Append(Ci, $"<tr><td class=\"name\">{E(r.Name)}</td><td>{r.Dollars.ToString("N2", Ci)}</td><td>{r.DollarsPerHour.ToString("N2", Ci)}</td><td>{r.IdleDollars.ToString("N2", Ci)}</td><td>{r.LoadingDollars.ToString("N2", Ci)}</td><td>{r.HoldDollars.ToString("N2", Ci)}</td><td>{r.RoundingDollars.ToString("N2", Ci)}</td><td>{r.DollarsPer1000Requests.ToString("0.####", Ci)}</td>");
            if (tokens)
            {
                html.Append(Ci, $"<td>{report.DollarsPerMillionTokens(r)!.Value.ToString("0.####", Ci)}</td>");
            }

            html.Append(Ci, $"<td>{r.CostDollars.ToString("N2", Ci)}</td></tr>\n");
        }

        html.Append("</table>\n");
    }

    private static void Figure(StringBuilder html, string file, string caption) =>
        html.Append(Ci, $"<figure><img src=\"{E(file)}\" alt=\"{E(caption)}\"><figcaption class=\"note\">{E(caption)}</figcaption></figure>\n");

    private static string Met(CandidateResult r) => r.MeetsSlo ? "<span class=\"met\">met</span>" : "<span class=\"missed\">missed</span>";

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
