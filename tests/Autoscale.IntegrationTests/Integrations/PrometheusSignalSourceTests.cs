using Autoscale.Hosting;
using Autoscale.Integrations.Prometheus;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Testing;

namespace Autoscale.Tests.Integrations;

[Trait("Category", "Slow")]
public sealed class PrometheusSignalSourceTests(PrometheusServer prometheus) : IClassFixture<PrometheusServer>
{
    private PrometheusSignalSource Source(Action<PrometheusSignalOptions>? change = null, Uri? address = null)
    {
        var options = new PrometheusSignalOptions
        {
            BaseAddress = address ?? prometheus.Address,
            ReadyReplicasQuery = "sum(llm_ready)",
            LoadingReplicasQuery = "sum(llm_loading)",
            QueueDepthQuery = "sum(llm_queue)",
            ArrivalsQuery = "sum(increase(llm_requests_total[10s]))",
            Timeout = NodaTime.Duration.FromSeconds(3),
        };
        change?.Invoke(options);
        return new PrometheusSignalSource(new HttpClient(), Options.Create(options));
    }

    [PrometheusFact]
    public async Task A_real_server_gives_the_fleet_and_its_traffic()
    {
        var observation = (await Source().ReadAsync(CancellationToken.None))!.Value;

        Assert.Equal((3, 1, 42L), (observation.ReadyReplicas, observation.LoadingReplicas, observation.QueueDepth));
        Assert.InRange(observation.ArrivalsLastInterval, 1, 450); // the counter grows 30 per second; the window may hold only a few scrapes yet
        Assert.True(SystemClock.Instance.GetCurrentInstant() - observation.ObservedAt < Duration.FromSeconds(30));
    }

    [PrometheusFact]
    public async Task Vllm_metrics_give_the_serving_signals_by_their_default_queries()
    {
        // Wait for enough scrapes that the TTFT histogram's one-minute rate holds samples.
        FleetObservation observation = default;
        for (var attempt = 0; attempt < 30; attempt++)
        {
            observation = (await Source().ReadAsync(CancellationToken.None))!.Value;
            if (observation.TtftP95LastInterval is not null)
            {
                break;
            }

            await Task.Delay(500);
        }

        Assert.Equal(7L, observation.RunningRequests);
        Assert.Equal(0.35, observation.KvCacheUtilization!.Value, 6); // the older gpu_cache_usage_perc, averaged
        // Proportional buckets make histogram_quantile exact: p50 at the 0.1 s edge, p95 at 0.5 + 0.05 / 0.09 * 0.5 s.
        Assert.Equal(0.1, observation.TtftP50LastInterval!.Value.TotalSeconds, 2);
        Assert.Equal(0.5 + (0.05 / 0.09 * 0.5), observation.TtftP95LastInterval!.Value.TotalSeconds, 2);
        Assert.Equal(0.6, observation.PrefixCacheHitRate!.Value, 2);

        var without = (await Source(o => o.ReadServingSignals = false).ReadAsync(CancellationToken.None))!.Value;
        Assert.Null(without.RunningRequests);
        Assert.Null(without.TtftP95LastInterval);
        Assert.Null(without.PrefixCacheHitRate);
    }

    [PrometheusFact]
    public async Task The_live_loop_scales_on_vllms_running_requests()
    {
        var applied = new List<int>();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IClock>(new FakeClock(SystemClock.Instance.GetCurrentInstant()));
        services.AddAutoscaler(o => { o.CapacityPerReplica = 30; o.MaxReplicas = 20; })
            .UsePolicy(_ => new Autoscale.Policies.Reactive.ReactivePolicy(new() { Metric = Autoscale.Policies.Reactive.ReactiveMetric.RunningPerReplica, TargetRunningPerReplica = 1, MaxReplicas = 20 }))
            .UseSignalSource(_ => Source())
            .UseReplicaController(_ => new RecordingController(applied));
        await using var provider = services.BuildServiceProvider();

        var iteration = await provider.GetRequiredService<IAutoscaler>().RunOnceAsync();

        // 7 running across the two servers, 1 per replica: 7 replicas, from the 4 there are (3 ready, 1 loading).
        Assert.Equal(IterationOutcome.Applied, iteration.Outcome);
        Assert.Equal(7, iteration.Desired);
        Assert.Equal([7], applied);
    }

    [PrometheusFact]
    public async Task A_query_that_returns_nothing_fails()
    {
        var error = await Assert.ThrowsAsync<PrometheusQueryException>(() => Source().QueryAsync("sum(no_such_metric)", CancellationToken.None));
        Assert.Equal("Prometheus query sum(no_such_metric): returned no series", error.Message);
    }

    [PrometheusFact]
    public async Task A_query_that_returns_several_series_fails()
    {
        var error = await Assert.ThrowsAsync<PrometheusQueryException>(() => Source().QueryAsync("llm_queue_split", CancellationToken.None));
        Assert.Equal("Prometheus query llm_queue_split: returned 2 series; aggregate it to one (e.g. sum(...))", error.Message);
    }

