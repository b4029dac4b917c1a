using System.Diagnostics.Metrics;
using System.Text;
using Autoscale.Hosting;
using Autoscale.Policies.WarmFloor;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Testing;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Autoscale.Tests.Hosting;

public sealed class AutoscalerLoopTests
{
    private static readonly Instant T0 = Instant.FromUtc(2026, 1, 5, 9, 0);

    private sealed class FakeSource : IScalingSignalSource
    {
        public Func<FleetObservation?> Next { get; set; } = () => null;

        public Action? Read { get; set; }

        public ValueTask<FleetObservation?> ReadAsync(CancellationToken cancellationToken)
        {
            var next = Next();
            Read?.Invoke();
            return ValueTask.FromResult(next);
        }
    }

    private sealed class FakeController : IReplicaController
    {
        public List<int> Applied { get; } = [];

        public int FailuresLeft { get; set; }

        public int Attempts { get; private set; }

        public ValueTask ApplyAsync(int replicas, CancellationToken cancellationToken)
        {
            Attempts++;
            if (FailuresLeft-- > 0)
            {
                throw new HttpRequestException("the API server is unavailable");
            }

            Applied.Add(replicas);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Harness : IDisposable
    {
        public Harness(Action<AutoscalerOptions>? configure = null)
        {
            Time = new FakeTimeProvider(T0.ToDateTimeOffset());
            var services = new ServiceCollection();
            services.AddLogging(b => b.AddProvider(Logs));
            services.AddSingleton<TimeProvider>(Time);
            services.AddAutoscaler(o =>
                {
                    o.Interval = Duration.FromSeconds(15);
                    o.MaxReplicas = 10;
                    o.CapacityPerReplica = 30;
                    o.ApplyRetryDelay = Duration.Zero;
                    configure?.Invoke(o);
                })
                .UsePolicy(_ => Policy)
                .UseSignalSource(_ => Source)
                .UseReplicaController(_ => Controller);
            Provider = services.BuildServiceProvider();
            Loop = Provider.GetRequiredService<IAutoscaler>();
            Source.Next = () => new FleetObservation(Instant.FromDateTimeOffset(Time.GetUtcNow()), 2, 0, 0, 300);
        }

        public FakeTimeProvider Time { get; }

        public FakeSource Source { get; } = new();

        public FakeController Controller { get; } = new();

        public ScriptedPolicy Policy { get; } = new();

        public CapturingLogs Logs { get; } = new();

        public ServiceProvider Provider { get; }

        public IAutoscaler Loop { get; }

        public void Dispose() => Provider.Dispose();
    }

    [Fact]
    public async Task An_iteration_reads_decides_clamps_and_applies()
    {
        using var h = new Harness();
        h.Policy.Answer = s => new ScalingDecision(s.ReadyReplicas + 3, "three more");

        var iteration = await h.Loop.RunOnceAsync();

        Assert.Equal(IterationOutcome.Applied, iteration.Outcome);
        Assert.Equal([5], h.Controller.Applied);
        Assert.Equal(5, h.Loop.LastDesired);
        Assert.Contains(h.Logs.Lines, l => l.Contains("scaling 2 -> 5: three more", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Max_replicas_is_never_exceeded()
    {
        using var h = new Harness();
        h.Policy.Answer = _ => new ScalingDecision(1000);

        await h.Loop.RunOnceAsync();

        Assert.Equal([10], h.Controller.Applied);
    }

    [Fact]
    public async Task A_failing_signal_source_changes_nothing()
    {
        using var h = new Harness();
        h.Source.Next = () => throw new TimeoutException("Prometheus did not answer");

        var iteration = await h.Loop.RunOnceAsync();

        Assert.Equal(IterationOutcome.NoSignal, iteration.Outcome);
        Assert.Empty(h.Controller.Applied);
        Assert.Contains(h.Logs.Lines, l => l.Contains("signal source failed", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Missing_data_never_scales_to_zero()
    {
        using var h = new Harness();
        await h.Loop.RunOnceAsync();
        h.Source.Next = () => null;
        h.Policy.Answer = _ => new ScalingDecision(0, "would scale to zero");

        var iteration = await h.Loop.RunOnceAsync();

        Assert.Equal(IterationOutcome.NoSignal, iteration.Outcome);
        Assert.Equal([3], h.Controller.Applied);
        Assert.Equal(3, h.Loop.LastDesired);
    }

    [Fact]
    public async Task A_stale_signal_changes_nothing()
    {
        using var h = new Harness();
        h.Source.Next = () => new FleetObservation(T0, 2, 0, 0, 300);
        h.Time.Advance(TimeSpan.FromSeconds(46)); // more than three 15 s intervals old

        var iteration = await h.Loop.RunOnceAsync();

        Assert.Equal(IterationOutcome.StaleSignal, iteration.Outcome);
        Assert.Empty(h.Controller.Applied);
    }

    [Fact]
    public async Task A_policy_that_throws_leaves_the_last_good_decision()
    {
        using var h = new Harness();
        await h.Loop.RunOnceAsync();
        h.Policy.Answer = _ => throw new InvalidOperationException("bug");

        var iteration = await h.Loop.RunOnceAsync();

        Assert.Equal(IterationOutcome.PolicyFailed, iteration.Outcome);
        Assert.Equal(3, iteration.Desired);
        Assert.Equal([3], h.Controller.Applied);
        Assert.Contains(h.Logs.Lines, l => l.Contains("last good decision (3) holds", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failed_apply_is_retried()
    {
        using var h = new Harness();
        h.Controller.FailuresLeft = 2;

        var iteration = await h.Loop.RunOnceAsync();

        Assert.Equal(IterationOutcome.Applied, iteration.Outcome);
        Assert.Equal(3, h.Controller.Attempts);
        Assert.Equal([3], h.Controller.Applied);
    }

    [Fact]
    public async Task An_apply_that_keeps_failing_gives_up_until_the_next_interval()
    {
        using var h = new Harness(o => o.ApplyAttempts = 4);
        h.Controller.FailuresLeft = 100;

        var iteration = await h.Loop.RunOnceAsync();

        Assert.Equal(IterationOutcome.ApplyFailed, iteration.Outcome);
        Assert.Equal(4, h.Controller.Attempts);
        Assert.Empty(h.Controller.Applied);
    }

    [Fact]
    public async Task Dry_run_decides_and_records_but_never_applies()
    {
        using var h = new Harness(o => o.DryRun = true);

        var first = await h.Loop.RunOnceAsync();
        var second = await h.Loop.RunOnceAsync();

        Assert.Empty(h.Controller.Applied);
        Assert.Equal(0, h.Controller.Attempts);
        Assert.Equal([3, 3], h.Loop.History.Select(i => i.Desired!.Value));
        Assert.False(first.Applied || second.Applied);
    }

    [Fact]
    public async Task Metrics_count_iterations_by_outcome()
    {
        using var h = new Harness();
        using var iterations = new MetricCollector<long>(h.Provider.GetRequiredService<IMeterFactory>(), AutoscalerMetrics.MeterName, "autoscale.iterations");
        h.Source.Next = () => null;

        await h.Loop.RunOnceAsync();

        var measurement = Assert.Single(iterations.GetMeasurementSnapshot());
        Assert.Equal(1, measurement.Value);
        Assert.Equal("NoSignal", measurement.Tags["outcome"]);
    }

    [Fact]
    public async Task The_loop_reads_and_waits_on_one_TimeProvider_and_the_IClock_is_derived_from_it()
    {
        var services = new ServiceCollection();
        services.AddAutoscaler();
        using (var provider = services.BuildServiceProvider())
        {
            var derived = provider.GetRequiredService<IClock>();
            Assert.Equal(DateTimeOffset.UtcNow.ToUnixTimeSeconds(), derived.GetCurrentInstant().ToUnixTimeSeconds(), 5.0);
        }

        // A registered TimeProvider is the loop's time: its instants are the signal's, its timers the loop's waits.
        using var h = new Harness();
        Assert.Equal(T0, h.Provider.GetRequiredService<IClock>().GetCurrentInstant());
        h.Time.Advance(TimeSpan.FromSeconds(7));
        Assert.Equal(T0 + Duration.FromSeconds(7), (await h.Loop.RunOnceAsync()).At);
    }

    [Fact]
    public async Task An_IClock_registered_alone_keeps_working()
    {
        // Before issue 35 the loop read its instants from a registered IClock; it still does, waiting on the system's timers.
        var fake = new FakeClock(T0);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IClock>(fake);
        services.AddAutoscaler(o => o.CapacityPerReplica = 30).UsePolicy(_ => new ScriptedPolicy())
            .UseSignalSource(_ => new FakeSource { Next = () => new FleetObservation(fake.GetCurrentInstant(), 2, 0, 0, 300) })
            .UseReplicaController(_ => new FakeController());
        using var provider = services.BuildServiceProvider();
        Assert.Same(fake, provider.GetRequiredService<IClock>());

        fake.Advance(Duration.FromMinutes(3));
        Assert.Equal(T0 + Duration.FromMinutes(3), (await provider.GetRequiredService<IAutoscaler>().RunOnceAsync()).At);
    }

    [Fact]
    public void An_IClock_beside_a_different_TimeProvider_is_refused_when_the_loop_is_built()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IClock>(new FakeClock(T0));
        services.AddSingleton<TimeProvider>(new FakeTimeProvider());
        services.AddAutoscaler().UsePolicy(_ => new ScriptedPolicy()).UseSignalSource(_ => new FakeSource()).UseReplicaController(_ => new FakeController());
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IAutoscaler>());

        Assert.Equal("The autoscaler reads time from one TimeProvider, but both a NodaTime IClock (FakeClock) and a TimeProvider (FakeTimeProvider) are registered: "
            + "register only the TimeProvider (the IClock is derived from it), or only the IClock (its instants are read, waits use the system's timers).", error.Message);
    }

    [Fact]
    public async Task Invalid_options_fail_on_start_with_every_message()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddAutoscaler(o => { o.MaxReplicas = 0; o.CapacityPerReplica = -1; })
            .UsePolicy(_ => new ScriptedPolicy()).UseSignalSource(_ => new FakeSource()).UseReplicaController(_ => new FakeController());
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Equal(["AutoscalerOptions.maxReplicas: must be in [1, 1000000] (was 0)", "AutoscalerOptions.capacityPerReplica: must be in (0, 1000000000] (was -1)"], error.Failures);
    }

    [Fact]
    public void A_missing_signal_source_is_named()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddAutoscaler().UsePolicy(_ => new ScriptedPolicy()).UseReplicaController(_ => new FakeController());
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IAutoscaler>());

        Assert.Equal("The autoscaler needs a signal source: call .UseSignalSource<T>() after AddAutoscaler().", error.Message);
    }

    [Fact]
    public void A_policy_is_chosen_by_name_from_configuration()
    {
        var json = """{ "Autoscaler": { "policy": "warm-floor", "options": { "minReplicas": 3, "maxReplicas": 12 }, "loadTime": { "fixedSeconds": 90 } } }""";
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddAutoscaler().UsePolicy(configuration.GetSection("Autoscaler")).UseSignalSource(_ => new FakeSource()).UseReplicaController(_ => new FakeController());
        using var provider = services.BuildServiceProvider();

        var policy = Assert.IsType<WarmFloorPolicy>(provider.GetRequiredService<IScalingPolicy>());
        var floor = policy.Decide(new ScalingSignal(T0, Duration.FromSeconds(15), 0, 0, 0, 0, 30, Duration.FromSeconds(90)) { MaxReplicas = 100 });
        Assert.Equal(3, floor.DesiredReplicas);
        Assert.Equal(Duration.FromSeconds(90), provider.GetRequiredService<IOptions<AutoscalerOptions>>().Value.ExpectedLoadTime);
    }

    [Fact]
    public void Bad_policy_configuration_is_one_message_naming_the_path()
    {
        var json = """{ "Autoscaler": { "policy": "warm-floor", "options": { "minReplicas": 12, "maxReplicas": 10 } } }""";
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var services = new ServiceCollection();
        services.AddAutoscaler().UsePolicy(configuration.GetSection("Autoscaler"));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IScalingPolicy>());

        Assert.Equal("Autoscaler: minReplicas (12) must be <= maxReplicas (10)", error.Message);
    }

    [Fact]
    public async Task The_hosted_loop_runs_every_interval_of_its_TimeProvider_until_the_host_stops()
    {
        var time = new FakeTimeProvider(T0.ToDateTimeOffset());
        var source = new FakeSource { Next = () => new FleetObservation(Instant.FromDateTimeOffset(time.GetUtcNow()), 1, 0, 0, 10) };
        var controller = new FakeController();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddAutoscaler(o => { o.Interval = Duration.FromSeconds(15); o.CapacityPerReplica = 30; })
            .UsePolicy(_ => new ScriptedPolicy()).UseSignalSource(_ => source).UseReplicaController(_ => controller);
        using var host = builder.Build();
        var loop = host.Services.GetRequiredService<IAutoscaler>();
        var iterated = new SemaphoreSlim(0);
        source.Read = () => iterated.Release();

        await host.StartAsync();
        Assert.True(await iterated.WaitAsync(TimeSpan.FromSeconds(30)), "the first iteration runs at start");
        Assert.False(await iterated.WaitAsync(TimeSpan.FromMilliseconds(50)), "no second iteration before the interval passes");
        time.Advance(TimeSpan.FromSeconds(15));
        Assert.True(await iterated.WaitAsync(TimeSpan.FromSeconds(30)), "the next iteration runs when the fake time reaches the interval");
        await host.StopAsync();

        Assert.Equal([T0, T0 + Duration.FromSeconds(15)], loop.History.Take(2).Select(i => i.At));
        Assert.Contains(2, controller.Applied);
    }
}

internal sealed class CapturingLogs : ILoggerProvider
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return _lines.ToArray();
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLogs owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner._lines)
            {
                owner._lines.Add(formatter(state, exception));
            }
        }
    }
}
