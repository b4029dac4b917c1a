using System.Globalization;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Results;
using NodaTime;
using ScottPlot;
using SkiaSharp;

namespace Autoscale.Reporting;

/// <summary>
/// The PNG plots of a report, in the style of the textbook's Figure 23.6.1: a timeline for each candidate a reader
/// needs to see (the winner, the best of each policy, the worst, each sweep's knee and ends) with demand against
/// capacity, replicas, and the queue with the requests that broke the SLO, on the trace's own clock; a zoom on the
/// worst hour of traces longer than a day; the Pareto plot with the SLO line; one plot per sweep.
/// </summary>
internal static class ReportPlots
{
    /// <summary>The font shipped with the library, so plots have their text on machines without fonts.</summary>
    public const string FontName = "DejaVu Sans";

    private const int Width = 1100;
    private const int Height = 520;
    private const int TimelineHeight = 760;

    private static readonly Color Demand = Colors.Black;
    private static readonly Color Ready = new(0x2c, 0xa0, 0x2c);
    private static readonly Color Loading = new(0xff, 0x7f, 0x0e);
    private static readonly Color Queue = new(0x1f, 0x77, 0xb4);
    private static readonly Color Late = new(0xd6, 0x27, 0x28);

    private static readonly Lock FontGate = new();
    private static bool _fontReady;

    /// <summary>Writes the plots into <paramref name="directory"/> and returns their file names with a caption each.</summary>
    public static IReadOnlyList<(string File, string Caption)> Write(BacktestReport report, string directory)
    {
        EnsureFont();
        var written = new List<(string, string)>();
        var zone = ReportText.Zone(report.TimeZone);
        foreach (var (r, why) in TimelineCandidates(report))
        {
            // With a serving profile, a replica's capacity is its nominal rate at the trace's mean tokens.
            var capacity = r.Serving?.NominalCapacityRps ?? report.Settings.Replica.CapacityRps;
            var file = $"timeline-{r.Rank}.png";
            File.WriteAllBytes(Path.Combine(directory, file), Timeline(r, capacity, zone, why, r.Timeline, Width, TimelineHeight));
            written.Add((file, $"Rank {r.Rank}, {r.Name} ({why}): demand against ready and loading capacity, replicas, and the queue with the requests that broke the SLO"));
            if (r.Timeline.Zoom is { Points.Count: > 0 } zoom)
            {
                var zoomFile = $"timeline-{r.Rank}-zoom.png";
                File.WriteAllBytes(Path.Combine(directory, zoomFile), Timeline(r, capacity, zone, why + ", its worst hour", zoom, Width, TimelineHeight));
                var from = r.Start + Duration.FromSeconds(zoom.Points[0].StartSeconds);
                written.Add((zoomFile, $"Rank {r.Rank}, {r.Name}: its worst hour, from {ReportText.Local(from, zone)} {ReportText.ZoneName(zone)}, in {zoom.BucketSeconds.ToString(CultureInfo.InvariantCulture)}-second steps"));
            }
        }

        foreach (var (r, why) in TimelineCandidates(report))
        {
            if (r.Cluster is { Timeline.Count: > 0 } cluster)
            {
                var file = $"cluster-{r.Rank}.png";
                File.WriteAllBytes(Path.Combine(directory, file), Cluster(r, cluster, zone, why, Width, Height));
                written.Add((file, $"Rank {r.Rank}, {r.Name} ({why}): nodes up and replicas holding GPUs, per node pool"));
            }
        }

        if (report.Results.Any(r => !r.Failed))
        {
            var (plot, height) = Pareto(report.Results, report.Settings.Slo.TargetPercent);
            plot.SavePng(Path.Combine(directory, "pareto.png"), Width, height);
            written.Add(("pareto.png", "Dollars against SLO risk, each candidate by its rank; the Pareto front joined; the dashed line is the SLO's allowance"));
        }

        var index = 0;
        foreach (var sweep in report.Sweeps)
        {
            var file = $"sweep-{++index}.png";
            Sweep(sweep).SavePng(Path.Combine(directory, file), Width, Height);
            written.Add((file, $"Sweep of {sweep.Group}: violations against idle dollars" + (sweep.Knee is { } knee ? $", knee at {knee.Value}" : ", no value meets the SLO")));
        }

        return written;
    }

