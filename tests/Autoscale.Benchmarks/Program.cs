using Autoscale;
using Autoscale.Backtesting.Engine;
using Autoscale.Traces.Synthesis;
using Autoscale.Traces;
using Autoscale.Policies.Catalog;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using NodaTime;

// Run: dotnet run -c Release --project tests/Autoscale.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(ReplayBenchmarks).Assembly).Run(args);

/// <summary>
/// Ticks per second per policy and bytes allocated per tick in the engine loop: one million ticks of
/// per-second traffic (100 req/s with a daily swing and bursts) per operation.
/// </summary>
[MemoryDiagnoser]
public class ReplayBenchmarks
{
    private const int Ticks = 1_000_000;
    private long[] _arrivals = [];
    private PolicyCatalog _catalog = PolicyCatalog.CreateBuiltIn();

    [Params("textbook", "fixed", "reactive", "warm-floor", "scheduled-floor", "predictive", "hpa", "keda", "knative", "ray-serve")]
    public string Policy { get; set; } = "textbook";

    private static readonly ReplaySettings Settings = new(new SloSettings(NodaTime.Duration.FromSeconds(2), 99), new ReplicaSettings(30, 1, 3), Duration.FromSeconds(1), 500);

    [GlobalSetup]
    public void Setup()
    {
        _arrivals = TrafficSynthesizer.Generate(new SynthOptions
        {
            Length = Duration.FromSeconds(Ticks), MeanRps = 100, DailyAmplitude = 0.4, Noise = NoiseKind.Dispersion, Dispersion = 3,
        }).SelectMany(c => c).ToArray();
    }

    [Benchmark(OperationsPerInvoke = Ticks, Description = "one tick")]
    public CandidateResult Replay()
    {
        var options = System.Text.Json.JsonDocument.Parse(Policy switch
        {
            "fixed" => """{"replicas": 5}""",
            "hpa" => """{"maxReplicas": 200, "metrics": [{"type": "Pods", "pods": {"metric": {"name": "inFlight"}, "target": {"type": "AverageValue", "averageValue": 20}}}]}""",
            "keda" => """{"maxReplicaCount": 200, "triggers": [{"type": "prometheus", "signal": "inFlight", "metadata": {"threshold": "20"}}]}""",
            "knative" => """{"containerConcurrency": 30}""",
            "ray-serve" => """{"maxReplicas": 200, "targetOngoingRequests": 20}""",
            _ => "{}",
        }).RootElement;

        // Each policy on its own period: the textbook every tick, Knative and Ray Serve every second, the rest every 15 s.
        var interval = Policy switch { "textbook" or "knative" or "ray-serve" => 1, _ => 15 };
        var spec = new CandidateSpec(Policy, () => _catalog.Create(Policy, options), new FixedLoadTime(Duration.FromSeconds(90)), DecisionIntervalTicks: interval);
        var run = new CandidateRun(spec, Settings, Instant.FromUtc(2026, 1, 5, 0, 0));
        run.Advance(_arrivals);
        return run.Complete();
    }
}

/// <summary>Reading a 30-day per-second trace (2.6 M rows) into ticks, row group by row group.</summary>
[MemoryDiagnoser]
public class TraceReadBenchmarks
{
    private string _path = "";

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(Path.GetTempPath(), $"autoscale-bench-{Environment.ProcessId}.parquet");
        TrafficSynthesizer.WriteAsync(new SynthOptions { Length = Duration.FromDays(30), MeanRps = 130, DailyAmplitude = 0.35 }, _path).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => File.Delete(_path);

    [Benchmark(OperationsPerInvoke = 30 * 86_400, Description = "one row")]
    public async Task<long> Read()
    {
        await using var reader = await TraceReader.OpenAsync(_path, Duration.FromSeconds(1));
        long total = 0;
        await foreach (var chunk in reader.ReadTicksAsync())
        {
            total += chunk.Length;
        }

        return total;
    }
}

/// <summary>
/// The request-level replay of the Azure conversation trace (19,366 requests) on four replicas, with 40 synthesized
/// prefix groups of 1,024 tokens (Zipf-weighted), prefix caching on and off: what caching costs a replay.
/// </summary>
[MemoryDiagnoser]
public class PrefixCachingBenchmarks
{
    private Autoscale.Backtesting.Serving.ServingWorkload _workload = null!;
    private ReplaySettings _settings = null!;

