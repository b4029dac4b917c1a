using System.Globalization;
using Spectre.Console;

using Autoscale.Reporting;

namespace Autoscale.Cli.Output;

/// <summary>The ranking as a terminal table, the winner marked; plain (no colour) when redirected.</summary>
internal static class ResultTable
{
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
            console.Profile.Width = 200;
        }

        var ci = CultureInfo.InvariantCulture;
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in new[] { "rank", "candidate", "requests", "late", "dropped", "viol %", "SLO", "p99 wait s", "dollars", "idle $", "cold starts", "peak", "end" })
        {
            table.AddColumn(new TableColumn(column) { Alignment = column == "candidate" ? Justify.Left : Justify.Right });
        }

        foreach (var r in document.Results)
        {
            var winner = r.Rank == 1 && !r.Failed;
            var name = Markup.Escape(r.Name) + (winner ? " [green](winner)[/]" : "") + (r.OnParetoFront ? " *" : "");
            if (r.Failed)
            {
                table.AddRow(r.Rank.ToString(ci), name, "[red]failed[/]", Markup.Escape(r.Error!), "", "", "", "", "", "", "", "", "");
                continue;
            }

            table.AddRow(
                r.Rank.ToString(ci), name, r.Requests.ToString(ci), r.Late.ToString(ci), r.Dropped.ToString(ci),
                r.ViolationPercent.ToString("F1", ci), r.MeetsSlo ? "[green]met[/]" : "[red]missed[/]", r.WaitP99Seconds.ToString("0.##", ci),
                r.Dollars.ToString("F2", ci), r.IdleDollars.ToString("F2", ci), r.ColdStarts.ToString(ci), r.PeakReplicas.ToString(ci), r.EndReplicas.ToString(ci));
        }

        var slo = document.Settings.Slo;
        table.Caption($"SLO: {slo.TargetPercent.ToString(ci)}% of requests start within {slo.MaxWaitSeconds.ToString(ci)} s.  * = on the Pareto front of (violation %, dollars)");
        console.Write(table);
    }
}
