using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NodaTime;

namespace Autoscale.Hosting;

/// <summary>
/// The control loop: every interval it reads a signal, asks the policy, clamps to [0, MaxReplicas] and
/// applies. It fails static: no signal or a stale one changes nothing (never a scale to zero on missing
/// data); a policy that throws is logged and the last good decision holds; a failed apply is retried
/// with backoff. A thin <see cref="BackgroundService"/>; tests and replays call <see cref="RunOnceAsync"/>.
/// </summary>
/// <remarks>Iterations are serialized; the history and last decision are safe to read from other threads.</remarks>
internal sealed class AutoscalerLoop : BackgroundService, IAutoscaler
{
    private const int HistoryLimit = 1000;

    private readonly IScalingPolicy _policy;
    private readonly IScalingSignalSource _source;
    private readonly IReplicaController _controller;
    private readonly IClock _clock;
    private readonly TimeProvider _time;
    private readonly AutoscalerOptions _options;
    private readonly ILogger<AutoscalerLoop> _logger;
    private readonly AutoscalerMetrics _metrics;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Queue<LoopIteration> _history = new();

    public AutoscalerLoop(IServiceProvider services, IClock clock, TimeProvider time, IOptions<AutoscalerOptions> options, ILogger<AutoscalerLoop> logger, AutoscalerMetrics metrics)
    {
        _policy = Required<IScalingPolicy>(services, "a policy: call .UsePolicy<T>() or .UsePolicy(configuration)");
        _source = Required<IScalingSignalSource>(services, "a signal source: call .UseSignalSource<T>()");
        _controller = Required<IReplicaController>(services, "a replica controller: call .UseReplicaController<T>()");
        (_time, _clock) = AutoscalerTime.Resolve(clock, time);
        _options = options.Value;
        _logger = logger;
        _metrics = metrics;
    }

    public int? LastDesired { get; private set; }

    public IReadOnlyList<LoopIteration> History
    {
        get
        {
            lock (_history)
            {
                return _history.ToArray();
            }
        }
    }

    public async Task<LoopIteration> RunOnceAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var iteration = await IterateAsync(cancellationToken).ConfigureAwait(false);
            lock (_history)
            {
                _history.Enqueue(iteration);
                if (_history.Count > HistoryLimit)
                {
                    _history.Dequeue();
                }
            }

