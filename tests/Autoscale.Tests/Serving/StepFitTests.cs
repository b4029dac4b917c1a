using System.Globalization;
using System.Text;
using System.Text.Json;
using Autoscale.Backtesting.Serving;
using Autoscale.Tests.Cli;
using Xunit;

namespace Autoscale.Tests.Serving;

/// <summary><c>autoscale serving fit</c>: known coefficients recovered from noisy measurements, ill-conditioned fits refused.</summary>
public sealed class StepFitTests
{
    private const double Base = 0.006, Prefill = 0.00002, Decode = 0.00015;

    /// <summary>Per-step rows of the linear model with 1 % multiplicative noise.</summary>
    private static string PerStepCsv(int rows, int seed, Func<int, Random, (double Prefill, double Decode)>? shape = null)
    {
        var random = new Random(seed);
        var text = new StringBuilder("prefill_tokens,decode_tokens,step_ms\n");
        for (var r = 0; r < rows; r++)
        {
            var (p, d) = shape?.Invoke(r, random) ?? (random.Next(0, 2) == 0 ? 0 : random.Next(1, 4097), random.Next(0, 129));
            var seconds = (Base + (Prefill * p) + (Decode * d)) * (1 + (0.01 * Gaussian(random)));
            text.Append(CultureInfo.InvariantCulture, $"{p},{d},{seconds * 1000:R}\n");
        }

        return text.ToString();
    }

    /// <summary>Per-request summaries at known concurrency (TTFT and ITL in ms), from the steady state of the model, 1 % noise.</summary>
    private static string PerRequestCsv(int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder("concurrency,input_tokens,output_tokens,ttft_ms,itl_ms\n");
        foreach (var c in new[] { 1, 2, 4, 8, 16, 32, 64 })
        {
            foreach (var (i, o) in new[] { (128, 128), (512, 256), (2048, 128), (4096, 512), (256, 1024) })
            {
                var ttft = (Base + (Prefill * i) + (Decode * (c - 1))) * (1 + (0.01 * Gaussian(random)));
                var itl = (Base + (Prefill * c * i / o) + (Decode * c)) * (1 + (0.01 * Gaussian(random)));
                text.Append(CultureInfo.InvariantCulture, $"{c},{i},{o},{ttft * 1000:R},{itl * 1000:R}\n");
            }
        }

        return text.ToString();
    }

    private static double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static StepFit.Result FitText(string csv)
    {
        using var dir = new TempFolder();
        var file = Path.Combine(dir.Path, "bench.csv");
        File.WriteAllText(file, csv);
        return StepFit.Fit(StepFit.Read(file));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Per_step_measurements_give_back_the_coefficients_within_two_percent(int seed)
    {
        var fit = FitText(PerStepCsv(300, seed));

        Assert.InRange(fit.BaseSeconds, Base * 0.98, Base * 1.02);
        Assert.InRange(fit.PerPrefillTokenSeconds, Prefill * 0.98, Prefill * 1.02);
        Assert.InRange(fit.PerDecodeTokenSeconds, Decode * 0.98, Decode * 1.02);
        Assert.InRange(fit.RmsRelativeError, 0.005, 0.02);
        Assert.True(fit.RSquared > 0.99);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void Per_request_benchmarks_at_known_concurrency_give_back_the_coefficients_within_two_percent(int seed)
    {
        var fit = FitText(PerRequestCsv(seed));

        Assert.Equal(70, fit.Rows);
        Assert.InRange(fit.BaseSeconds, Base * 0.98, Base * 1.02);
        Assert.InRange(fit.PerPrefillTokenSeconds, Prefill * 0.98, Prefill * 1.02);
        Assert.InRange(fit.PerDecodeTokenSeconds, Decode * 0.98, Decode * 1.02);
    }

    [Fact]
    public void Rows_whose_prefill_and_decode_move_together_are_refused_as_ill_conditioned()
    {
        // Every step decodes as many sequences as a hundredth of its prefill tokens: the two cannot be told apart.
        var csv = PerStepCsv(200, 7, (r, random) => { var p = random.Next(100, 4000); return (p, p / 100.0); });

        var e = Assert.Throws<InvalidOperationException>(() => FitText(csv));
        Assert.Contains("ill-conditioned", e.Message);
    }

    [Fact]
    public void Rows_without_prefill_cannot_fit_its_coefficient()
    {
        var e = Assert.Throws<InvalidOperationException>(() => FitText(PerStepCsv(50, 8, (r, random) => (0, random.Next(1, 64)))));
        Assert.Contains("perPrefillToken is not determined", e.Message);
    }

    [Fact]
    public async Task The_built_command_prints_a_profile_a_config_accepts()
    {
        using var dir = new TempFolder();
        var bench = Path.Combine(dir.Path, "bench.csv");
        await File.WriteAllTextAsync(bench, PerStepCsv(300, 9));

        var (exit, stdout, stderr) = await TestProcess.RunAsync("dotnet", [TestPaths.BuiltProgram("Autoscale.Cli"), "serving", "fit", "--benchmark", bench], dir.Path, TimeSpan.FromMinutes(2));

        Assert.True(exit == 0, stderr);
        Assert.Contains("fitted 300 measurements: RMS error", stderr);
        using var doc = JsonDocument.Parse(stdout);
        var step = doc.RootElement.GetProperty("stepSeconds");
        Assert.InRange(step.GetProperty("base").GetDouble(), Base * 0.98, Base * 1.02);
        Assert.InRange(step.GetProperty("perDecodeToken").GetDouble(), Decode * 0.98, Decode * 1.02);

        // Pasted into replica.serving, it replays.
        var config = Path.Combine(dir.Path, "fitted.json");
        await File.WriteAllTextAsync(config, $$"""
            { "slo": { "maxTtftSeconds": 2 }, "replica": { "serving": {{stdout}} },
              "candidates": [ { "name": "two", "policy": "fixed", "options": { "replicas": 2 }, "loadTime": { "fixedSeconds": 0 } } ] }
            """);
        var (ok, _, err) = await CliRunner.RunAsync("backtest", "--trace", Path.Combine(TestPaths.Traces, "azure-llm-code-2023.parquet"), "--config", config, "--format", "csv");
        Assert.True(ok == 0, err);
    }

    [Theory]
    [InlineData("prefill_tokens,decode_tokens,step_ms\n10,2,abc\n", "row 2, column step_ms: \"abc\" is not a number")]
    [InlineData("prefill_tokens,decode_tokens,step_ms\n10,-2,5\n", "row 2, column decode_tokens: -2 is out of range (sequences decoding must be in [0, 100000000])")]
    [InlineData("a,b\n1,2\n", "needs per-step columns")]
    [InlineData("prefill_tokens,decode_tokens,step_ms\n10,2,5\n20,3,6\n", "2 measurements cannot determine three coefficients")]
    public async Task A_bad_benchmark_is_one_error_line(string csv, string expected)
    {
        using var dir = new TempFolder();
        var bench = Path.Combine(dir.Path, "bench.csv");
        await File.WriteAllTextAsync(bench, csv);

        var (exit, stdout, stderr) = await CliRunner.RunAsync("serving", "fit", "--benchmark", bench);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith($"error: {bench}: ", stderr);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }
}
