using System.Globalization;
using Autoscale.Backtesting.Engine;
using Autoscale.Config.Tuning;
using Autoscale.Reporting;
using NodaTime;
using Spectre.Console;

namespace Autoscale.Cli.Output;

/// <summary>
/// A tune as terminal tables: each candidate's pick against its baseline on the held-out days, then fold by fold, with a
/// sentence that says what the tuning saves and whether it held the SLO as well. Plain (no colour) when redirected.
/// </summary>
internal static class TuneTable
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static void Write(IReadOnlyList<TuneOutcome> outcomes, TraceInfo trace, TuneReport.Header settings, DateTimeZone zone, TextWriter output, bool redirected)
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

        output.WriteLine(ReportText.TraceLine(trace, zone));
        output.WriteLine(settings.SloLine);
        var first = outcomes[0];
        output.WriteLine(string.Create(Ci, $"Walk-forward: {first.Folds.Count} folds, each picked on {first.Folds[0].Window.TrainDayCount} training days and judged on the {first.Folds[0].Window.TestDayCount} day(s) after them ({ReportText.ZoneName(zone)} calendar days); $ are billed dollars."));

        var summary = new Table().Border(TableBorder.Rounded);
        foreach (var column in new[] { "candidate", "pick (to deploy)", "train $/day", "held-out $/day", "gap", "held-out viol %", "days met", "baseline $/day", "baseline viol %", "baseline days met", "saving" })
        {
            summary.AddColumn(new TableColumn(Markup.Escape(column)) { Alignment = column is "candidate" or "pick (to deploy)" ? Justify.Left : Justify.Right });
        }

        foreach (var o in outcomes)
        {
            var trainPerDay = PerDay(o.PickTrain);
            var testPerDay = PerDay(o.PickTest);
            summary.AddRow(Escaped(
                o.Name,
                TuneJson.Describe(o.Paths, o.Deploy.Pick),
                Money(trainPerDay),
                Money(testPerDay),
                Gap(trainPerDay, testPerDay),
                o.PickTest.ViolationPercent.ToString("0.###", Ci),
                $"{o.PickTest.DaysMet}/{o.PickTest.Days}",
                Money(PerDay(o.BaselineTest)),
                o.BaselineTest.ViolationPercent.ToString("0.###", Ci),
                $"{o.BaselineTest.DaysMet}/{o.BaselineTest.Days}",
                string.Create(Ci, $"{o.SavingPercent:0.0} % [{o.SavingInterval.Low:0.0}, {o.SavingInterval.High:0.0}]")));
        }

        console.Write(summary);
        foreach (var o in outcomes)
        {
            output.WriteLine();
            output.WriteLine(Sentence(o));
            foreach (var (who, figure) in new[] { ("the pick", o.PickTest), ("the baseline", o.BaselineTest) })
            {
                if (figure.Error is { } error)
                {
                    output.WriteLine($"On a held-out day {who} failed: {error}");
                }
            }

            if (!o.Deploy.PickMetSlo)
            {
                output.WriteLine($"No setting of the space met the SLO on the last training window: the pick is the one with the fewest violations (then the cheapest). Widen the space toward more capacity.");
            }

            var folds = Folds(o, zone);
            console.Write(folds);
        }

        output.WriteLine();
        output.WriteLine("gap: the pick's dollars per day on the held-out days against its training days. results.json (--out) holds every setting evaluated; --export writes the pick as a manifest.");
    }

    /// <summary>One candidate's folds: each window's training and held-out days, its pick and their figures beside the baseline's.</summary>
    private static Table Folds(TuneOutcome o, DateTimeZone zone)
    {
        var folds = new Table().Border(TableBorder.Rounded).Title(Markup.Escape($"{o.Name}, fold by fold"));
        foreach (var column in new[] { "fold", "training days", "held-out", "pick", "met SLO in training", "train $/day", "held-out $", "gap", "viol %", "baseline $", "baseline viol %" })
        {
            folds.AddColumn(new TableColumn(Markup.Escape(column)) { Alignment = column is "fold" or "training days" or "held-out" or "pick" ? Justify.Left : Justify.Right });
        }

        foreach (var f in o.Folds)
        {
            var train = TuneFigure.OfWindow(f.PickTrain, f.PickTrainDays);
            var test = TuneFigure.OfDays(f.PickTestDays, f.TargetPercent);
            var baseline = TuneFigure.OfDays(f.BaselineTestDays, f.TargetPercent);
            folds.AddRow(Escaped(
                (f.Window.Index + 1).ToString(Ci),
                $"{Date(f.Window.TrainStart, zone)} to {Date(f.Window.TrainEnd - Duration.FromSeconds(1), zone)}",
                Dates(f.Window.TestStart!.Value, f.Window.TestEnd!.Value, zone),
                TuneJson.Describe(o.Paths, f.Pick),
                f.PickMetSlo ? "yes" : "no (fewest violations)",
                Money(PerDay(train)),
                Money(test.Dollars) + (test.Error is not null ? " (failed)" : test.MeetsSlo ? "" : " (missed)"),
                Gap(PerDay(train), PerDay(test)),
                test.ViolationPercent.ToString("0.###", Ci),
                Money(baseline.Dollars) + (baseline.Error is not null ? " (failed)" : baseline.MeetsSlo ? "" : " (missed)"),
                baseline.ViolationPercent.ToString("0.###", Ci)));
        }

        return folds;
    }

    private static string[] Escaped(params string[] cells) => cells.Select(Markup.Escape).ToArray();

    /// <summary>What the tuning saves on the held-out days, and whether it held the SLO as well as the baseline.</summary>
    public static string Sentence(TuneOutcome o)
    {
        var slo = o.PickTest.DaysMet >= o.BaselineTest.DaysMet
            ? $"at equal or better SLO: met on {o.PickTest.DaysMet} of {o.PickTest.Days} held-out days, the baseline on {o.BaselineTest.DaysMet}"
            : $"but the SLO held on fewer held-out days: {o.PickTest.DaysMet} of {o.PickTest.Days}, the baseline on {o.BaselineTest.DaysMet}";
        var verb = o.SavingPercent >= 0 ? "save" : "cost";
        return string.Create(Ci, $"{o.Name}: the tuned settings {verb} {Math.Abs(o.SavingPercent):0.0} % {(o.SavingPercent >= 0 ? "" : "more ")}(90 % bootstrap interval over days {o.SavingInterval.Low:0.0} to {o.SavingInterval.High:0.0} %) {slo}.");
    }

    private static double PerDay(TuneFigure figure) => figure.Days == 0 ? 0 : figure.Dollars / figure.Days;

    private static string Money(double dollars) => dollars.ToString("N2", Ci);

    private static string Gap(double train, double test) => train > 0 ? string.Create(Ci, $"{100 * (test - train) / train:+0.0;-0.0;0.0} %") : "-";

    private static string Date(Instant instant, DateTimeZone zone) => instant.InZone(zone).Date.ToString("yyyy-MM-dd ddd", Ci);

    private static string Dates(Instant start, Instant end, DateTimeZone zone)
    {
        var last = (end - Duration.FromSeconds(1)).InZone(zone).Date;
        var firstDate = start.InZone(zone).Date;
        return firstDate == last ? Date(start, zone) : $"{Date(start, zone)} to {last.ToString("yyyy-MM-dd ddd", Ci)}";
    }
}
