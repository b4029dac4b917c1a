using Autoscale.Backtesting.Engine;
using Autoscale.Config;
using Autoscale.Traces;
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
    public async Task A_phased_model_draws_each_load_with_the_backtests_seed_as_the_replay_does()
    {
        // The one result change issue 35 allowed: LoadDuration drew its jitter with a fixed seed of 1, whatever the run's.
        var config = Config("""{ "model": "phased", "modelSizeGb": 50, "nodeBandwidthGbps": 1, "shardSeconds": 10, "warmSeconds": 20, "jitter": { "sigma": 0.3 } }""");
        var seeded = config.Replace("\"slo\"", "\"engine\": { \"seed\": 7 }, \"slo\"");
        var loader = new ConfigLoader(PolicyCatalog.CreateBuiltIn());
        var model = Assert.IsType<PhasedLoadTime>((await loader.LoadAsync(seeded, "c.json")).Candidates[0].LoadTime);
        var other = Assert.IsType<PhasedLoadTime>((await loader.LoadAsync(config.Replace("\"slo\"", "\"engine\": { \"seed\": 8 }, \"slo\""), "c.json")).Candidates[0].LoadTime);

        Assert.Equal(7, model.Seed);
        for (var ordinal = 0; ordinal < 20; ordinal++)
        {
            // One load alone in the run's own simulation (1 s ticks) is ready at the first tick at or after LoadDuration.
            var sim = ((ISimulatedLoadTime)model).CreateSimulation(1, 7);
            sim.Start(0, ordinal);
            var tick = 1L;
            while (sim.CompleteDue(tick) == 0)
            {
                tick++;
            }

            Assert.Equal(Math.Ceiling(model.LoadDuration(ordinal).TotalSeconds - 1e-9), tick);
        }

        Assert.NotEqual(Enumerable.Range(0, 20).Select(i => model.LoadDuration(i)), Enumerable.Range(0, 20).Select(i => other.LoadDuration(i)));
    }

    [Fact]
    public void An_empirical_model_draws_with_the_runs_seed_so_seeds_differ()
    {
        // Before, the model kept the config's seed, so --seeds N replayed the same load times N times.
        var arrivals = Enumerable.Range(0, 4 * 3600).Select(t => t % 1200 < 300 ? 300L : 20L).ToArray();
        var trace = new TickTrace(NodaTime.Instant.FromUtc(2026, 1, 5, 0, 0), NodaTime.Duration.FromSeconds(1), arrivals);
        var settings = new ReplaySettings(new SloSettings(NodaTime.Duration.FromSeconds(2), 99), new ReplicaSettings(30, 1, 3), NodaTime.Duration.FromSeconds(1), 100);
        var model = new EmpiricalLoadTime([10, 20, 40, 80, 160, 320], seed: 1);
        var reactive = new Autoscale.Policies.Reactive.ReactiveOptions { MinReplicas = 1, MaxReplicas = 100, ScaleDownStabilizationSeconds = OptionDuration.FromSeconds(30) };
        var spec = new CandidateSpec("c", () => new Autoscale.Policies.Reactive.ReactivePolicy(reactive), model, DecisionIntervalTicks: 5) { PolicyName = "reactive" };

        var seed1 = Backtest.RunOne(trace, settings, spec);
        var seed2 = Backtest.RunOne(trace, settings with { Seed = 2 }, spec);
        var seed2Model = Backtest.RunOne(trace, settings with { Seed = 2 }, spec with { LoadTime = ((ISeededLoadTime)model).WithSeed(2) });

        Assert.NotEqual((seed1.Violations, seed1.ReplicaSeconds), (seed2.Violations, seed2.ReplicaSeconds));
        Assert.Equal((seed2Model.Violations, seed2Model.ReplicaSeconds), (seed2.Violations, seed2.ReplicaSeconds));
        Assert.Equal(1, model.Seed);
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