    [PrometheusFact]
    public async Task A_nan_value_fails()
    {
        var error = await Assert.ThrowsAsync<PrometheusQueryException>(() => Source().QueryAsync("sum(llm_ready) * 0 / 0", CancellationToken.None));
        Assert.Equal("Prometheus query sum(llm_ready) * 0 / 0: returned \"NaN\", not a finite number", error.Message);
    }

    [PrometheusFact]
    public async Task A_bad_query_reports_the_server_error()
    {
        var error = await Assert.ThrowsAsync<PrometheusQueryException>(() => Source().QueryAsync("sum(", CancellationToken.None));
        Assert.StartsWith("Prometheus query sum(: error: ", error.Message);
    }

    [Fact]
    public async Task An_unreachable_server_fails()
    {
        var closed = new Uri($"http://127.0.0.1:{PrometheusServer.FreePort()}/");

        var error = await Assert.ThrowsAsync<PrometheusQueryException>(() => Source(address: closed).QueryAsync("up", CancellationToken.None));

        Assert.Contains("is unreachable", error.Message);
    }

    [PrometheusFact]
    public async Task The_loop_on_a_query_that_returns_nothing_leaves_the_fleet_as_it_is()
    {
        var applied = new List<int>();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IClock>(new FakeClock(SystemClock.Instance.GetCurrentInstant()));
        services.AddAutoscaler(o => { o.CapacityPerReplica = 30; o.MaxReplicas = 20; })
            .UsePolicy(_ => new Autoscale.Policies.Fixed.FixedPolicy(new() { Replicas = 0 }))
            .UseSignalSource(_ => Source(o => o.QueueDepthQuery = "sum(no_such_metric)"))
            .UseReplicaController(_ => new RecordingController(applied));
        await using var provider = services.BuildServiceProvider();

        var iteration = await provider.GetRequiredService<IAutoscaler>().RunOnceAsync();

        Assert.Equal(IterationOutcome.NoSignal, iteration.Outcome);
        Assert.Empty(applied);
    }

    [PrometheusFact]
    public async Task A_range_query_imports_as_a_trace()
    {
        using var dir = new TempFolder();
        var to = SystemClock.Instance.GetCurrentInstant();
        var from = to - Duration.FromSeconds(20);
        var iso = NodaTime.Text.InstantPattern.ExtendedIso;

        var (exit, _, stderr) = await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "import", "--prometheus", prometheus.Address.ToString(),
            "--query", "sum(increase(llm_requests_total[3s])) / 3", "--from", iso.Format(from), "--to", iso.Format(to), "--step", "1s", "--out", dir.File("p.parquet"));

        Assert.True(exit == 0, stderr);
        var trace = await Autoscale.Traces.ParquetTrace.ReadAsync(dir.File("p.parquet"), Duration.FromSeconds(1));
        Assert.True(trace.TotalRequests > 0);
        Assert.InRange(trace.Arrivals.Max(), 1, 200);
    }

    [PrometheusFact]
    public async Task A_range_query_with_several_series_is_refused()
    {
        using var dir = new TempFolder();
        var to = SystemClock.Instance.GetCurrentInstant();
        var iso = NodaTime.Text.InstantPattern.ExtendedIso;

        var (exit, _, stderr) = await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "import", "--prometheus", prometheus.Address.ToString(),
            "--query", "llm_queue_split", "--from", iso.Format(to - Duration.FromSeconds(10)), "--to", iso.Format(to), "--step", "1s", "--out", dir.File("p.parquet"));

        Assert.Equal(2, exit);
        Assert.Equal("error: Prometheus query llm_queue_split: returned 2 series; aggregate it to one (e.g. sum(...))\n", stderr);
        Assert.Empty(dir.Files());
    }

    [Fact]
    public async Task A_range_import_from_an_unreachable_server_is_one_line()
    {
        using var dir = new TempFolder();
        var (exit, _, stderr) = await Autoscale.Tests.Cli.CliRunner.RunAsync("trace", "import", "--prometheus", $"http://127.0.0.1:{PrometheusServer.FreePort()}",
            "--query", "up", "--from", "2026-01-05T00:00:00Z", "--to", "2026-01-05T01:00:00Z", "--out", dir.File("p.parquet"));

        Assert.Equal(2, exit);
        Assert.StartsWith("error: Prometheus query up: http://127.0.0.1:", stderr);
        Assert.Contains("is unreachable", stderr);
    }

    [Fact]
    public void Options_are_validated()
    {
        var error = Assert.Throws<InvalidOptionsException>(() => new PrometheusSignalSource(new HttpClient(), Options.Create(new PrometheusSignalOptions { QueueDepthQuery = " " })));
        Assert.Equal("baseAddress: is required; queueDepthQuery: must not be empty", error.Message);
    }

    private sealed class RecordingController(List<int> applied) : IReplicaController
    {
        public ValueTask ApplyAsync(int replicas, CancellationToken cancellationToken)
        {
            applied.Add(replicas);
            return ValueTask.CompletedTask;
        }
    }
}
