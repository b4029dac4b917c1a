using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Results;

namespace Autoscale.Reporting;

/// <summary>The report's plots as PNG bytes or HTML, for notebooks and other hosts.</summary>
public static class Plots
{
    /// <summary>
    /// A candidate's timeline (needs a result recorded with a timeline) on the trace's clock in <paramref name="timeZone"/>:
    /// demand against ready and loading capacity, replicas, and the queue with the requests that broke the SLO.
    /// </summary>
    public static byte[] Timeline(CandidateResult result, double capacityRps, int width = 900, int height = 640, string timeZone = "UTC")
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Timeline.Points.Count == 0)
        {
            throw new ArgumentException($"{result.Name} was replayed without a timeline (pass timelinePoints to Backtest.Run)", nameof(result));
        }

        ReportPlots.EnsureFont();
        return ReportPlots.Timeline(result, capacityRps, ReportText.Zone(timeZone), $"rank {result.Rank}", result.Timeline, width, height);
    }

    /// <summary>A candidate's timeline, as Timeline draws it, under a title of the caller's.</summary>
    public static byte[] TitledTimeline(CandidateResult result, double capacityRps, string title, int width = 900, int height = 640, string timeZone = "UTC")
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Timeline.Points.Count == 0)
        {
            throw new ArgumentException($"{result.Name} was replayed without a timeline (pass timelinePoints to Backtest.Run)", nameof(result));
        }

        ReportPlots.EnsureFont();
        return ReportPlots.Timeline(result, capacityRps, ReportText.Zone(timeZone), "", result.Timeline, width, height, title);
    }

    /// <summary>Dollars against SLO risk: every candidate numbered by rank, the Pareto front, the line of the SLO's allowance.</summary>
    public static byte[] Pareto(IReadOnlyList<CandidateResult> results, double targetPercent = 99, int width = 900)
    {
        ReportPlots.EnsureFont();
        var (plot, height) = ReportPlots.Pareto(results, targetPercent);
        return plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
    }

    /// <summary>A sweep: violations against idle dollars, the knee marked.</summary>
    public static byte[] Sweep(SweepAnalysis sweep, int width = 900, int height = 420)
    {
        ReportPlots.EnsureFont();
        return ReportPlots.Sweep(sweep).GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
    }

    /// <summary>Line series against a shared x axis.</summary>
    public static byte[] Lines(string title, string xLabel, string yLabel, double[] xs, IEnumerable<(string Label, double[] Ys)> series, int width = 900, int height = 420)
    {
        ReportPlots.EnsureFont();
        var plot = ReportPlots.NewPlot();
        plot.Title(title);
        foreach (var (label, ys) in series)
        {
            var line = plot.Add.ScatterLine(xs, ys);
            line.LegendText = label;
            line.LineWidth = 2;
        }

        plot.Axes.Bottom.Label.Text = xLabel;
        plot.Axes.Left.Label.Text = yLabel;
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        return plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
    }

    /// <summary>An HTML image element holding the PNG, for <c>display(HTML(...))</c> in a notebook.</summary>
    public static string Html(byte[] png) => $"<img src=\"data:image/png;base64,{Convert.ToBase64String(png)}\"/>";
}
