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

    [Params("textbook", "fixed", "reactive", "warm-floor", "scheduled-floor", "predictive")]
    public string Policy { get; set; } = "textbook";

    private static readonly ReplaySettings Settings = new(new SloSettings(2, 99), new ReplicaSettings(30, 1, 3), Duration.FromSeconds(1), 500);

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
        var options = System.Text.Json.JsonDocument.Parse(Policy == "fixed" ? """{"replicas": 5}""" : "{}").RootElement;
        var spec = new CandidateSpec(Policy, () => _catalog.Create(Policy, options), new FixedLoadTime(Duration.FromSeconds(90)), DecisionIntervalTicks: Policy == "textbook" ? 1 : 15);
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
