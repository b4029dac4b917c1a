using ScottPlot;

namespace Autoscale.Reporting;

/// <summary>The plots of a tune's report (<c>autoscale tune --out</c>), as PNG bytes.</summary>
public static class TunePlots
{
    private static readonly Color Points = new(0x1f, 0x77, 0xb4);
    private static readonly Color Baseline = new(0x7f, 0x7f, 0x7f);
    private static readonly Color Pick = new(0xd6, 0x27, 0x28);
    private static readonly Color Train = new(0x2c, 0xa0, 0x2c);

    /// <summary>
    /// Cost against SLO risk of every setting evaluated on the whole of a training window, its Pareto front joined, the
    /// SLO's allowance as a vertical line, the baseline and the pick marked.
    /// </summary>
    /// <param name="title">The plot's title.</param>
    /// <param name="violationPercent">Each setting's violation percentage.</param>
    /// <param name="dollars">Each setting's cost (billed dollars plus dollars per violation).</param>
    /// <param name="baseline">The baseline's point.</param>
    /// <param name="pick">The pick's point.</param>
    /// <param name="allowedPercent">The violation percentage the SLO allows (100 - target).</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    public static byte[] Front(string title, IReadOnlyList<double> violationPercent, IReadOnlyList<double> dollars, (double ViolationPercent, double Dollars) baseline,
        (double ViolationPercent, double Dollars) pick, double allowedPercent, int width = 900, int height = 480)
    {
        ArgumentNullException.ThrowIfNull(violationPercent);
        ArgumentNullException.ThrowIfNull(dollars);
        ReportPlots.EnsureFont();
        var plot = ReportPlots.NewPlot();
        plot.Title(title);
        var all = plot.Add.ScatterPoints(violationPercent.ToArray(), dollars.ToArray());
        all.Color = Points.WithAlpha(0.45);
        all.MarkerSize = 5;
        all.LegendText = $"settings evaluated ({violationPercent.Count})";

        // The front: no other setting is as cheap at as low a risk.
        var order = Enumerable.Range(0, violationPercent.Count).OrderBy(i => violationPercent[i]).ThenBy(i => dollars[i]).ToList();
        var front = new List<int>();
        foreach (var i in order)
        {
            if (front.Count == 0 || dollars[i] < dollars[front[^1]])
            {
                front.Add(i);
            }
        }

        if (front.Count > 1)
        {
            var line = plot.Add.ScatterLine(front.Select(i => violationPercent[i]).ToArray(), front.Select(i => dollars[i]).ToArray());
            line.Color = Points;
            line.LineWidth = 1.5f;
            line.LegendText = "Pareto front";
        }

        var allowance = plot.Add.VerticalLine(allowedPercent);
        allowance.Color = Colors.Black.WithAlpha(0.5);
        allowance.LinePattern = LinePattern.Dashed;
        allowance.LegendText = $"SLO allows {allowedPercent:0.###} %";
        Mark(plot, baseline.ViolationPercent, baseline.Dollars, Baseline, "baseline (as written)", MarkerShape.FilledSquare);
        Mark(plot, pick.ViolationPercent, pick.Dollars, Pick, "pick", MarkerShape.FilledDiamond);
        plot.Axes.Bottom.Label.Text = "violations, % of requests";
        plot.Axes.Left.Label.Text = "cost on the training window, $";
        var xs = violationPercent.Append(baseline.ViolationPercent).Append(allowedPercent).ToList();
        var ys = dollars.Append(baseline.Dollars).ToList();
        plot.Axes.SetLimits(0, Math.Max(xs.Max() * 1.1, 1e-3), 0, Math.Max(ys.Max() * 1.15, 1));
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    /// <summary>Each fold's dollars per day: the pick on its training days and on its test days, the baseline on the same test days.</summary>
    /// <param name="labels">Each fold's label (its test days).</param>
    /// <param name="trainPerDay">The pick's dollars per training day.</param>
    /// <param name="testPerDay">The pick's dollars per test day.</param>
    /// <param name="baselinePerDay">The baseline's dollars per test day.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    public static byte[] Folds(IReadOnlyList<string> labels, IReadOnlyList<double> trainPerDay, IReadOnlyList<double> testPerDay, IReadOnlyList<double> baselinePerDay, int width = 900, int height = 420)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ReportPlots.EnsureFont();
        var plot = ReportPlots.NewPlot();
        plot.Title("Dollars per day, fold by fold: the pick on its training days and on the held-out days after them");
        var series = new (string Label, IReadOnlyList<double> Values, Color Color)[]
        {
            ("pick, training days", trainPerDay, Train),
            ("pick, held-out days", testPerDay, Pick),
            ("baseline, held-out days", baselinePerDay, Baseline),
        };
        var bars = new List<Bar>();
        for (var f = 0; f < labels.Count; f++)
        {
            for (var s = 0; s < series.Length; s++)
            {
                bars.Add(new Bar { Position = f * (series.Length + 1) + s, Value = series[s].Values[f], FillColor = series[s].Color });
            }
        }

        plot.Add.Bars(bars);
        for (var s = 0; s < series.Length; s++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = series[s].Label, FillColor = series[s].Color });
        }

        var ticks = labels.Select((l, f) => new Tick(f * (series.Length + 1) + 1, l)).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Bottom.Label.Text = "held-out day of each fold";
        plot.Axes.Left.Label.Text = "$ per day";
        var top = series.SelectMany(s => s.Values).DefaultIfEmpty(1).Max();
        plot.Axes.SetLimits(-1, labels.Count * (series.Length + 1) - 1, 0, Math.Max(1, top * 1.3));
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    private static void Mark(Plot plot, double x, double y, Color color, string label, MarkerShape shape)
    {
        var marker = plot.Add.Marker(x, y, shape, 14);
        marker.Color = color;
        marker.LegendText = label;
    }
}
