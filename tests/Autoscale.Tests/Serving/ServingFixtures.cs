using System.Globalization;
using System.Text.Json;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Serving;
using Autoscale.Policies.Fixed;
using NodaTime;

namespace Autoscale.Tests.Serving;

/// <summary>Serving profiles, workloads and runs for the serving tests.</summary>
internal static class ServingFixtures
{
    public static readonly Instant Start = Instant.FromUtc(2026, 1, 5, 0, 0);

    public static ServingProfile Profile(double baseSeconds = 0.005, double perPrefill = 0.00002, double perDecode = 0.0001, int maxSequences = 64,
        int maxBatchedTokens = 4096, long kvCacheTokens = 1_000_000, int blockTokens = 16, ServingRouting routing = ServingRouting.LeastLoaded) => new()
        {
            BaseSeconds = baseSeconds,
            PerPrefillTokenSeconds = perPrefill,
            PerDecodeTokenSeconds = perDecode,
            MaxSequences = maxSequences,
            MaxBatchedTokens = maxBatchedTokens,
            KvCacheTokens = kvCacheTokens,
            BlockTokens = blockTokens,
            Routing = routing,
        };

    public static ReplaySettings Settings(ServingProfile profile, double? maxTtft = 2, double? maxTpot = null, double tickSeconds = 1, double drainSeconds = 3600) =>
        new(new SloSettings(null, 99) { MaxTtft = OptionDuration.FromSeconds(maxTtft), MaxTpot = OptionDuration.FromSeconds(maxTpot) }, new ReplicaSettings(1, 1, 3.6),
            Duration.FromNanoseconds((long)Math.Round(tickSeconds * 1e9)))
        {
            Serving = profile,
            Drain = OptionDuration.FromSeconds(drainSeconds),
        };

    public static CandidateSpec Fixed(int replicas, double loadSeconds = 0) =>
        new($"fixed {replicas}", () => new FixedPolicy(new FixedOptions { Replicas = replicas }), new FixedLoadTime(Duration.FromSeconds(loadSeconds))) { PolicyName = "fixed" };

    public static CandidateSpec Policy(string name, Func<IScalingPolicy> policy, double loadSeconds = 30, int every = 1) =>
        new(name, policy, new FixedLoadTime(Duration.FromSeconds(loadSeconds)), every) { PolicyName = name };

    /// <summary>
    /// The bundled ServeGen trace's ticks <paramref name="from"/> to <paramref name="from"/> + <paramref name="count"/>,
    /// each second's requests and tokens divided by <paramref name="divide"/>.
    /// </summary>
    public static async Task<Autoscale.Traces.TickTrace> ServeGenWindow(Duration tick, int from, int count, int divide = 1)
    {
        await using var reader = await Autoscale.Traces.TraceReader.OpenAsync(Path.Combine(TestPaths.Traces, "servegen-m-large-14d.parquet"), tick);
        var all = await reader.ReadAllAsync(tokens: true);
        long[] Part(long[] column) => column.AsSpan(from, count).ToArray().Select(n => n / divide).ToArray();
        return new Autoscale.Traces.TickTrace(all.Start + (all.Tick * from), all.Tick, Part(all.Arrivals))
        {
            InputTokens = Part(all.InputTokens!),
            OutputTokens = Part(all.OutputTokens!),
        };
    }

    /// <summary>A workload from explicit requests: arrivals in nanoseconds after <see cref="Start"/>.</summary>
    public static ServingWorkload Workload(ServingProfile profile, long[] arrivals, int[] input, int[] output, double tickSeconds = 1)
    {
        var tick = (long)Math.Round(tickSeconds * 1e9);
        var ticks = arrivals.Length == 0 ? 1 : (arrivals[^1] / tick) + 1;
        return ServingWorkload.FromRequests(Start, Duration.FromNanoseconds(tick), ticks, arrivals, input, output, profile);
    }

    /// <summary>Asserts every request of <paramref name="c"/> has BLIS's TTFT and E2E to the nanosecond in <paramref name="run"/> (recorded).</summary>
    public static void AgreesWithBlis(BlisCase c, ServingRun run)
    {
        var mismatches = new List<string>();
        for (var r = 0; r < c.Arrivals.Length; r++)
        {
            var ttft = run.FirstTokenAt(r) - c.Arrivals[r];
            var e2e = run.EndAt(r) - c.Arrivals[r];
            if (ttft != c.TtftNanos[r] || e2e != c.E2eNanos[r])
            {
                mismatches.Add($"request {r}: ttft {ttft} vs BLIS {c.TtftNanos[r]}, e2e {e2e} vs BLIS {c.E2eNanos[r]}");
            }
        }

        Xunit.Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {c.Arrivals.Length} requests differ from BLIS, first: {string.Join("; ", mismatches.Take(5))}");
    }

    /// <summary>One BLIS reference case (tests/Autoscale.Tests/Serving/blis, made by make-cases.sh).</summary>
    public sealed record BlisCase(string Name, int Instances, ServingProfile Profile, long[] Arrivals, int[] Input, int[] Output, long[] TtftNanos, long[] E2eNanos);

    public static BlisCase LoadBlisCase(string name)
    {
        var folder = Path.Combine(TestPaths.Root, "tests", "Autoscale.Tests", "Serving", "blis");
        using var meta = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, name + ".json")));
        var root = meta.RootElement;
        var beta = root.GetProperty("betaMicros").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var routing = root.GetProperty("routing").GetString() switch
        {
            "round-robin" => ServingRouting.RoundRobin,
            _ => ServingRouting.LeastLoaded,
        };
        var block = root.GetProperty("blockTokens").GetInt32();
        var profile = new ServingProfile
        {
            BaseSeconds = beta[0] / 1e6,
            PerPrefillTokenSeconds = beta[1] / 1e6,
            PerDecodeTokenSeconds = beta[2] / 1e6,
            MaxSequences = root.GetProperty("maxSequences").GetInt32(),
            MaxBatchedTokens = root.GetProperty("maxBatchedTokens").GetInt32(),
            KvCacheTokens = root.GetProperty("kvBlocks").GetInt64() * block,
            BlockTokens = block,
            Routing = routing,
            RestartOnPreemption = true,
            OverlapLastStep = true,
        };
        var rows = File.ReadAllLines(Path.Combine(folder, name + ".csv")).Skip(1).Select(l => l.Split(',')).ToArray();
        long L(string[] row, int i) => long.Parse(row[i], CultureInfo.InvariantCulture);
        return new BlisCase(name, root.GetProperty("instances").GetInt32(), profile,
            [.. rows.Select(r => L(r, 0) * 1000)], [.. rows.Select(r => (int)L(r, 1))], [.. rows.Select(r => (int)L(r, 2))],
            [.. rows.Select(r => L(r, 3) < 0 ? -1 : L(r, 3) * 1000)], [.. rows.Select(r => L(r, 4) < 0 ? -1 : L(r, 4) * 1000)]);
    }
}
