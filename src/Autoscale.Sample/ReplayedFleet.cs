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
/// source and replica controller over a <see cref="ReplayedWorld"/>, the world <c>autoscale live --replay</c> runs on.
/// The engine decides every tick, holding the count the loop last applied (so it takes effect at the next tick), and
/// builds each tick's signal as a backtest does; a read replays the trace up to the clock and returns the latest signal
/// with the arrivals and service summed since the previous read. Loads take the autoscaler's expected load time. In dry run the fleet keeps its size and the log shows what the policy would do;
/// otherwise the policy drives it. Needs no cluster and no Prometheus.
/// </summary>
/// <remarks>Thread-safe: reads and applies are serialized.</remarks>
internal sealed class ReplayedFleet : IScalingSignalSource, IReplicaController
{
    private readonly Lock _gate = new();
    private readonly TickTrace _trace;
    private readonly IClock _clock;
    private readonly bool _loop;
    private readonly Action _ended;
    private readonly ReplayedWorld _world;
    private readonly long[] _one = new long[1];
    private long _arrivals, _served;
    private int _target;
    private bool _over;

    public ReplayedFleet(TickTrace trace, IClock clock, ReplayOptions replay, AutoscalerOptions autoscaler, Action ended)
    {
        _trace = trace;
        _clock = clock;
        _loop = replay.Loop;
        _ended = ended;
        _target = replay.Replicas;
        var settings = new ReplaySettings(new SloSettings(Duration.FromSeconds(2), 99), new ReplicaSettings(autoscaler.CapacityPerReplica, 1, 0), trace.Tick, MaxReplicas: 1_000_000);
        var spec = new CandidateSpec("replayed fleet", () => new Held(), new FixedLoadTime(autoscaler.ExpectedLoadTime));
        _world = ReplayedWorld.ForTrace(spec, settings, trace.Start, signal =>
        {
            _arrivals += signal.ArrivalsLastInterval;
            _served += signal.ServedLastInterval;
            return new ScalingDecision(_target, "the count last applied");
        });
    }

    public ValueTask<FleetObservation?> ReadAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var now = _clock.GetCurrentInstant();
            // Tick 0's decision places the fleet the replay starts with, so its signal sees none: a read made sooner
            // replays through tick 1 and sees that fleet, never an empty one.
            var until = Math.Max(2, (long)((now - _trace.Start).TotalNanoseconds / _trace.Tick.TotalNanoseconds));
            while (_world.Tick < until && !_over)
            {
                if (_world.Tick >= _trace.Length && !_loop)
                {
                    _over = true;
                    _ended();
                    break;
                }

                _one[0] = _trace.Arrivals[(int)(_world.Tick % _trace.Length)];
                _world.Advance(_one);
            }

            if (_over || _world.Latest is not { } latest)
            {
                return ValueTask.FromResult<FleetObservation?>(null);
            }

            var observation = FleetObservation.FromSignal(latest) with { ArrivalsLastInterval = _arrivals, ServedLastInterval = _served };
            (_arrivals, _served) = (0, 0);
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

    /// <summary>The candidate's policy, never asked: the world's decisions hold the count last applied.</summary>
    private sealed class Held : IScalingPolicy
    {
        public ScalingDecision Decide(in ScalingSignal signal) => throw new InvalidOperationException("the replayed fleet's count comes from the loop");
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
        // The loop's one time: its IClock is derived from this provider.
        builder.Services.Replace(ServiceDescriptor.Singleton<TimeProvider>(time));
        builder.Services.AddSingleton(sp => new ReplayedFleet(trace, time, replay, sp.GetRequiredService<IOptions<AutoscalerOptions>>().Value,
            () => sp.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().StopApplication()));
        return builder
            .UseSignalSource(sp => sp.GetRequiredService<ReplayedFleet>())
            .UseReplicaController(sp => sp.GetRequiredService<ReplayedFleet>());
    }
}
