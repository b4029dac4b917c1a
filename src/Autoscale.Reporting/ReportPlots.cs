using Autoscale.Backtesting.Engine;
using ScottPlot;

namespace Autoscale.Reporting;

/// <summary>The PNG plots of a report, in the style of the textbook's Figure 23.6.1.</summary>
internal static class ReportPlots
{
    /// <summary>The font shipped with the library, so plots have their text on machines without fonts.</summary>
    public const string FontName = "DejaVu Sans";

    private const int Width = 1100;
    private const int Height = 520;
    private const int TopCandidates = 3;

    private static readonly Lock FontGate = new();
    private static bool _fontReady;

    /// <summary>Writes the plots into <paramref name="directory"/> and returns their file names with a caption each.</summary>
    public static IReadOnlyList<(string File, string Caption)> Write(BacktestReport report, string directory)
    {
        EnsureFont();
        var written = new List<(string, string)>();
        var capacity = report.Settings.Replica.CapacityRps;
        foreach (var r in report.Results.Where(r => !r.Failed && r.Timeline.Points.Count > 0).Take(TopCandidates))
        {
            var file = $"timeline-{r.Rank}.png";
            Timeline(r, capacity).SavePng(Path.Combine(directory, file), Width, Height);
            written.Add((file, $"Rank {r.Rank}, {r.Name}: demand against ready and loading capacity, and the queue"));
        }

        if (report.Results.Count(r => !r.Failed) > 0)
        {
            Pareto(report.Results).SavePng(Path.Combine(directory, "pareto.png"), Width, Height);
            written.Add(("pareto.png", "Dollars against SLO risk; the Pareto front joined"));
        }

        var index = 0;
        foreach (var sweep in report.Sweeps)
        {
            var file = $"sweep-{++index}.png";
            Sweep(sweep).SavePng(Path.Combine(directory, file), Width, Height);
            written.Add((file, $"Sweep of {sweep.Group}: violations against idle dollars"));
        }

        return written;
    }