            _metrics.Iteration(iteration.Outcome);
            return iteration;
        }
        finally
        {
            _gate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.Started(_logger, _options.Interval.TotalSeconds, _options.MaxReplicas, _options.DryRun);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // The loop logs and carries on: one bad iteration must not stop the autoscaler.
                Log.IterationFailed(_logger, e);
            }

            try
            {
                await Task.Delay(_options.Interval.ToTimeSpan(), _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task<LoopIteration> IterateAsync(CancellationToken cancellationToken)
    {
        var now = _clock.GetCurrentInstant();
        var (observation, refused) = await ReadAsync(now, cancellationToken).ConfigureAwait(false);
        if (refused is not null)
        {
            return refused;
        }

        _metrics.Observe(observation.ReadyReplicas, observation.LoadingReplicas);
        if (!TryDecide(now, observation, out var decision, out var desired))
        {
            return new LoopIteration(now, IterationOutcome.PolicyFailed, LastDesired, "policy failed: the last good decision holds", false);
        }

        LastDesired = desired;
        _metrics.Desired(desired);
        var current = observation.ReadyReplicas + observation.LoadingReplicas;
        var reason = decision.Reason ?? "";
        if (desired == current)
        {
            Log.Holding(_logger, current, reason);
            return new LoopIteration(now, IterationOutcome.Unchanged, desired, decision.Reason, false);
        }

        if (_options.DryRun)
        {
            Log.WouldScale(_logger, current, desired, reason);
            return new LoopIteration(now, IterationOutcome.Applied, desired, decision.Reason, false);
        }

        Log.Scaling(_logger, current, desired, reason);
        return await ApplyAsync(now, desired, decision.Reason, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The observation to decide on, or the iteration that ends here: the source failed, had nothing, or is stale.</summary>
    private async Task<(FleetObservation Observation, LoopIteration? Refused)> ReadAsync(Instant now, CancellationToken cancellationToken)
    {
        FleetObservation? read;
        try
        {
            read = await _source.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // One line per failure; the stack trace only for those who ask for it.
            Log.SignalFailed(_logger, OneLine(e));
            Log.SignalFailedDetail(_logger, e);
            return (default, new LoopIteration(now, IterationOutcome.NoSignal, LastDesired, "signal source failed: no change", false));
        }

        if (read is not { } observation)
        {
            Log.NoSignal(_logger);
            return (default, new LoopIteration(now, IterationOutcome.NoSignal, LastDesired, "no signal: no change", false));
        }

        var age = now - observation.ObservedAt;
        if (age > _options.EffectiveStaleAfter)
        {
            Log.StaleSignal(_logger, age.TotalSeconds);
            return (default, new LoopIteration(now, IterationOutcome.StaleSignal, LastDesired, "stale signal: no change", false));
        }

        return (observation, null);
    }

    /// <summary>Asks the policy on <paramref name="observation"/>; false (logged) when it throws.</summary>
    private bool TryDecide(Instant now, in FleetObservation observation, out ScalingDecision decision, out int desired)
    {
        var step = new DecisionStep(_options.Interval, _options.CapacityPerReplica, _options.ExpectedLoadTime, _options.MaxReplicas);
        var fleet = new FleetState(observation.ReadyReplicas, observation.LoadingReplicas, observation.QueueDepth, observation.ArrivalsLastInterval, observation.ServedLastInterval)
        {
            HasServingSignals = observation.RunningRequests is not null,
            RunningRequests = observation.RunningRequests ?? 0,
            KvCacheUtilization = observation.KvCacheUtilization ?? 0,
            PrefixCacheHitRate = observation.PrefixCacheHitRate ?? 0,
            TtftP50LastInterval = observation.TtftP50LastInterval,
            TtftP95LastInterval = observation.TtftP95LastInterval,
            InputTokensLastInterval = observation.InputTokensLastInterval ?? 0,
            OutputTokensLastInterval = observation.OutputTokensLastInterval ?? 0,
        };
        var started = Stopwatch.GetTimestamp();
        try
        {
            (decision, desired) = step.Decide(_policy, now, fleet);
            return true;
        }
        catch (Exception e)
        {
            Log.PolicyFailed(_logger, e, LastDesired);
            (decision, desired) = (default, 0);
            return false;
        }
        finally
        {
            _metrics.DecisionLatency(Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>Applies <paramref name="desired"/>, retried with doubling waits up to the options' attempts.</summary>
    private async Task<LoopIteration> ApplyAsync(Instant now, int desired, string? reason, CancellationToken cancellationToken)
    {
        var delay = _options.ApplyRetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _controller.ApplyAsync(desired, cancellationToken).ConfigureAwait(false);
                return new LoopIteration(now, IterationOutcome.Applied, desired, reason, true);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.ApplyFailed(_logger, desired, attempt, _options.ApplyAttempts, OneLine(e));
                Log.ApplyFailedDetail(_logger, e);
                if (attempt >= _options.ApplyAttempts)
                {
                    return new LoopIteration(now, IterationOutcome.ApplyFailed, desired, "apply failed: the fleet is as it was", false);
                }
            }

            if (delay > Duration.Zero)
            {
                await Task.Delay(delay.ToTimeSpan(), _time, cancellationToken).ConfigureAwait(false);
            }

            delay *= 2;
        }
    }

    /// <summary>An exception as one line: its message and those of its inner exceptions, without stack traces.</summary>
    private static string OneLine(Exception e)
    {
        var parts = new List<string>();
        for (var x = e; x is not null; x = x.InnerException)
        {
            var message = x.Message.ReplaceLineEndings(" ").Trim();
            if (message.Length > 0 && !parts.Any(p => p.Contains(message, StringComparison.Ordinal)))
            {
                parts.Add(message);
            }
        }

        return string.Join(": ", parts);
    }

    private static T Required<T>(IServiceProvider services, string what)
        where T : class =>
        services.GetService<T>() ?? throw new InvalidOperationException($"The autoscaler needs {what} after AddAutoscaler().");
}

/// <summary>Counters and gauges of the autoscaler, through <see cref="System.Diagnostics.Metrics"/> (meter "Autoscale").</summary>
public sealed class AutoscalerMetrics : IDisposable
{
    /// <summary>The meter's name, for listeners and exporters.</summary>
    public const string MeterName = "Autoscale";

    private readonly Meter _meter;
    private readonly Histogram<double> _latency;
    private readonly Counter<long> _iterations;
    private int _desired;
    private int _ready;
    private int _loading;

    /// <summary>Creates the instruments on the meter named <see cref="MeterName"/>, made by <paramref name="meters"/>.</summary>
    public AutoscalerMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _meter = meters.Create(MeterName);
        _latency = _meter.CreateHistogram<double>("autoscale.decision.duration", "ms", "Time the policy took to decide");
        _iterations = _meter.CreateCounter<long>("autoscale.iterations", null, "Loop iterations by outcome");
        _meter.CreateObservableGauge("autoscale.replicas.desired", () => Volatile.Read(ref _desired), null, "Replicas the policy last asked for");
        _meter.CreateObservableGauge("autoscale.replicas.ready", () => Volatile.Read(ref _ready), null, "Ready replicas last observed");
        _meter.CreateObservableGauge("autoscale.replicas.loading", () => Volatile.Read(ref _loading), null, "Loading replicas last observed");
    }

    internal void Desired(int desired) => Volatile.Write(ref _desired, desired);

    internal void Observe(int ready, int loading)
    {
        Volatile.Write(ref _ready, ready);
        Volatile.Write(ref _loading, loading);
    }

    internal void DecisionLatency(TimeSpan elapsed) => _latency.Record(elapsed.TotalMilliseconds);

    internal void Iteration(IterationOutcome outcome) => _iterations.Add(1, new KeyValuePair<string, object?>("outcome", outcome.ToString()));

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Autoscaler started: every {IntervalSeconds} s, at most {MaxReplicas} replicas, dry run {DryRun}")]
    public static partial void Started(ILogger logger, double intervalSeconds, int maxReplicas, bool dryRun);

    [LoggerMessage(2, LogLevel.Information, "would scale {Current} -> {Desired} (dry run): {Reason}")]
    public static partial void WouldScale(ILogger logger, int current, int desired, string reason);

    [LoggerMessage(9, LogLevel.Information, "scaling {Current} -> {Desired}: {Reason}")]
    public static partial void Scaling(ILogger logger, int current, int desired, string reason);

    [LoggerMessage(10, LogLevel.Information, "holding {Current} replicas: {Reason}")]
    public static partial void Holding(ILogger logger, int current, string reason);

    [LoggerMessage(3, LogLevel.Warning, "The signal source failed ({Problem}); the fleet is left as it is")]
    public static partial void SignalFailed(ILogger logger, string problem);

    [LoggerMessage(11, LogLevel.Debug, "The signal source failed")]
    public static partial void SignalFailedDetail(ILogger logger, Exception exception);

    [LoggerMessage(4, LogLevel.Warning, "No signal; the fleet is left as it is")]
    public static partial void NoSignal(ILogger logger);

    [LoggerMessage(5, LogLevel.Warning, "The signal is {AgeSeconds} s old (stale); the fleet is left as it is")]
    public static partial void StaleSignal(ILogger logger, double ageSeconds);

    [LoggerMessage(6, LogLevel.Error, "The policy threw; the last good decision ({LastDesired}) holds")]
    public static partial void PolicyFailed(ILogger logger, Exception exception, int? lastDesired);

    [LoggerMessage(7, LogLevel.Warning, "Applying {Desired} replicas failed (attempt {Attempt} of {Attempts}): {Problem}")]
    public static partial void ApplyFailed(ILogger logger, int desired, int attempt, int attempts, string problem);

    [LoggerMessage(12, LogLevel.Debug, "Applying failed")]
    public static partial void ApplyFailedDetail(ILogger logger, Exception exception);

    [LoggerMessage(8, LogLevel.Error, "An autoscaler iteration failed unexpectedly; the loop carries on")]
    public static partial void IterationFailed(ILogger logger, Exception exception);
}