    /// <summary>
    /// The candidates a reader needs to see, in rank order, each with why: the winner, the best of each policy, the
    /// worst, and each sweep's knee and ends.
    /// </summary>
    internal static IReadOnlyList<(CandidateResult Result, string Why)> TimelineCandidates(BacktestReport report)
    {
        var ok = report.Results.Where(r => !r.Failed && r.Timeline.Points.Count > 0).ToList();
        var why = new Dictionary<CandidateResult, List<string>>();
        void Add(CandidateResult? r, string reason)
        {
            if (r is null || !ok.Contains(r))
            {
                return;
            }

            if (!why.TryGetValue(r, out var reasons))
            {
                why[r] = reasons = [];
            }

            if (!reasons.Contains(reason))
            {
                reasons.Add(reason);
            }
        }

        if (ok.Count > 0)
        {
            Add(ok[0], ok[0].MeetsSlo ? "the winner" : "the best ranked; it misses the SLO");
        }

        foreach (var policy in ok.GroupBy(r => r.Policy, StringComparer.Ordinal))
        {
            Add(policy.First(), $"the best {policy.Key}");
        }

        if (ok.Count > 1)
        {
            Add(ok[^1], "the worst");
        }

        foreach (var sweep in report.Sweeps)
        {
            Add(sweep.Knee?.Result, $"knee of {sweep.Group}");
            Add(sweep.Rows[0].Result, $"one end of {sweep.Group}");
            Add(sweep.Rows[^1].Result, $"one end of {sweep.Group}");
        }

        return why.OrderBy(p => p.Key.Rank).Select(p => (p.Key, string.Join("; ", p.Value))).ToList();
    }

    /// <summary>
    /// The capacity ready, and ready or loading, at each point of <paramref name="timeline"/>: replicas times a replica's
    /// nominal rate; for a disaggregated fleet the smaller of its pools' (a request needs both), from their own timelines.
    /// </summary>
    private static (double[] Ready, double[] All) Capacities(CandidateResult r, Timeline timeline, double capacity)
    {
        var points = timeline.Points;
        if (r.Pools is { } pools && Matching(pools.Prefill.Timeline, timeline) is { } prefill && Matching(pools.Decode.Timeline, timeline) is { } decode)
        {
            var p = pools.Prefill.Serving?.NominalCapacityRps ?? capacity;
            var d = pools.Decode.Serving?.NominalCapacityRps ?? capacity;
            return (
                [.. prefill.Points.Zip(decode.Points, (a, b) => Math.Min(a.ReadyReplicas * p, b.ReadyReplicas * d))],
                [.. prefill.Points.Zip(decode.Points, (a, b) => Math.Min((a.ReadyReplicas + a.LoadingReplicas) * p, (b.ReadyReplicas + b.LoadingReplicas) * d))]);
        }

        return ([.. points.Select(q => q.ReadyReplicas * capacity)], [.. points.Select(q => (q.ReadyReplicas + q.LoadingReplicas) * capacity)]);

        // A pool's timeline at the points of the fleet's (its overview, or its zoom when it zooms on the same hour).
        Timeline? Matching(Timeline pool, Timeline fleet) =>
            pool.Points.Count == fleet.Points.Count && pool.BucketSeconds == fleet.BucketSeconds && (pool.Points.Count == 0 || pool.Points[0].StartSeconds == fleet.Points[0].StartSeconds) ? pool
            : pool.Zoom is { } zoom && zoom.Points.Count == fleet.Points.Count && zoom.BucketSeconds == fleet.BucketSeconds && (zoom.Points.Count == 0 || zoom.Points[0].StartSeconds == fleet.Points[0].StartSeconds) ? zoom
            : null;
    }

