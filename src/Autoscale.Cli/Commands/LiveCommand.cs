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
            if (BacktestPlan.BeyondCountModel(plan.Settings, spec) is { } beyond)
            {
                // The live loop's replayed fleet is the count model: it would print a serving or cluster SLO over figures that
                // are not that replay's. Refused rather than wrong.
                throw new UserInputException($"{parse.GetValue(config)}: candidate \"{name}\" replays {beyond}, which live --replay does not: its replayed fleet is the count model; run backtest for this candidate's figures");
            }

            var tracePath = parse.GetValue(replay)!;
            await using var reader = await TraceReader.OpenAsync(tracePath, plan.Settings.Tick, cancellationToken: cancellationToken);
            var result = await LiveReplay.RunAsync(reader, plan.Settings, spec, cancellationToken);
            var info = new TraceInfo(tracePath, reader.Start, reader.Start + reader.Tick * reader.Length, reader.Length, reader.Requests);
            var report = new BacktestReport(info, plan.Settings, Ranking.Rank([result]), timeZone: plan.TimeZone);
            await BacktestCommand.PresentAsync(context, report, parse.GetValue(format)!, null, cancellationToken);
            return AutoscaleCli.Success;
        });
        return command;
    }
}

/// <summary>Joins the engine's simulated world to the live loop.</summary>
internal static class LiveReplay
{
    public static async Task<CandidateResult> RunAsync(TraceReader trace, ReplaySettings settings, CandidateSpec spec, CancellationToken cancellationToken)
    {
        var world = new ReplayWorld();
        var services = new ServiceCollection();
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddSingleton<IClock>(world);
        services.AddAutoscaler(o =>
            {
                o.Interval = settings.Tick * spec.DecisionIntervalTicks;
                o.MaxReplicas = Math.Max(1, settings.MaxReplicas);
                o.CapacityPerReplica = (spec.Replica ?? settings.Replica).CapacityRps;
                o.ExpectedLoadTime = spec.LoadTime.ExpectedLoadTime;
                o.ApplyRetryDelay = Duration.Zero;
            })
            .UsePolicy(_ => spec.PolicyFactory())
            .UseSignalSource(_ => world)
            .UseReplicaController(_ => world);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        try
        {
            _ = provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<AutoscalerOptions>>().Value;
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException e)
        {
            throw new UserInputException($"the live autoscaler's options: {string.Join("; ", e.Failures)}");
        }

        var loop = provider.GetRequiredService<IAutoscaler>();
        var bridged = spec with { PolicyFactory = () => new LoopBridge(loop, world) };
        var run = new CandidateRun(bridged, settings, trace.Start);
        await foreach (var chunk in trace.ReadTicksAsync(cancellationToken))
        {
            run.Advance(chunk);
        }

        // The engine's seat held the loop, not the policy: the policy's own figures and warnings come from the loop's.
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        var warnings = new List<string>();
        var diagnostics = provider.GetRequiredService<IScalingPolicy>() as IPolicyDiagnostics;
        diagnostics?.Report(metrics);
        diagnostics?.Warn(warnings);
        var result = run.Complete();
        return result with { PolicyMetrics = new MetricSet(metrics), Warnings = new TextList(result.Warnings.Concat(warnings)) };
    }

    /// <summary>The engine's policy seat, taken by the live loop: each decision is one loop iteration.</summary>
    private sealed class LoopBridge(IAutoscaler loop, ReplayWorld world) : IScalingPolicy
    {
        public ScalingDecision Decide(in ScalingSignal signal)
        {
            world.Pending = signal;

            // The replayed world answers at once (no I/O, no retry waits), so an iteration completes synchronously;
            // nothing here blocks on a task that has not finished.
            var pending = loop.RunOnceAsync();
            if (!pending.IsCompleted)
            {
                throw new InvalidOperationException("a replayed loop iteration did not complete synchronously");
            }

            var iteration = pending.Result;
            return new ScalingDecision(loop.LastDesired ?? signal.CurrentReplicas, iteration.Reason);
        }
    }

    /// <summary>The simulated world as the loop sees it: a clock, a signal source and a replica controller.</summary>
    private sealed class ReplayWorld : IClock, IScalingSignalSource, IReplicaController
    {
        public ScalingSignal Pending { get; set; }

        public Instant GetCurrentInstant() => Pending.Now;

        public ValueTask<FleetObservation?> ReadAsync(CancellationToken cancellationToken) =>
            ValueTask.FromResult<FleetObservation?>(new FleetObservation(Pending.Now, Pending.ReadyReplicas, Pending.LoadingReplicas,
                Pending.QueueDepth, Pending.ArrivalsLastInterval, Pending.ServedLastInterval));

        public ValueTask ApplyAsync(int replicas, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
