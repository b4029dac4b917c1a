using Autoscale.Backtesting.Engine;
using Autoscale.Traces;
using Autoscale.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using NodaTime;

namespace Autoscale.Sample;

/// <summary>Where the replayed fleet's traffic comes from and how fast time runs.</summary>
public sealed class ReplayOptions : IValidatableOptions
{
    /// <summary>The Parquet trace to replay, relative to the sample's folder (the bundled ones are copied there).</summary>
    [Option(Required = true)]
    public string Trace { get; set; } = "traces/textbook-spike.parquet";

    /// <summary>Replay seconds per wall-clock second.</summary>
    [Option(Min = 0.01, Max = 100_000)]
    public double Speed { get; set; } = 10;

    /// <summary>Replicas the replayed fleet starts with (ready).</summary>
    [Option(Unit = "replicas", Min = 0, Max = 100_000)]
    public int Replicas { get; set; } = 2;

    /// <summary>Play the trace again from its start when it ends (a service runs until stopped); otherwise stop the host.</summary>
    [Option]
    public bool Loop { get; set; } = true;

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>
/// A fleet simulated by the replay engine on a trace's traffic, in accelerated real time: the autoscaler's signal
/// source (ready and loading replicas, the queue, arrivals and service since the last read) and its replica
/// controller (loads take the policy's expected load time). In dry run the fleet keeps its size and the log shows
/// what the policy would do; otherwise the policy drives it. Needs no cluster and no Prometheus.
/// </summary>
/// <remarks>Thread-safe: reads and applies are serialized.</remarks>
internal sealed class ReplayedFleet : IScalingSignalSource, IReplicaController
{
    private readonly Lock _gate = new();
    private readonly TickTrace _trace;
    private readonly IClock _clock;
    private readonly bool _loop;
    private readonly Action _ended;
    private readonly CandidateRun _run;
    private int _target;
    private long _tick;
    private long _requestsSeen;
    private long _servedSeen;
    private bool _over;

    public ReplayedFleet(TickTrace trace, IClock clock, ReplayOptions replay, AutoscalerOptions autoscaler, Action ended)
    {
        _trace = trace;
        _clock = clock;
        _loop = replay.Loop;
        _ended = ended;
        _target = replay.Replicas;
        var settings = new ReplaySettings(new SloSettings(2, 99), new ReplicaSettings(autoscaler.CapacityPerReplica, 1, 0), trace.Tick, MaxReplicas: 1_000_000);
        var spec = new CandidateSpec("replayed fleet", () => new Target(this), new FixedLoadTime(autoscaler.ExpectedLoadTime));
        _run = new CandidateRun(spec, settings, trace.Start);
    }

    public ValueTask<FleetObservation?> ReadAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var now = _clock.GetCurrentInstant();
            // Tick 0 starts the fleet (its first decision holds the replicas the replay starts with): a read made
            // sooner than a tick after the start still sees that fleet, never an empty one.
            var until = Math.Max(1, (long)((now - _trace.Start).TotalNanoseconds / _trace.Tick.TotalNanoseconds));
            while (_tick < until && !_over)
            {
                if (_tick >= _trace.Length && !_loop)
                {
                    _over = true;
                    _ended();
                    break;
                }

                _run.Step(_trace.Arrivals[(int)(_tick % _trace.Length)]);
                _tick++;
            }

            if (_over)
            {
                return ValueTask.FromResult<FleetObservation?>(null);
            }

            var observation = new FleetObservation(now, _run.ReadyReplicas, _run.LoadingReplicas, _run.QueueDepth, _run.Requests - _requestsSeen, _run.Served - _servedSeen);
            (_requestsSeen, _servedSeen) = (_run.Requests, _run.Served);
            return ValueTask.FromResult<FleetObservation?>(observation);
        }
    }

    public ValueTask ApplyAsync(int replicas, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _target = replicas;
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The engine's policy seat holds the count last applied.</summary>
    private sealed class Target(ReplayedFleet fleet) : IScalingPolicy
    {
        public ScalingDecision Decide(in ScalingSignal signal) => new(fleet._target, "the count last applied");
    }
}

/// <summary>Wires a replayed fleet into the autoscaler.</summary>
internal static class ReplayedFleetExtensions
{
    /// <summary>Reads the trace (a path relative to the sample's folder or the working folder).</summary>
    public static async Task<TickTrace> LoadTraceAsync(ReplayOptions replay, CancellationToken cancellationToken)
    {
        var path = Path.IsPathRooted(replay.Trace) || File.Exists(replay.Trace) ? replay.Trace : Path.Combine(AppContext.BaseDirectory, replay.Trace);
        await using var reader = await TraceReader.OpenAsync(path, Duration.FromSeconds(1), replay.Trace, cancellationToken).ConfigureAwait(false);
        return await reader.ReadAllAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Replays <paramref name="trace"/> as the fleet, on a clock <see cref="ReplayOptions.Speed"/> times faster than the wall.</summary>
    public static AutoscalerBuilder UseReplayedFleet(this AutoscalerBuilder builder, TickTrace trace, ReplayOptions replay)
    {
        var time = new AcceleratedTime(trace.Start, replay.Speed);
        builder.Services.Replace(ServiceDescriptor.Singleton<IClock>(time));
        builder.Services.Replace(ServiceDescriptor.Singleton<TimeProvider>(time));
        builder.Services.AddSingleton(sp => new ReplayedFleet(trace, time, replay, sp.GetRequiredService<IOptions<AutoscalerOptions>>().Value,
            () => sp.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().StopApplication()));
        return builder
            .UseSignalSource(sp => sp.GetRequiredService<ReplayedFleet>())
            .UseReplicaController(sp => sp.GetRequiredService<ReplayedFleet>());
    }
}
