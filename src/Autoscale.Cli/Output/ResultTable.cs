using System.Globalization;
using Autoscale.Reporting;
using Spectre.Console;

namespace Autoscale.Cli.Output;

/// <summary>
/// The ranking as a terminal table: the trace's span and the SLO above it; dollars in total, per hour (and per day
/// for a day or more); the winner marked only when it meets the SLO; each sweep's knee and every warning below it.
/// Plain (no colour) when redirected.
/// </summary>
internal static class ResultTable
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static void Write(BacktestReport document, TextWriter output, bool redirected)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        if (redirected)
        {
            console.Profile.Width = 240;
        }

        var zone = ReportText.Zone(document.TimeZone);
        var span = document.Trace.End - document.Trace.Start;
        var perDay = span >= NodaTime.Duration.FromDays(1);
        output.WriteLine(ReportText.TraceLine(document.Trace, zone));
        output.WriteLine(ReportText.SloLine(document.Settings.Slo));
        if (document.Settings.Serving is not null && document.Settings.FluidServing)
        {
            output.WriteLine("Replayed as a fluid (engine.serving \"fluid\"): cohorts through one pool of replicas, not request by request (docs/serving.md).");
        }

        var cluster = document.Results.Any(r => r.Cluster is not null);
        if (cluster)
        {
            output.WriteLine("On a cluster (docs/cluster.md): $ total is node dollars, every node billed from its provision request until removal, committed nodes for the whole span.");
        }


        var columns = Columns(document, perDay, cluster);
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(column) { Alignment = column == "candidate" ? Justify.Left : Justify.Right });
        }

        foreach (var r in document.Results)
        {
            table.AddRow(Row(r, columns.Count, perDay, PrefixHits(document)));
        }

        console.Write(table);
        output.WriteLine($"* on the Pareto front of (violation %, dollars). $ total is billed over the whole trace ({ReportText.Span(span)}); $/hour{(perDay ? " and $/day divide" : " divides")} it by the trace's length. Every column is defined in report.html (--out).");
        if (document.Results.Count > 0 && document.Results[0] is { Failed: false, MeetsSlo: false } best)
        {
            output.WriteLine($"No candidate meets the SLO; the best ranked is {best.Name} ({best.ViolationPercent.ToString("0.###", Ci)}% violations).");
        }

        foreach (var r in document.Results)
        {
            if (r.Pools is { } pools)
            {
                // A disaggregated candidate: each pool's own figures (the prefill pool's TTFT ends with its prefill).
                output.WriteLine($"{r.Name}: prefill pool {Pool(pools.Prefill)}; decode pool {Pool(pools.Decode)}.");
            }
        }

        foreach (var sweep in document.Sweeps)
        {
            var knee = sweep.Knee is { } k
                ? $"knee {k.Value}, the cheapest value that meets the SLO (${k.Result.Dollars.ToString("F2", Ci)} total, {k.Result.ViolationPercent.ToString("0.###", Ci)}% violations)"
                : "no value meets the SLO";
            var clean = sweep.FirstWithoutViolations is { } c ? $"; first without violations: {c.Value}" : "";
            output.WriteLine($"Sweep {sweep.Group}: {knee}{clean}.");
        }

        foreach (var warning in document.Warnings)
        {
            output.WriteLine($"warning: {warning}");
        }
    }

    /// <summary>Whether a candidate cached prefixes of a trace that has them (the table then shows its hit rate).</summary>
    private static bool PrefixHits(BacktestReport document) => document.Results.Any(r => r.Serving?.PrefixCacheHitRate is not null);

    /// <summary>The table's columns: serving latencies or the wait, per-day dollars for a day or more, cluster figures on a cluster.</summary>
    private static List<string> Columns(BacktestReport document, bool perDay, bool cluster)
    {
        var serving = document.Results.Any(r => r.Serving is not null);
        var columns = new List<string> { "rank", "candidate", "requests", "late", "dropped", "viol %", "SLO" };
        columns.AddRange(serving ? ["p99 TTFT s", "p99 TPOT s", "p99 E2E s", "$/M tokens"] : ["p99 wait s"]);
        if (PrefixHits(document))
        {
            columns.Add("prefix hits");
        }

        columns.AddRange(["$ total", "$/hour"]);
        if (perDay)
        {
            columns.Add("$/day");
        }

        columns.AddRange(cluster ? ["idle GPU $", "peak nodes", "node wait p99 s", "reclaims"] : ["idle $"]);
        columns.AddRange(["cold starts", "peak replicas", "end replicas"]);
        return columns;
    }

    /// <summary>One candidate's cells, as <see cref="Columns"/> orders them (a failed one: its error, the rest empty).</summary>
    private static string[] Row(Autoscale.Backtesting.Engine.CandidateResult r, int columnCount, bool perDay, bool hits)
    {
        var mark = r.Rank == 1 && !r.Failed && r.MeetsSlo ? " [green](winner)[/]" : "";
        var name = Markup.Escape(r.Name) + mark + (r.OnParetoFront ? " *" : "");
        if (r.Failed)
        {
            var row = new List<string> { r.Rank.ToString(Ci), name, "[red]failed[/]", Markup.Escape(r.Error!) };
            row.AddRange(Enumerable.Repeat("", columnCount - row.Count));
            return [.. row];
        }

        var cells = new List<string>
        {
            r.Rank.ToString(Ci), name, r.Requests.ToString(Ci), r.Late.ToString(Ci), r.Dropped.ToString(Ci),
            r.ViolationPercent.ToString("F1", Ci), r.MeetsSlo ? "[green]met[/]" : "[red]missed[/]",
        };
        if (r.Serving is { } s)
        {
            cells.AddRange([Seconds(s.TtftP99Seconds), Seconds(s.TpotP99Seconds), Seconds(s.E2eP99Seconds), double.IsNaN(s.DollarsPerMillionTokens) ? "-" : s.DollarsPerMillionTokens.ToString("F2", Ci)]);
            if (hits)
            {
                cells.Add(s.PrefixCacheHitRate is { } h ? h.ToString("P1", Ci) : "-");
            }
        }
        else
        {
            cells.Add(r.WaitP99Seconds.ToString("0.##", Ci));
        }

        cells.AddRange([r.Dollars.ToString("F2", Ci), r.DollarsPerHour.ToString("F2", Ci)]);
        if (perDay)
        {
            cells.Add((r.DollarsPerHour * 24).ToString("F2", Ci));
        }

        if (r.Cluster is { } k)
        {
            cells.AddRange([k.IdleGpuDollars.ToString("F2", Ci), k.PeakNodes.ToString(Ci), k.ProvisionWaitP99Seconds.ToString("0.##", Ci), k.Preemptions.ToString(Ci)]);
        }
        else
        {
            cells.Add(r.IdleDollars.ToString("F2", Ci));
        }

        cells.AddRange([r.ColdStarts.ToString(Ci), r.PeakReplicas.ToString(Ci), r.EndReplicas.ToString(Ci)]);
        return [.. cells];
    }

    private static string Pool(Autoscale.Backtesting.Engine.CandidateResult p) =>
        $"({p.Policy}) ${p.Dollars.ToString("F2", Ci)}, peak {p.PeakReplicas.ToString(Ci)} replicas, {p.ColdStarts.ToString(Ci)} cold starts, p99 TTFT {(p.Serving is { } s ? Seconds(s.TtftP99Seconds) : "-")} s";

    /// <summary>A latency for the table: up to three significant decimals, "dropped" for the infinite one a dropped request gives, "-" where nothing was measured.</summary>
    private static string Seconds(double seconds) =>
        double.IsNaN(seconds) ? "-" : double.IsFinite(seconds) ? seconds.ToString(seconds < 1 ? "0.###" : "0.##", Ci) : "dropped";
}
