using System.Text.Json;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using Autoscale.Backtesting.Serving;
using NodaTime;

namespace Autoscale.Config.Benchmarks;

/// <summary>A benchmark run replayed with a serving profile: what it measured, what the replay predicts.</summary>
public sealed record ValidatedRun(BenchmarkRun Run, LatencyFigures Predicted)
{
    /// <summary>(predicted - measured) / measured x 100 for each figure both have.</summary>
    public IEnumerable<(string Name, double? Measured, double? Predicted, double? ErrorPercent)> Compared() =>
        Run.Measured.Named().Zip(Predicted.Named(), (m, p) => (m.Name, m.Value, p.Value,
            m.Value is { } measured && measured > 0 && p.Value is { } predicted ? (predicted - measured) / measured * 100 : (double?)null));
}

/// <summary>
/// Replays benchmark runs of one server with a config's serving profile: one replica, the run's send times and token
/// lengths, and with a closed-loop client (<c>max_concurrency</c>) at most that many requests in the server, each timed
/// from when it could be sent (admitted, less its time before the queue) rather than from the run's start.
/// </summary>
public static class ServingValidation
{
    private static readonly Instant Start = Instant.FromUtc(2026, 1, 1, 0, 0);

    /// <summary>The serving profile of a config's <c>replica.serving</c> (hardware applied); the rest of the config is not needed.</summary>
    public static ServingProfile LoadProfile(string file)
    {
        var (serving, given) = LoadServing(file);
        if (serving.Hardware is not null)
        {
            Hardware.HardwareProfiles.Apply(serving, given, file, "replica.serving");
        }

        return ServingProfile.From(serving);
    }

    /// <summary>A config's <c>replica.serving</c> as bound (hardware not yet applied) and its JSON, read for the fields it gives itself.</summary>
    public static (ServingOptions Serving, JsonElement Given) LoadServing(string file)
    {
        var text = Autoscale.Shared.BoundedFile.ReadText(file, 64 << 20);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new ConfigException(file, "", $"not valid JSON ({e.Message.Split('.')[0]})", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("replica", out var replicaJson))
            {
                throw new ConfigException(file, "replica", "must be given, with replica.serving: the server's profile the runs are replayed with");
            }

            var replica = (ReplicaOptions)ConfigLoader.Bind(typeof(ReplicaOptions), replicaJson, "replica", file);
            var serving = replica.Serving ?? throw new ConfigException(file, "replica.serving", "must be given: the server's profile the runs are replayed with (stepSeconds, or hardware)");
            return (serving, replicaJson.TryGetProperty("serving", out var given) ? given.Clone() : default);
        }
    }

    /// <summary>The figures the profile predicts for <paramref name="run"/>.</summary>
    public static ValidatedRun Replay(BenchmarkRun run, ServingProfile profile, CancellationToken cancellationToken = default)
    {
        var capped = run.MaxConcurrency is { } cap ? profile with { MaxSequences = Math.Min(profile.MaxSequences, cap) } : profile;
        capped = capped with { MaxModelLen = Math.Max(capped.MaxModelLen, run.Input.Zip(run.Output).Select(p => p.First + p.Second + 1).DefaultIfEmpty(1).Max()) };
        var ticks = (run.ArrivalNanos.Length == 0 ? 0 : run.ArrivalNanos[^1] / 1_000_000_000) + 1;
        var workload = ServingWorkload.FromRequests(Start, Duration.FromSeconds(1), ticks, run.ArrivalNanos, run.Input, run.Output, capped, run.Name);
        var settings = new ReplaySettings(new Autoscale.SloSettings(null, 99) { MaxTtft = Duration.FromHours(1) }, new ReplicaSettings(1, 1, 0), Duration.FromSeconds(1))
        {
            Serving = capped,
            Drain = Duration.FromDays(30),
        };
        var candidate = new CandidateSpec("server", () => new Autoscale.Policies.Fixed.FixedPolicy(new Autoscale.Policies.Fixed.FixedOptions { Replicas = 1 }), new FixedLoadTime(Duration.Zero)) { PolicyName = "fixed" };
        var replay = RequestTimes.Replay(workload, settings, candidate, cancellationToken);

        var (ttft, e2e) = (new List<double>(run.Input.Length), new List<double>(run.Input.Length));
        double gapSeconds = 0, gaps = 0;
        for (var r = 0; r < run.Input.Length; r++)
        {
            var (first, end) = (replay.FirstTokenNanos[r], replay.EndNanos[r]);
            if (first < 0 || end < 0)
            {
                continue;
            }

            // A closed-loop client sends a request when a slot frees: time it from then (its admission, less its time before the queue).
            var sent = run.MaxConcurrency is null ? run.ArrivalNanos[r]
                : replay.AdmittedNanos[r] - (long)Math.Round((capped.RequestOverheadSeconds + (capped.PerInputTokenOverheadSeconds * Math.Max(1, run.Input[r]))) * 1e9);
            ttft.Add((first - sent) / 1e9);
            e2e.Add((end - sent) / 1e9);
            var n = Math.Max(1, run.Output[r]);
            if (n > 1)
            {
                gapSeconds += (end - first) / 1e9;
                gaps += n - 1;
            }
        }

        return new ValidatedRun(run, LatencyFigures.Of(ttft, e2e, gaps > 0 ? gapSeconds / gaps : null));
    }
}
