using Autoscale.Backtesting.Engine;
using Autoscale.Traces;
using FsCheck;
using FsCheck.Fluent;
using NodaTime;

namespace Autoscale.Tests.Backtesting;

/// <summary>A random replay: trace, settings and a scripted fleet, for properties of the engine.</summary>
internal sealed record EngineScenario(long[] Arrivals, double Capacity, int LoadSeconds, int[] Script, int MaxReplicas, double? TimeoutSeconds, int DecisionEvery, int Delay)
{
    public static readonly Instant Start = Instant.FromUtc(2026, 1, 5, 0, 0);

    public TickTrace Trace => new(Start, Duration.FromSeconds(1), Arrivals);

    public ReplaySettings Settings(double? capacity = null) => new(
        new SloSettings(NodaTime.Duration.FromSeconds(2), 99, OptionDuration.FromSeconds(TimeoutSeconds)),
        new ReplicaSettings(capacity ?? Capacity, 1, 3),
        Duration.FromSeconds(1),
        MaxReplicas);

    public CandidateSpec Candidate(string name = "scripted", Func<IScalingPolicy>? factory = null) =>
        new(name, factory ?? (() => new ScriptedPolicy(Script)), new FixedLoadTime(Duration.FromSeconds(LoadSeconds)), DecisionEvery, Delay);

    public override string ToString() =>
        $"arrivals=[{string.Join(",", Arrivals)}] capacity={Capacity} load={LoadSeconds} script=[{string.Join(",", Script)}] max={MaxReplicas} timeout={TimeoutSeconds} every={DecisionEvery} delay={Delay}";

    public static Arbitrary<EngineScenario> Arbitrary { get; } = Generate().ToArbitrary();

    private static Gen<EngineScenario> Generate() =>
        from length in Gen.Choose(0, 240)
        from arrivals in Gen.ArrayOf(Gen.Frequency((3, Gen.Choose(0, 60)), (1, Gen.Choose(0, 400))), length)
        from capacity in Gen.Elements(1.0, 2.5, 7.0, 30.0, 0.4)
        from load in Gen.Choose(0, 40)
        from script in Gen.ArrayOf(Gen.Choose(-2, 25), 12)
        from max in Gen.Choose(0, 30)
        from timeout in Gen.Elements<double?>(null, null, 3, 10)
        from every in Gen.Elements(1, 1, 5)
        from delay in Gen.Elements(0, 0, 3)
        select new EngineScenario(arrivals.Select(a => (long)a).ToArray(), capacity, load, script, max, timeout, every, delay);
}