    /// <summary>
    /// Three panels on the trace's clock: demand against ready and ready + loading capacity (requests per second);
    /// replicas ready and loading; requests waiting and requests that broke the SLO in each step.
    /// </summary>
    internal static byte[] Timeline(CandidateResult r, double capacity, DateTimeZone zone, string why, Timeline timeline, int width, int height, string? title = null)
    {
        var start = r.Start;
        var points = timeline.Points;
        var xs = points.Select(p => OaDate(start, p.StartSeconds, zone)).ToArray();
        var xMin = xs[0];
        var xMax = OaDate(start, points[^1].StartSeconds + timeline.BucketSeconds, zone);
        var step = Step(timeline.BucketSeconds);

        var rates = NewPlot();
        rates.Title(title ?? $"Rank {r.Rank}, {r.Name} ({why})");
        Line(rates, xs, points.Select(p => p.DemandRps), "demand (requests/s)", Demand, 2);
        var (readyCapacity, allCapacity) = Capacities(r, timeline, capacity);
        Line(rates, xs, readyCapacity, r.Serving is null ? "ready capacity (requests/s)" : r.Pools is null ? "ready capacity (nominal, at mean tokens)" : "ready capacity (the smaller pool's, nominal)", Ready, 2);
        var loading = Line(rates, xs, allCapacity, "ready + loading capacity", Loading, 2);
        loading.LinePattern = LinePattern.Dashed;
        rates.Axes.Left.Label.Text = "requests per second";
        Finish(rates, xMin, xMax, Math.Max(points.Max(p => p.DemandRps), allCapacity.Max()));

        var replicas = NewPlot();
        Line(replicas, xs, points.Select(p => p.ReadyReplicas), "ready replicas (mean over the step)", Ready, 2);
        var total = Line(replicas, xs, points.Select(p => p.ReadyReplicas + p.LoadingReplicas), "ready + loading replicas (mean)", Loading, 2);
        total.LinePattern = LinePattern.Dashed;
        replicas.Axes.Left.Label.Text = "replicas";
        Finish(replicas, xMin, xMax, points.Max(p => p.ReadyReplicas + p.LoadingReplicas));

        var queue = NewPlot();
        Line(queue, xs, points.Select(p => (double)p.QueueMax), "requests waiting (most in the step)", Queue, 2);
        Line(queue, xs, points.Select(p => (double)p.Violations), $"requests late or dropped (per {step})", Late, 2);
        queue.Axes.Left.Label.Text = "requests";
        Finish(queue, xMin, xMax, points.Max(p => Math.Max(p.QueueMax, p.Violations)));
        queue.Axes.Bottom.Label.Text = TimeLabel(xMin, xMax, zone);

        var top = (int)(height * 0.38);
        var middle = (int)(height * 0.27);
        return Stack(width, (rates, top), (replicas, middle), (queue, height - top - middle));
    }

    /// <summary>Two panels on the trace's clock: the most nodes up per pool in each step (provisioning, ready or under notice), and the most replicas holding GPUs per pool.</summary>
    internal static byte[] Cluster(CandidateResult r, Autoscale.Backtesting.Cluster.ClusterMetrics cluster, DateTimeZone zone, string why, int width, int height)
    {
        var tickSeconds = r.Ticks > 0 ? r.SpanSeconds / r.Ticks : 1;
        var points = cluster.Timeline;
        var xs = points.Select(p => OaDate(r.Start, p.Tick * tickSeconds, zone)).ToArray();
        var bucket = points.Count > 1 ? (points[1].Tick - points[0].Tick) * tickSeconds : r.SpanSeconds;
        var xMin = xs[0];
        var xMax = OaDate(r.Start, (points[^1].Tick * tickSeconds) + bucket, zone);
        Color[] palette = [Queue, Loading, Ready, Late, new(0x94, 0x67, 0xbd), new(0x8c, 0x56, 0x4b)];

        var nodes = NewPlot();
        nodes.Title($"Rank {r.Rank}, {r.Name} ({why}): the cluster");
        var replicas = NewPlot();
        for (var p = 0; p < cluster.Pools.Count; p++)
        {
            var pool = cluster.Pools[p];
            var color = palette[p % palette.Length];
            var index = p;
            Line(nodes, xs, points.Select(x => (double)x.Nodes[index]), pool.Name == pool.Kind ? $"{pool.Name} nodes" : $"{pool.Name} nodes ({pool.Kind})", color, 2);
            Line(replicas, xs, points.Select(x => (double)x.Replicas[index]), $"replicas on {pool.Name}", color, 2);
        }

        nodes.Axes.Left.Label.Text = "nodes up (most in the step)";
        Finish(nodes, xMin, xMax, points.Max(x => x.Nodes.DefaultIfEmpty(0).Max()));
        replicas.Axes.Left.Label.Text = "replicas (most in the step)";
        Finish(replicas, xMin, xMax, points.Max(x => x.Replicas.DefaultIfEmpty(0).Max()));
        replicas.Axes.Bottom.Label.Text = TimeLabel(xMin, xMax, zone);
        return Stack(width, (nodes, height / 2), (replicas, height - (height / 2)));
    }

