using System.Globalization;
using System.Net;
using System.Text;
using Autoscale.Backtesting.Engine;
using Autoscale.Config.Tuning;
using Autoscale.Reporting;
using NodaTime;

namespace Autoscale.Cli.Output;

/// <summary>
/// A tune's report folder: report.html with its plots (cost against risk of every setting on the last training window,
/// each fold's dollars per day, the pick's worst held-out day beside the baseline's), results.json with every evaluated
/// setting, results.csv, and the pick as a manifest with <c>--export</c>. Written whole or not at all.
/// </summary>
internal static class TuneReport
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    /// <summary>The pick's worst held-out day, and the baseline's same day, each replayed with a timeline from the start of its fold.</summary>
    public sealed record WorstDay(Instant Start, Instant End, CandidateResult Pick, CandidateResult Baseline, TuneDay PickDay, TuneDay BaselineDay, IReadOnlyList<double> PickValues, IReadOnlyList<double> BaselineValues);

    /// <summary>What the report says of the config: its SLO, and the capacity a replica's timeline is drawn against.</summary>
    public sealed record Header(string SloLine, double TargetPercent, double CapacityRps);

    /// <summary>Whether a file name is one a tune report writes (an earlier report's are replaced).</summary>
    public static bool IsReportFile(string name) =>
        name is "report.html" or "results.json" or "results.csv" or "pick.yaml"
        || (name.EndsWith(".png", StringComparison.Ordinal) && (name.StartsWith("front-", StringComparison.Ordinal) || name.StartsWith("folds-", StringComparison.Ordinal) || name.StartsWith("worst-day-", StringComparison.Ordinal)))
        || (name.StartsWith("pick-", StringComparison.Ordinal) && name.EndsWith(".yaml", StringComparison.Ordinal));

    public static Task WriteAsync(string directory, IReadOnlyList<TuneOutcome> outcomes, TraceInfo trace, Header settings, DateTimeZone zone,
        IReadOnlyList<(string Name, string Manifest)> manifests, IReadOnlyList<WorstDay?>? worstDays, CancellationToken cancellationToken) =>
        ReportFolder.WriteAsync(directory, async (staging, token) =>
        {
            await File.WriteAllTextAsync(Path.Combine(staging, "results.json"), TuneJson.Result(outcomes, points: true), token);
            await File.WriteAllTextAsync(Path.Combine(staging, "results.csv"), TuneJson.Csv(outcomes), token);
            foreach (var (name, manifest) in manifests)
            {
                await File.WriteAllTextAsync(Path.Combine(staging, manifests.Count == 1 ? "pick.yaml" : $"pick-{Slug(name)}.yaml"), manifest, token);
            }

            var html = new StringBuilder();
            Head(html, outcomes, trace, settings, zone);
            for (var i = 0; i < outcomes.Count; i++)
            {
                token.ThrowIfCancellationRequested();
                await CandidateAsync(html, staging, outcomes[i], settings, zone, manifests.FirstOrDefault(m => m.Name == outcomes[i].Name).Manifest, worstDays?[i], token);
            }

            Glossary(html);
            await File.WriteAllTextAsync(Path.Combine(staging, "report.html"), html.ToString(), token);
        }, IsReportFile, cancellationToken);

    private static void Head(StringBuilder html, IReadOnlyList<TuneOutcome> outcomes, TraceInfo trace, Header settings, DateTimeZone zone)
    {
        html.Append("""
            <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Autoscale tune report</title>
            <style>
            body{font-family:"DejaVu Sans",Verdana,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}
            h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}h3{font-size:1.05rem}
            table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}th,td{padding:.3rem .5rem;border-bottom:1px solid #e4e4e4;text-align:right}
            th{background:#f4f4f4}td.name,th.name{text-align:left}.met{color:#1a7f1a}.missed{color:#b22}.note{color:#555;font-size:.85rem}
            figure{margin:1rem 0}img{max-width:100%;height:auto;border:1px solid #ddd}pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;font-size:.8rem}
            .summary{background:#f7f9fc;border:1px solid #dde5f0;padding:1rem;border-radius:6px}
            dl.glossary dt{font-weight:bold;margin-top:.5rem}dl.glossary dd{margin-left:1.5rem}
            </style></head><body>
            <h1>Autoscale tune report</h1>
            """);
        var first = outcomes[0].Folds[0].Window;
        html.Append("<div class=\"summary\">");
        html.Append(Ci, $"<p>{E(ReportText.TraceLine(trace, zone))}</p><p>{E(settings.SloLine)}</p>");
        html.Append(Ci, $"<p>Walk-forward validation: {outcomes[0].Folds.Count} folds of whole calendar days ({E(ReportText.ZoneName(zone))}), each setting picked on {first.TrainDayCount} training days and judged on the {first.TestDayCount} day(s) after them, replayed continuously from the start of the training days and counted on the held-out days only. The setting to deploy is picked on the trace's last {first.TrainDayCount} days.</p>");
        foreach (var o in outcomes)
        {
            html.Append(Ci, $"<p><b>{E(TuneTable.Sentence(o))}</b></p>");
        }

        html.Append("</div>\n");
    }

    private static async Task CandidateAsync(StringBuilder html, string staging, TuneOutcome o, Header settings, DateTimeZone zone, string? manifest, WorstDay? worst, CancellationToken token)
    {
        var slug = Slug(o.Name);
        html.Append(Ci, $"<h2>{E(o.Name)} ({E(o.Policy)})</h2>\n");
        html.Append(Ci, $"<p>Tuned: {E(string.Join(", ", o.Paths))}. {(o.Deploy.Search == "grid" ? "The space is no larger than the budget: every setting of it was evaluated on every training window." : "The space is larger than the budget: each training window was searched in batches, a Latin hypercube first, then settings proposed by a tree-structured Parzen estimator, each batch cut by successive halving over the window's last days (a third kept per rung).")} {o.Evaluations:N0} settings evaluated over the {o.Folds.Count + 1} training windows, in {o.Replays:N0} replays of training days.</p>\n");
        if (!o.Deploy.PickMetSlo)
        {
            html.Append("<p class=\"missed\">No setting of the space met the SLO on the last training window: the pick is the one with the fewest violations (then the cheapest). Widen the space toward more capacity.</p>\n");
        }

        html.Append("<table><tr><th class=\"name\">setting</th><th>training days</th><th>$ per training day</th><th>held-out days met</th><th>held-out $</th><th>$ per held-out day</th><th>held-out viol %</th></tr>\n");
        Row(html, "pick (to deploy): " + TuneJson.Describe(o.Paths, o.Deploy.Pick), o.PickTrain, o.PickTest);
        Row(html, "baseline (as written)", null, o.BaselineTest);
        html.Append("</table>\n");
        html.Append(Ci, $"<p>Saving on the held-out days: {o.SavingPercent:0.0} % (90 % bootstrap interval over days {o.SavingInterval.Low:0.0} to {o.SavingInterval.High:0.0} %).</p>\n");
        html.Append("<h3>The options to deploy</h3><pre>").Append(E(o.Deploy.PickOptions.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }))).Append("</pre>\n");
        if (manifest is not null)
        {
            html.Append("<h3>As a manifest (--export)</h3><pre>").Append(E(manifest)).Append("</pre>\n");
        }

        // Cost against risk of every setting judged on the whole of the last training window.
        var full = o.Deploy.Evaluations.Where(e => e.Days == o.Deploy.Window.TrainDayCount && !e.Score.Failed).ToList();
        var allowed = 100 - settings.TargetPercent;
        var front = TunePlots.Front($"{o.Name}: every setting on the last training window ({full.Count})", full.Select(e => e.Score.ViolationPercent).ToList(), full.Select(e => e.Score.CostDollars).ToList(),
            (o.Deploy.BaselineTrain.ViolationPercent, o.Deploy.BaselineTrain.CostDollars), (o.Deploy.PickTrain.ViolationPercent, o.Deploy.PickTrain.CostDollars), allowed);
        await Figure(html, staging, $"front-{slug}.png", front, "Cost (billed dollars plus dollars per violation) against violations of every setting evaluated on the whole last training window; the baseline and the pick marked. Left of the dashed line a setting meets the SLO.", token);

        var labels = o.Folds.Select(f => f.Window.TestStart!.Value.InZone(zone).Date.ToString("MM-dd ddd", Ci)).ToList();
        var folds = TunePlots.Folds(labels,
            o.Folds.Select(f => PerDay(TuneFigure.OfWindow(f.PickTrain, f.PickTrainDays))).ToList(),
            o.Folds.Select(f => PerDay(TuneFigure.OfDays(f.PickTestDays, f.TargetPercent))).ToList(),
            o.Folds.Select(f => PerDay(TuneFigure.OfDays(f.BaselineTestDays, f.TargetPercent))).ToList());
        await Figure(html, staging, $"folds-{slug}.png", folds, "Each fold's pick on its training days and on its held-out days, and the baseline on the same held-out days, in dollars per day: the gap between the first two is what picking on the training days hides.", token);

        if (worst is not null)
        {
            html.Append(Ci, $"<h3>The pick's worst held-out day: {E(worst.Start.InZone(zone).Date.ToString("dddd yyyy-MM-dd", Ci))}</h3>\n");
            html.Append(Ci, $"<p>Pick: {worst.PickDay.Violations:N0} violations of {worst.PickDay.Requests:N0} requests, ${worst.PickDay.Dollars:N2}. Baseline: {worst.BaselineDay.Violations:N0} violations, ${worst.BaselineDay.Dollars:N2}. Both replayed from the start of their fold's training days.</p>\n");
            foreach (var (result, label) in new[] { (worst.Pick, "pick"), (worst.Baseline, "baseline") })
            {
                if (Day(result, worst.Start, worst.End) is { } day)
                {
                    var capacity = result.Serving?.NominalCapacityRps ?? settings.CapacityRps;
                    var png = Plots.TitledTimeline(day, capacity, $"{o.Name}, the {label}, {worst.Start.InZone(zone).Date.ToString("dddd yyyy-MM-dd", Ci)}", timeZone: zone.Id);
                    var setting = TuneJson.Describe(o.Paths, label == "pick" ? worst.PickValues : worst.BaselineValues);
                    await Figure(html, staging, $"worst-day-{slug}-{label}.png", png, $"The {label} ({setting}) on that day: demand against ready and loading capacity, replicas, the queue and the requests that broke the SLO.", token);
                }
            }
        }

        html.Append("<h3>Fold by fold</h3><table><tr><th>fold</th><th class=\"name\">training days</th><th class=\"name\">held-out</th><th class=\"name\">pick</th><th>met SLO in training</th><th>$ per training day</th><th>held-out $</th><th>viol %</th><th>baseline held-out $</th><th>baseline viol %</th></tr>\n");
        foreach (var f in o.Folds)
        {
            var train = TuneFigure.OfWindow(f.PickTrain, f.PickTrainDays);
            var test = TuneFigure.OfDays(f.PickTestDays, f.TargetPercent);
            var baseline = TuneFigure.OfDays(f.BaselineTestDays, f.TargetPercent);
            html.Append(Ci, $"<tr><td>{f.Window.Index + 1}</td><td class=\"name\">{Date(f.Window.TrainStart, zone)} to {Date(f.Window.TrainEnd - Duration.FromSeconds(1), zone)}</td><td class=\"name\">{Date(f.Window.TestStart!.Value, zone)}</td>");
            html.Append(Ci, $"<td class=\"name\">{E(TuneJson.Describe(o.Paths, f.Pick))}</td><td>{(f.PickMetSlo ? "yes" : "<span class=\"missed\">no</span>")}</td><td>{PerDay(train):N2}</td>");
            html.Append(Ci, $"<td class=\"{(test.MeetsSlo ? "met" : "missed")}\">{test.Dollars:N2}</td><td>{test.ViolationPercent:0.###}</td><td class=\"{(baseline.MeetsSlo ? "met" : "missed")}\">{baseline.Dollars:N2}</td><td>{baseline.ViolationPercent:0.###}</td></tr>\n");
        }

        html.Append("</table>\n");
    }

    /// <summary>The result's timeline cut to [start, end), on the day's own clock.</summary>
    private static CandidateResult? Day(CandidateResult result, Instant start, Instant end)
    {
        if (result.Failed || result.Timeline.Points.Count == 0)
        {
            return null;
        }

        var from = (start - result.Start).TotalSeconds;
        var to = (end - result.Start).TotalSeconds;
        var points = result.Timeline.Points.Where(p => p.StartSeconds >= from && p.StartSeconds < to).Select(p => p with { StartSeconds = p.StartSeconds - from }).ToList();
        return points.Count == 0 ? null : result with { Start = start, Timeline = new Timeline(points, result.Timeline.BucketSeconds), Rank = 0 };
    }

    private static void Row(StringBuilder html, string name, TuneFigure? train, TuneFigure test)
    {
        html.Append(Ci, $"<tr><td class=\"name\">{E(name)}</td><td>{(train is null ? "" : train.Days.ToString(Ci))}</td><td>{(train is null ? "" : PerDay(train).ToString("N2", Ci))}</td>");
        html.Append(Ci, $"<td class=\"{(test.DaysMet == test.Days ? "met" : "missed")}\">{test.DaysMet} of {test.Days}</td><td>{test.Dollars:N2}</td><td>{PerDay(test):N2}</td><td>{test.ViolationPercent:0.###}</td></tr>\n");
    }

    private static async Task Figure(StringBuilder html, string staging, string file, byte[] png, string caption, CancellationToken token)
    {
        await File.WriteAllBytesAsync(Path.Combine(staging, file), png, token);
        html.Append(Ci, $"<figure><img src=\"{file}\" alt=\"{E(caption)}\"/><figcaption class=\"note\">{E(caption)}</figcaption></figure>\n");
    }

    private static void Glossary(StringBuilder html) => html.Append("""
        <h2>What the figures mean</h2><dl class="glossary">
        <dt>training days</dt><dd>The days a setting is picked on: each setting is judged by a backtest of those days alone, and the cheapest that meets the SLO (billed dollars plus slo.dollarsPerViolation per violation) is picked (with <code>--slo-margin</code>, one that also meets it on each training day alone with that share of the day's error budget to spare); when none meets it, the one with the fewest violations.</dd>
        <dt>held-out days</dt><dd>The days after a fold's training days. The pick (and the baseline) is replayed from the start of the training days through them, so the policy has its history and the fleet its state, and only the held-out days are counted. A day's figures are what the replay that ends after it adds to the one that ends before it.</dd>
        <dt>days met</dt><dd>Held-out days on which the on-time share reached the SLO target, each day judged alone.</dd>
        <dt>baseline</dt><dd>The candidate as written in the config (for a manifest imported with policyFrom, the settings you run today).</dd>
        <dt>saving</dt><dd>100 x (baseline - pick) / baseline of the billed dollars on all held-out days; the interval is the 5th to 95th percentile over 2,000 resamples of the held-out days.</dd>
        <dt>gap</dt><dd>The pick's dollars per held-out day against its dollars per training day: a setting fitted to its training days does worse after them.</dd>
        </dl></body></html>
        """);

    private static double PerDay(TuneFigure figure) => figure.Days == 0 ? 0 : figure.Dollars / figure.Days;

    private static string Date(Instant instant, DateTimeZone zone) => instant.InZone(zone).Date.ToString("yyyy-MM-dd ddd", Ci);

    private static string Slug(string name)
    {
        var slug = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-').ToArray()).Trim('-');
        while (slug.Contains("--", StringComparison.Ordinal))
        {
            slug = slug.Replace("--", "-", StringComparison.Ordinal);
        }

        return slug.Length == 0 ? "candidate" : slug;
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
