using System.Globalization;
using System.Text;
using Autoscale.Config.Hardware;
using Xunit;

namespace Autoscale.Tests.Serving;

/// <summary>
/// The hardware model against measured step times: the shipped <c>splitwise-2023</c> factors are re-derived from the
/// data in the repository, and docs/serving.md's error tables are what the model gives today.
/// </summary>
public sealed class HardwareCalibrationTests
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    private static List<MeasuredStep> Steps() =>
        HardwareFit.Splitwise(File.ReadAllText(Path.Combine(TestPaths.Root, "data", "calibration", "splitwise-perf-model.csv")));

    private static bool PowerCapped(MeasuredStep s) => s.Group.Contains("pcap", StringComparison.Ordinal);

    [Fact]
    public void The_splitwise_factors_are_those_the_data_gives()
    {
        var fitted = FitSplitwise(Steps().Where(s => !PowerCapped(s)).ToList());
        var shipped = HardwareModel.Factors(HardwareCalibration.Splitwise2023);

        for (var i = 0; i < fitted.Length; i++)
        {
            Assert.True(Math.Abs(fitted[i] - shipped[i]) <= 1e-6 * Math.Max(1, Math.Abs(fitted[i])) + 1e-12,
                $"factor {i}: the data gives {fitted[i].ToString("R", Ci)}, shipped {shipped[i].ToString("R", Ci)} (all: {string.Join(", ", fitted.Select(f => f.ToString("R", Ci)))})");
        }
    }

    [Fact]
    public void Docs_state_the_errors_the_model_has_on_the_measurements()
    {
        var expected = Report();
        var docs = File.ReadAllText(Path.Combine(TestPaths.Root, "docs", "serving.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        const string begin = "<!-- hardware-errors:begin -->\n", end = "<!-- hardware-errors:end -->";
        var from = docs.IndexOf(begin, StringComparison.Ordinal);
        var to = docs.IndexOf(end, StringComparison.Ordinal);
        Assert.True(from >= 0 && to > from, "docs/serving.md lacks the hardware-errors markers");
        var actual = docs[(from + begin.Length)..to];
        if (Environment.GetEnvironmentVariable("AUTOSCALE_WRITE_DOCS") == "1" && actual != expected)
        {
            File.WriteAllText(Path.Combine(TestPaths.Root, "docs", "serving.md"), docs[..(from + begin.Length)] + expected + docs[to..]);
            return;
        }

        Assert.True(actual == expected, "docs/serving.md's hardware error tables are out of date (AUTOSCALE_WRITE_DOCS=1 rewrites them):\n" + expected);
    }

    /// <summary>
    /// The splitwise-2023 fit: every factor but the all-reduce's, which stays BLIS's (Splitwise's TP 2, 4 and 8 runs of one
    /// model cannot tell a token's all-reduce from its compute; left free, the fit makes the all-reduce 13 times NVLink's time).
    /// </summary>
    private static double[] FitSplitwise(List<MeasuredStep> steps) =>
        HardwareFit.Fit(steps, new Dictionary<int, double> { [4] = HardwareCalibration.BlisTrainedPhysics.TensorParallelComm });

    /// <summary>The markdown of docs/serving.md's error tables.</summary>
    private static string Report()
    {
        var steps = Steps();
        var blis = HardwareModel.Factors(HardwareCalibration.BlisTrainedPhysics);
        var splitwise = HardwareModel.Factors(HardwareCalibration.Splitwise2023);
        var pairs = steps.Select(s => string.Join(' ', s.Group.Split(' ')[..2])).Distinct().ToList();
        var heldOut = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            // Held out: fitted on the other model-and-GPU pairs only (and never on power-capped rows).
            heldOut[pair] = FitSplitwise(steps.Where(s => !PowerCapped(s) && !s.Group.StartsWith(pair + " ", StringComparison.Ordinal)).ToList());
        }

        string Pct(double v) => double.IsNaN(v) ? "-" : v.ToString("0.0", Ci) + " %";
        var text = new StringBuilder();
        text.Append("| model, GPU, TP | step | BLIS's factors | splitwise-2023 | held out |\n|---|---|---|---|---|\n");
        foreach (var group in steps.GroupBy(s => s.Group))
        {
            var pair = string.Join(' ', group.Key.Split(' ')[..2]);
            foreach (var kind in new[] { "prefill", "decode" })
            {
                var rows = group.Where(s => s.Kind == kind).ToList();
                text.Append(Ci, $"| {group.Key} | {kind} | {Pct(HardwareFit.MedianErrorPercent(rows, blis))} | {Pct(HardwareFit.MedianErrorPercent(rows, splitwise))} | {Pct(HardwareFit.MedianErrorPercent(rows, heldOut[pair]))} |\n");
            }
        }

        text.Append("\nBy prompt size (prefill) and batch size (decode), Llama-2-70B on H100 at TP 4, median error:\n\n");
        text.Append("| prefill prompt tokens | BLIS's factors | splitwise-2023 |\n|---|---|---|\n");
        var h100 = steps.Where(s => s.Group == "llama2-70b h100-80gb TP4").ToList();
        foreach (var size in h100.Where(s => s.Kind == "prefill").GroupBy(s => s.PromptTokens).OrderBy(g => g.Key))
        {
            text.Append(Ci, $"| {size.Key} | {Pct(HardwareFit.MedianErrorPercent(size, blis))} | {Pct(HardwareFit.MedianErrorPercent(size, splitwise))} |\n");
        }

        text.Append("\n| decode batch | BLIS's factors | splitwise-2023 |\n|---|---|---|\n");
        foreach (var batch in h100.Where(s => s.Kind == "decode").GroupBy(s => s.Batch).OrderBy(g => g.Key))
        {
            text.Append(Ci, $"| {batch.Key} | {Pct(HardwareFit.MedianErrorPercent(batch, blis))} | {Pct(HardwareFit.MedianErrorPercent(batch, splitwise))} |\n");
        }

        return text.ToString();
    }
}