    /// <summary>Candidates numbered and listed on the Pareto plot; the others are drawn unlabelled.</summary>
    internal const int MaxLabelled = 40;

    /// <summary>Dollars against violations, candidates numbered by rank and listed beside the plot (at most <see cref="MaxLabelled"/>).</summary>
    internal static (Plot Plot, int Height) Pareto(IReadOnlyList<CandidateResult> results, double targetPercent)
    {
        var plot = NewPlot();
        plot.Title("Cost against SLO risk");
        var ok = results.Where(r => !r.Failed).ToList();
        var front = ok.Where(r => r.OnParetoFront).OrderBy(r => r.ViolationPercent).ThenBy(r => r.Dollars).ToList();
        if (front.Count > 1)
        {
            var line = plot.Add.ScatterLine(front.Select(r => r.ViolationPercent).ToArray(), front.Select(r => r.Dollars).ToArray());
            line.Color = Queue.WithAlpha(0.6);
            line.LineWidth = 2;
            line.MarkerSize = 0;
            line.LegendText = "Pareto front";
        }

        var allowance = 100 - targetPercent;
        var slo = plot.Add.VerticalLine(allowance);
        slo.Color = Late;
        slo.LinePattern = LinePattern.Dashed;
        slo.LineWidth = 1.5f;
        slo.LegendText = $"SLO: at most {allowance.ToString("0.###", CultureInfo.InvariantCulture)}% violations";

        // At most MaxLabelled candidates are numbered and listed (the best ranked and the Pareto front); the rest are
        // grey points under one legend entry, so a sweep of thousands still gives a page-sized plot.
        var labelled = ok.Where(r => r.OnParetoFront).OrderBy(r => r.Rank).Take(MaxLabelled / 2)
            .Concat(ok.OrderBy(r => r.Rank)).Distinct().Take(MaxLabelled).OrderBy(r => r.Rank).ToList();
        var unlabelled = ok.Except(labelled).ToList();
        if (unlabelled.Count > 0)
        {
            var rest = plot.Add.Markers(unlabelled.Select(r => r.ViolationPercent).ToArray(), unlabelled.Select(r => r.Dollars).ToArray());
            rest.Color = Colors.Gray.WithAlpha(0.5);
            rest.MarkerSize = 6;
            rest.MarkerShape = MarkerShape.OpenCircle;
            rest.LegendText = $"{unlabelled.Count.ToString("N0", CultureInfo.InvariantCulture)} more (see the table)";
        }

        foreach (var r in labelled)
        {
            var marker = plot.Add.Markers(new[] { r.ViolationPercent }, new[] { r.Dollars });
            marker.Color = r.MeetsSlo ? Ready : Late;
            marker.MarkerSize = r.OnParetoFront ? 12 : 9;
            marker.MarkerShape = r.OnParetoFront ? MarkerShape.FilledCircle : MarkerShape.OpenCircle;
            marker.LegendText = $"{r.Rank}. {Shorten(r.Name)}{(r.OnParetoFront ? " *" : "")}";
        }

        var xMax = Math.Max(ok.Count == 0 ? 0 : ok.Max(r => r.ViolationPercent), allowance) * 1.12;
        var yMax = (ok.Count == 0 ? 0 : ok.Max(r => r.Dollars)) * 1.15;
        xMax = xMax > 0 ? xMax : 1;
        yMax = yMax > 0 ? yMax : 1;

        // Points that would sit on each other's labels share one label, ranks listed from the cheapest up (a few, then +N).
        foreach (var cluster in Clusters(labelled, xMax, yMax))
        {
            var top = cluster.MaxBy(r => r.Dollars)!;
            var ranks = cluster.OrderBy(r => r.Dollars).ThenBy(r => r.Rank).Select(r => r.Rank.ToString(CultureInfo.InvariantCulture)).ToList();
            var text = ranks.Count <= 6 ? string.Join(",", ranks) : string.Join(",", ranks.Take(5)) + $" +{ranks.Count - 5}";
            var label = plot.Add.Text(text, top.ViolationPercent, top.Dollars);
            label.LabelFontSize = 12;
            label.LabelFontName = FontName;
            label.LabelOffsetX = 7;
            label.LabelOffsetY = -18;
        }

        plot.Axes.SetLimits(0, xMax, 0, yMax);
        plot.Axes.Bottom.Label.Text = "violations (% of requests)";
        plot.Axes.Left.Label.Text = "dollars (whole trace)";
        plot.ShowLegend(Edge.Right);
        plot.Legend.FontSize = 12;
        var height = Math.Max(Height, 110 + 21 * (labelled.Count + 3));
        return (plot, height);
    }

