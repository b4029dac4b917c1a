using System.CommandLine;
using Autoscale.Config;
using Autoscale.Backtesting.Engine;
using Autoscale.Traces;
using Autoscale.Hosting;
using Autoscale.Reporting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NodaTime;

namespace Autoscale.Cli.Commands;

/// <summary>
/// <c>autoscale live --replay T --config C --candidate NAME</c>: the live autoscaler, built through
/// dependency injection exactly as a service builds it, driven by a replay of the trace: the engine's
/// world (queue, fleet, load times) is its signal source and replica controller, on a replay clock.
/// Its result equals the backtest's for that candidate.
/// </summary>
internal static class LiveCommand
{
    public static Command Create(CliContext context)
    {
        var replay = CliOptions.RequiredPath("--replay", "The Parquet trace to replay as the live world.");
        var config = CliOptions.RequiredPath("--config", "The backtest config the candidate is in.");
        var candidate = CliOptions.RequiredPath("--candidate", "The candidate's name.");
        var format = CliOptions.Format("table", "json", "csv");
        var command = new Command("live", "Run the live autoscaler loop (through DI) against a replayed trace and print its result.")
        {
            replay, config, candidate, format,
        };

        var userPolicies = new UserPolicies.UserPolicyLoader();
        userPolicies.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            await userPolicies.LoadAsync(parse, context.Catalog, context.Stderr, cancellationToken);
            var plan = await new ConfigLoader(context.Catalog).LoadFileAsync(parse.GetValue(config)!, cancellationToken);
            var name = parse.GetValue(candidate)!;
            var spec = plan.Candidates.FirstOrDefault(c => c.Name == name)
                ?? throw new UserInputException($"{parse.GetValue(config)}: no candidate named \"{name}\" (candidates: {string.Join(", ", plan.Candidates.Select(c => c.Name))})");
            var tracePath = parse.GetValue(replay)!;
            await using var reader = await TraceReader.OpenAsync(tracePath, plan.Settings.Tick, cancellationToken: cancellationToken);
            var result = await LiveReplay.RunAsync(reader, plan.Settings, spec, cancellationToken, tracePath);
            var info = new TraceInfo(tracePath, reader.Start, reader.Start + reader.Tick * reader.Length, reader.Length, reader.Requests);
            var report = new BacktestReport(info, plan.Settings, Ranking.Rank([result]), timeZone: plan.TimeZone);
            await BacktestCommand.PresentAsync(context, report, parse.GetValue(format)!, null, cancellationToken);
            return AutoscaleCli.Success;
        });
        return command;
    }
}

/// <summary>
/// Joins the engine's replayed world to the live loop: the loop, built through DI as a service builds it, takes the
/// policy's seat and runs one iteration inside each decision, reading the signal the engine built (the serving signals
/// too) and applying its count to the replayed fleet. Its result is the backtest's for that candidate.
/// </summary>
internal static class LiveReplay
{
    public static async Task<CandidateResult> RunAsync(TraceReader trace, ReplaySettings settings, CandidateSpec spec, CancellationToken cancellationToken, string tracePath = "trace")
    {
        var adapter = new LiveWorld();
        ReplayedWorld world;
        Autoscale.Backtesting.Serving.ServingWorkload? workload = null;
        if (settings.Serving is { } profile)
        {
            workload = await BacktestCommand.ReadWorkloadAsync(trace, settings, profile, [spec], tracePath, cancellationToken);
            world = ReplayedWorld.ForServing(spec, settings, workload, adapter.Decide);
        }
        else
        {
            world = ReplayedWorld.ForTrace(spec, settings, trace.Start, adapter.Decide);
        }

        var services = new ServiceCollection();
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddSingleton<IClock>(adapter);
        services.AddAutoscaler(o =>
            {
                o.Interval = world.Step.Interval;
                o.MaxReplicas = Math.Max(1, world.Step.MaxReplicas);
                o.CapacityPerReplica = world.Step.CapacityPerReplica;
                o.ExpectedLoadTime = world.Step.ExpectedLoadTime;
                o.ApplyRetryDelay = Duration.Zero;
            })
            .UsePolicy(_ => spec.PolicyFactory())
            .UseSignalSource(_ => adapter)
            .UseReplicaController(_ => adapter);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        try
        {
            _ = provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<AutoscalerOptions>>().Value;
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException e)
        {
            throw new UserInputException($"the live autoscaler's options: {string.Join("; ", e.Failures)}");
        }

        adapter.Loop = provider.GetRequiredService<IAutoscaler>();
        if (workload is null)
        {
            await foreach (var chunk in trace.ReadTicksAsync(cancellationToken))
            {
                world.Advance(chunk);
            }
        }

        // The engine's seat held the loop, not the policy: the policy's own figures and warnings come from the loop's.
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        var warnings = new List<string>();
        var diagnostics = provider.GetRequiredService<IScalingPolicy>() as IPolicyDiagnostics;
        var result = world.Complete();
        diagnostics?.Report(metrics);
        diagnostics?.Warn(warnings);
        return result with { PolicyMetrics = new MetricSet(metrics), Warnings = new TextList(result.Warnings.Concat(warnings)) };
    }

    /// <summary>The replayed world as the loop sees it: its clock, signal source and replica controller; each decision is one loop iteration.</summary>
    private sealed class LiveWorld : IClock, IScalingSignalSource, IReplicaController
    {
        private ScalingSignal _pending;

        public IAutoscaler? Loop { get; set; }

        public ScalingDecision Decide(ScalingSignal signal)
        {
            _pending = signal;

            // The replayed world answers at once (no I/O, no retry waits), so an iteration completes synchronously;
            // nothing here blocks on a task that has not finished.
            var pending = Loop!.RunOnceAsync();
            if (!pending.IsCompleted)
            {
                throw new InvalidOperationException("a replayed loop iteration did not complete synchronously");
            }

            var iteration = pending.Result;
            return new ScalingDecision(Loop.LastDesired ?? signal.CurrentReplicas, iteration.Reason);
        }

        public Instant GetCurrentInstant() => _pending.Now;

        public ValueTask<FleetObservation?> ReadAsync(CancellationToken cancellationToken) =>
            ValueTask.FromResult<FleetObservation?>(FleetObservation.FromSignal(_pending));

        public ValueTask ApplyAsync(int replicas, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