    [Params(false, true)]
    public bool Caching { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var profile = new Autoscale.Backtesting.Serving.ServingProfile
        {
            BaseSeconds = 0.005, PerPrefillTokenSeconds = 0.00002, PerDecodeTokenSeconds = 0.0001, MaxSequences = 64, MaxBatchedTokens = 4096,
            KvCacheTokens = 300_000, PrefixCaching = Caching,
        };
        var workload = Conversation.Workload(profile);
        var inputs = new List<long>();
        var r2 = TraceReader.OpenAsync(Conversation.Path, Duration.FromSeconds(1)).GetAwaiter().GetResult();
        foreach (var batch in r2.ReadRequestsAsync().ToBlockingEnumerable())
        {
            inputs.AddRange(batch.InputTokens!);
        }

        _workload = workload.WithPrefixes(PrefixGroupSynthesis.Assign(40, 1024, 1, 0, [.. inputs], inputs.Count));
        _settings = new ReplaySettings(new SloSettings(null, 99) { MaxTtft = NodaTime.Duration.FromSeconds(2) }, new ReplicaSettings(1, 1, 3), Duration.FromSeconds(1)) { Serving = profile };
    }

    [Benchmark(Description = "conversation trace, 4 replicas")]
    public CandidateResult Replay() => Backtest.RunServingOne(_workload, _settings,
        new CandidateSpec("four", () => new Autoscale.Policies.Fixed.FixedPolicy(new Autoscale.Policies.Fixed.FixedOptions { Replicas = 4 }), new FixedLoadTime(Duration.Zero)), 0, default);
}

/// <summary>
/// The request-level replay of the Azure conversation trace (19,366 requests) on four replicas co-located, and on two
/// prefill and two decode replicas with the KV cache moving between them: what disaggregation costs a replay.
/// </summary>
[MemoryDiagnoser]
public class DisaggregationBenchmarks
{
    private Autoscale.Backtesting.Serving.ServingWorkload _workload = null!;
    private ReplaySettings _settings = null!;

    [Params(false, true)]
    public bool Disaggregated { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var profile = new Autoscale.Backtesting.Serving.ServingProfile
        {
            BaseSeconds = 0.005, PerPrefillTokenSeconds = 0.00002, PerDecodeTokenSeconds = 0.0001, MaxSequences = 64, MaxBatchedTokens = 4096,
            KvCacheTokens = 300_000,
        };
        var pools = new Autoscale.Backtesting.Serving.Disaggregation(profile, new ReplicaSettings(1, 1, 3), profile, new ReplicaSettings(1, 1, 3),
            new Autoscale.Backtesting.Serving.KvTransfer(25, Duration.FromNanoseconds(50_000), 131_072, 1));
        _workload = Conversation.Workload(profile);
        _settings = new ReplaySettings(new SloSettings(null, 99) { MaxTtft = NodaTime.Duration.FromSeconds(2) }, new ReplicaSettings(1, 1, 3), Duration.FromSeconds(1)) { Serving = profile with { Disaggregation = pools } };
    }

    private static CandidateSpec Fixed(int replicas) =>
        new($"fixed {replicas}", () => new Autoscale.Policies.Fixed.FixedPolicy(new Autoscale.Policies.Fixed.FixedOptions { Replicas = replicas }), new FixedLoadTime(Duration.Zero));

    [Benchmark(Description = "conversation trace, 4 replicas or 2 + 2")]
    public CandidateResult Replay() => Backtest.RunServingOne(_workload, _settings,
        Disaggregated ? Fixed(2) with { Pools = new Autoscale.Backtesting.Serving.PoolCandidates(Fixed(2), Fixed(2)) } : Fixed(4), 0, default);
}

/// <summary>The bundled Azure conversation trace (19,366 requests), which the serving benchmarks replay.</summary>
internal static class Conversation
{
    /// <summary>The trace's path, found from the benchmark's folder up to the repository's root.</summary>
    public static string Path
    {
        get
        {
            var root = AppContext.BaseDirectory;
            while (!File.Exists(System.IO.Path.Combine(root, "Autoscale.sln")))
            {
                root = System.IO.Path.GetDirectoryName(root)!;
            }

            return System.IO.Path.Combine(root, "traces", "azure-llm-conv-2023.parquet");
        }
    }

    /// <summary>The trace's requests as a serving workload of <paramref name="profile"/>.</summary>
    public static Autoscale.Backtesting.Serving.ServingWorkload Workload(Autoscale.Backtesting.Serving.ServingProfile profile)
    {
        var reader = TraceReader.OpenAsync(Path, Duration.FromSeconds(1)).GetAwaiter().GetResult();
        try
        {
            return Autoscale.Backtesting.Serving.ServingWorkload.ReadAsync(reader, profile, 1, "conv").GetAwaiter().GetResult();
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