    internal static Plot Timeline(CandidateResult r, double capacity)
    {
        var points = r.Timeline.Points;
        var minutes = points.Select(p => p.StartSeconds / 60).ToArray();
        var plot = NewPlot();
        plot.Title($"{r.Name}: demand and capacity");
        var demand = plot.Add.ScatterLine(minutes, points.Select(p => p.DemandRps).ToArray());
        demand.LegendText = "demand (requests/s)";
        demand.Color = Colors.Black;
        demand.LineWidth = 2;
        var ready = plot.Add.ScatterLine(minutes, points.Select(p => p.ReadyReplicas * capacity).ToArray());
        ready.LegendText = "ready capacity";
        ready.Color = new Color(0x2c, 0xa0, 0x2c);
        ready.LineWidth = 2;
        var loading = plot.Add.ScatterLine(minutes, points.Select(p => (p.ReadyReplicas + p.LoadingReplicas) * capacity).ToArray());
        loading.LegendText = "ready + loading capacity";
        loading.Color = new Color(0xff, 0x7f, 0x0e);
        loading.LinePattern = LinePattern.Dashed;
        loading.LineWidth = 2;
        var queue = plot.Add.ScatterLine(minutes, points.Select(p => (double)p.QueueMax).ToArray());
        queue.LegendText = "queue (right axis)";
        queue.Color = new Color(0xd6, 0x27, 0x28, 0x90);
        queue.Axes.YAxis = plot.Axes.Right;
        plot.Axes.Bottom.Label.Text = "minutes from the start of the trace";
        plot.Axes.Left.Label.Text = "requests per second";
        plot.Axes.Right.Label.Text = "requests waiting";
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    internal static Plot Pareto(IReadOnlyList<CandidateResult> results)
    {
        var plot = NewPlot();
        plot.Title("Cost against SLO risk");
        var ok = results.Where(r => !r.Failed).ToList();
        var all = plot.Add.Markers(ok.Select(r => r.ViolationPercent).ToArray(), ok.Select(r => r.Dollars).ToArray());
        all.LegendText = "candidates";
        all.Color = Colors.Gray;
        all.MarkerSize = 9;
        var front = ok.Where(r => r.OnParetoFront).OrderBy(r => r.ViolationPercent).ThenBy(r => r.Dollars).ToList();
        if (front.Count > 0)
        {
            var line = plot.Add.ScatterLine(front.Select(r => r.ViolationPercent).ToArray(), front.Select(r => r.Dollars).ToArray());
            line.LegendText = "Pareto front";
            line.Color = new Color(0x1f, 0x77, 0xb4);
            line.LineWidth = 2;
            line.MarkerSize = 11;
        }

        // Label the front only: its points are spread out, the dominated ones would pile up.
        foreach (var r in front.Take(12))
        {
            var label = plot.Add.Text($"{r.Rank}. {r.Name}", r.ViolationPercent, r.Dollars);
            label.LabelFontSize = 12;
            label.LabelFontName = FontName;
        }

        plot.Axes.Bottom.Label.Text = "violations (% of requests)";
        plot.Axes.Left.Label.Text = "dollars";
        plot.Axes.Margins(0.25, 0.15);
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    internal static Plot Sweep(Backtesting.Results.SweepAnalysis sweep)
    {
        var plot = NewPlot();
        plot.Title($"{sweep.Group}: violations against idle dollars");
        var xs = Enumerable.Range(0, sweep.Rows.Count).Select(i => (double)i).ToArray();
        var violations = plot.Add.ScatterLine(xs, sweep.Rows.Select(r => r.Result.ViolationPercent).ToArray());
        violations.LegendText = "violations (%)";
        violations.Color = new Color(0xd6, 0x27, 0x28);
        violations.LineWidth = 2;
        violations.MarkerSize = 8;
        var idle = plot.Add.ScatterLine(xs, sweep.Rows.Select(r => r.Result.IdleDollars).ToArray());
        idle.LegendText = "idle dollars (right axis)";
        idle.Color = new Color(0x1f, 0x77, 0xb4);
        idle.LineWidth = 2;
        idle.MarkerSize = 8;
        idle.Axes.YAxis = plot.Axes.Right;
        if (sweep.Knee is { } knee)
        {
            var at = sweep.Rows.ToList().IndexOf(knee);
            var line = plot.Add.VerticalLine(at);
            line.LegendText = $"knee: {knee.Value}";
            line.Color = new Color(0x2c, 0xa0, 0x2c);
            line.LinePattern = LinePattern.Dashed;
        }

        var ticks = sweep.Rows.Select((r, i) => new Tick(i, r.Value)).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Bottom.Label.Text = "swept value";
        plot.Axes.Left.Label.Text = "violations (% of requests)";
        plot.Axes.Right.Label.Text = "idle dollars";
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    internal static Plot NewPlot()
    {
        var plot = new Plot();
        plot.Font.Set(FontName);
        return plot;
    }

    internal static void EnsureFont()
    {
        NativeAssets.EnsureResolvers();
        lock (FontGate)
        {
            if (_fontReady)
            {
                return;
            }

            var path = Path.Combine(Path.GetTempPath(), $"autoscale-{typeof(ReportPlots).Assembly.GetName().Version}-DejaVuSans.ttf");
            if (!File.Exists(path))
            {
                using var resource = typeof(ReportPlots).Assembly.GetManifestResourceStream("Autoscale.Reporting.Fonts.DejaVuSans.ttf")
                    ?? throw new InvalidOperationException("the shipped font is missing from the assembly");
                var temp = path + "." + Guid.NewGuid().ToString("N");
                using (var file = File.Create(temp))
                {
                    resource.CopyTo(file);
                }

                File.Move(temp, path, overwrite: true);
            }

            Fonts.AddFontFile(FontName, path);
            Fonts.Default = FontName;
            _fontReady = true;
        }
    }
}
