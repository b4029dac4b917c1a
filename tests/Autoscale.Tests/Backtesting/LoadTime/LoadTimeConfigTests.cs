using Autoscale.Config;
using Autoscale.Backtesting.LoadTime;
using Autoscale.Policies.Catalog;
using Autoscale.Tests.Cli;

namespace Autoscale.Tests.Backtesting.LoadTime;

public sealed class LoadTimeConfigTests
{
    private static string Config(string loadTime) => $$"""
        { "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 30 },
          "candidates": [ { "name": "c", "policy": "reactive", "loadTime": {{loadTime}} } ] }
        """;

    [Fact]
    public async Task A_phased_model_with_every_part_is_read()
    {
        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadAsync(Config("""
            { "model": "phased", "modelSizeGb": 140, "nodeBandwidthGbps": 1.25, "storeBandwidthGbps": 25, "shardSeconds": 30,
              "warmSeconds": 60, "streaming": true, "snapshotRestoreSeconds": 8, "jitter": { "distribution": "lognormal", "sigma": 0.2 },
              "cache": { "retentionSeconds": 3600, "bandwidthGbps": 3.5, "holdDollarsPerHour": 0.5 } }
            """), "c.json");

        var model = Assert.IsType<PhasedLoadTime>(plan.Candidates[0].LoadTime);
        Assert.Equal(120, model.ExpectedLoadTime.TotalSeconds, 9); // max(112, 30) + 8
        Assert.Equal(new NodeCache(3600, 3.5, 0.5), model.Cache);
        Assert.Equal(0.2, model.JitterSigma);
    }

    [Fact]
    public async Task An_empirical_model_reads_measurements_beside_the_config()
    {
        using var dir = new TempFolder();
        dir.Write("starts.csv", "seconds\n30\n45\n60\n\n90\n");
        var path = dir.Write("c.json", Config("""{ "model": "empirical", "file": "starts.csv" }"""));

        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadFileAsync(path);

        var model = Assert.IsType<EmpiricalLoadTime>(plan.Candidates[0].LoadTime);
        Assert.Equal([30.0, 45, 60, 90], model.Measurements);
        Assert.Equal(56.25, model.ExpectedLoadTime.TotalSeconds, 9);
        Assert.All(Enumerable.Range(0, 200), i => Assert.Contains(model.LoadDuration(i).TotalSeconds, model.Measurements));
    }

    [Fact]
    public void A_fitted_empirical_model_draws_around_the_measurements()
    {
        var model = new EmpiricalLoadTime([30, 35, 40, 50, 60, 80, 120], fitLogNormal: true, seed: 3);

        var mean = Enumerable.Range(0, 20_000).Average(i => model.LoadDuration(i).TotalSeconds);

        Assert.Equal(model.ExpectedLoadTime.TotalSeconds, mean, 0.03 * mean);
    }

    public static TheoryData<string, string> Bad => new()
    {
        { """{ "model": "phased", "modelSizeGb": 0, "nodeBandwidthGbps": 1 }""", "candidates[0].loadTime.modelSizeGb: must be in (0, 1000000] (was 0)" },
        { """{ "model": "phased", "modelSizeGb": 10, "nodeBandwidthGbps": -2 }""", "candidates[0].loadTime.nodeBandwidthGbps: must be in [0.001, 1000000] (was -2)" },
        { """{ "model": "phased", "modelSizeGb": 10, "nodeBandwidthGbps": 1, "storeBandwidthGbps": 0 }""", "candidates[0].loadTime.storeBandwidthGbps: must be in [0.001, 1000000] (was 0)" },
        { """{ "model": "phased", "modelSizeGb": 10, "nodeBandwidthGbps": 1, "cache": { "bandwidthGbps": 3 } }""", "candidates[0].loadTime.cache.retentionSeconds: is required" },
        { """{ "model": "phased", "modelSizeGb": 10, "nodeBandwidthGbps": 1, "cache": { "retentionSeconds": 0, "bandwidthGbps": 3 } }""", "candidates[0].loadTime.cache.retentionSeconds: must be in (0, 31536000] (was 0)" },
        { """{ "model": "phased", "modelSizeGb": 10, "nodeBandwidthGbps": 1, "jitter": { "sigma": -1 } }""", "candidates[0].loadTime.jitter.sigma: must be in [0, 3] (was -1)" },
        { """{ "model": "phased", "modelSizeGb": 10 }""", "candidates[0].loadTime.nodeBandwidthGbps: is required" },
        { """{ "model": "warp" }""", "candidates[0].loadTime.model: unknown load-time model \"warp\" (known: fixed, phased, empirical)" },
        { """{ "model": "empirical", "file": "none.csv" }""", "candidates[0].loadTime.file: none.csv: no such file" },
        { """{ "model": "empirical", "file": "empty.csv" }""", "candidates[0].loadTime.file: empty.csv: no durations (expected a column of seconds)" },
        { """{ "model": "empirical", "file": "bad.csv" }""", "candidates[0].loadTime.file: bad.csv: column seconds, row 2: \"soon\" is not a duration in seconds between 0 and 604800 (line 3)" },
    };

    [Theory]
    [MemberData(nameof(Bad))]
    public async Task A_bad_load_time_is_one_line_and_exit_2(string loadTime, string expected)
    {
        using var dir = new TempFolder();
        dir.Write("empty.csv", "seconds\n");
        dir.Write("bad.csv", "seconds\n12\nsoon\n");
        var config = dir.Write("c.json", Config(loadTime));

        var (exit, stdout, stderr) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Equal($"error: {config}: {expected}\n", stderr);
    }
}