    /// <summary>Groups candidates closer than 3% of the plot's width and height to one another (single linkage).</summary>
    private static List<List<CandidateResult>> Clusters(List<CandidateResult> results, double xRange, double yRange)
    {
        var clusters = new List<List<CandidateResult>>();
        foreach (var r in results.OrderBy(r => r.Rank))
        {
            var near = clusters.Where(c => c.Any(o => Math.Abs(o.ViolationPercent - r.ViolationPercent) < 0.03 * xRange && Math.Abs(o.Dollars - r.Dollars) < 0.03 * yRange)).ToList();
            var merged = new List<CandidateResult> { r };
            foreach (var c in near)
            {
                merged.AddRange(c);
                clusters.Remove(c);
            }

            clusters.Add(merged);
        }

        return clusters;
    }

    internal static Plot Sweep(SweepAnalysis sweep)
    {
        var plot = NewPlot();
        plot.Title($"{sweep.Group}: violations against idle dollars");
        var xs = Enumerable.Range(0, sweep.Rows.Count).Select(i => (double)i).ToArray();
        var violations = plot.Add.ScatterLine(xs, sweep.Rows.Select(r => r.Result.ViolationPercent).ToArray());
        violations.LegendText = "violations (%)";
        violations.Color = Late;
        violations.LineWidth = 2;
        violations.MarkerSize = 8;
        var idle = plot.Add.ScatterLine(xs, sweep.Rows.Select(r => r.Result.IdleDollars).ToArray());
        idle.LegendText = "idle dollars (right axis)";
        idle.Color = Queue;
        idle.LineWidth = 2;
        idle.MarkerSize = 8;
        idle.Axes.YAxis = plot.Axes.Right;
        if (sweep.Knee is { } knee)
        {
            var at = sweep.Rows.ToList().IndexOf(knee);
            var line = plot.Add.VerticalLine(at);
            line.LegendText = $"knee: {knee.Value}";
            line.Color = Ready;
            line.LinePattern = LinePattern.Dashed;
        }

        var ticks = sweep.Rows.Select((r, i) => new Tick(i, r.Value)).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Bottom.Label.Text = "swept value";
        plot.Axes.Left.Label.Text = "violations (% of requests)";
        plot.Axes.Right.Label.Text = "idle dollars";
        plot.Axes.SetLimitsX(-0.5, sweep.Rows.Count - 0.5);
        plot.Axes.SetLimitsY(0, Top(sweep.Rows.Max(r => r.Result.ViolationPercent)), plot.Axes.Left);
        plot.Axes.SetLimitsY(0, Top(sweep.Rows.Max(r => r.Result.IdleDollars)), plot.Axes.Right);
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

    /// <summary>Renders the plots one above the other into one PNG.</summary>
    internal static byte[] Stack(int width, params (Plot Plot, int Height)[] panels)
    {
        var height = panels.Sum(p => p.Height);
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        surface.Canvas.Clear(SKColors.White);
        var top = 0;
        foreach (var (plot, panelHeight) in panels)
        {
            // Each panel is rendered on its own (a plot clears the whole canvas it renders on), then placed.
            using var panel = SKImage.FromEncodedData(plot.GetImageBytes(width, panelHeight, ImageFormat.Png));
            surface.Canvas.DrawImage(panel, 0, top);
            top += panelHeight;
        }

        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    private static ScottPlot.Plottables.Scatter Line(Plot plot, double[] xs, IEnumerable<double> ys, string legend, Color color, float width)
    {
        var line = plot.Add.ScatterLine(xs, ys.ToArray());
        line.LegendText = legend;
        line.Color = color;
        line.LineWidth = width;
        line.MarkerSize = 0;
        return line;
    }

    /// <summary>
    /// The panel's axes: time from the first to the last step, labelled as fits the span (times of day within a day,
    /// dates and times beyond), values from 0 (never a band around a flat zero).
    /// </summary>
    private static void Finish(Plot plot, double xMin, double xMax, double yMax)
    {
        var axis = plot.Axes.DateTimeTicksBottom();
        var days = xMax - xMin;
        var format = days <= 1 ? (days * 86_400 <= 600 ? "HH:mm:ss" : "HH:mm") : days <= 14 ? "ddd dd HH:mm" : "yyyy-MM-dd";
        if (axis.TickGenerator is ScottPlot.TickGenerators.DateTimeAutomatic automatic)
        {
            automatic.LabelFormatter = t => t.ToString(format, CultureInfo.InvariantCulture);
        }

        plot.Axes.SetLimits(xMin, xMax, 0, Top(yMax));
        plot.Layout.Fixed(new PixelPadding(80, 40, 45, plot.Axes.Title.Label.Text.Length > 0 ? 45 : 20));
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Legend.FontSize = 11;

        // One row of entries along the top, above the data (see Top): a legend never hides a line.
        plot.Legend.Orientation = Orientation.Horizontal;
    }

    /// <summary>The bottom axis's title: the zone, and the date when the whole span falls on one day.</summary>
    private static string TimeLabel(double xMin, double xMax, DateTimeZone zone)
    {
        var first = DateTime.FromOADate(xMin);
        var last = DateTime.FromOADate(xMax - 1e-6); // a span that ends at midnight ends on the day before it (FromOADate rounds to the millisecond)
        return first.Date == last.Date
            ? $"time ({ReportText.ZoneName(zone)}) on {first.ToString("dddd yyyy-MM-dd", CultureInfo.InvariantCulture)}"
            : $"time ({ReportText.ZoneName(zone)}), {first.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)} to {last.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";
    }

    /// <summary>The value axis's top: the largest value at 75 % of the height, leaving the top row to the legend.</summary>
    private static double Top(double max) => max > 0 ? max * 1.33 : 1;

    private static double OaDate(Instant start, double seconds, DateTimeZone zone) =>
        (start + Duration.FromMilliseconds(Math.Round(seconds * 1000))).InZone(zone).LocalDateTime.ToDateTimeUnspecified().ToOADate();

    private static string Step(double seconds) => seconds switch
    {
        < 60 => $"{seconds.ToString("0.###", CultureInfo.InvariantCulture)} s",
        < 3600 => $"{(seconds / 60).ToString("0.#", CultureInfo.InvariantCulture)} min",
        _ => $"{(seconds / 3600).ToString("0.#", CultureInfo.InvariantCulture)} h",
    };

    private static string Shorten(string name) => name.Length <= 40 ? name : name[..37] + "...";
}
