using Autoscale.Backtesting.Engine;
using Autoscale.Traces.Synthesis;
using Autoscale.Traces;
using NodaTime;

namespace Autoscale.Policies.Conformance;

/// <summary>The outcome of one conformance check.</summary>
/// <param name="Name">The check: bounds, determinism, no-look-ahead, empty-trace, flat-trace.</param>
/// <param name="Passed">Whether the policy passed it.</param>
/// <param name="Detail">What was checked, or what failed.</param>
/// <param name="Tick">The tick (seconds from the start of the check's trace) where it failed, if it did.</param>
/// <param name="Trace">The trace the failure happened on, if it did.</param>
public sealed record ConformanceCheck(string Name, bool Passed, string Detail, long? Tick = null, string? Trace = null);

/// <summary>
/// The checks every policy, built-in or a user's, must pass: it stays within [0, the signal's MaxReplicas];
/// two fresh instances decide alike; decisions up to a tick do not change when the trace after it does
/// (no look-ahead, including through state shared between instances); it survives an empty trace and
/// an idle one; on a flat trace it settles instead of flapping. Each check replays generated traces
/// through the real engine with a recorder around the policy.
/// </summary>
public static class PolicyConformance
{
    private const int MaxReplicas = 60;

    private static readonly Duration Load = Duration.FromSeconds(60);

    /// <summary>Runs every check on fresh instances from <paramref name="factory"/>.</summary>
    public static IReadOnlyList<ConformanceCheck> Run(Func<IScalingPolicy> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var traces = Traces();
        return
        [
            Guard("bounds", () => Bounds(factory, traces)),
            Guard("determinism", () => Determinism(factory, traces["bursty"])),
            Guard("no-look-ahead", () => NoLookAhead(factory, traces["bursty"])),
            Guard("empty-trace", () => Empty(factory)),
            Guard("flat-trace", () => Flat(factory, traces["flat"])),
        ];
    }

    /// <summary>The settings the checks replay with: 30 req/s per replica, 2 s SLO, 60 s loads, max 60 replicas.</summary>
    public static ReplaySettings Settings { get; } = new(
        new SloSettings(Duration.FromSeconds(2), 99),
        new ReplicaSettings(30, 1, 3),
        Duration.FromSeconds(1),
        MaxReplicas);

    private static Dictionary<string, TickTrace> Traces()
    {
        var start = Instant.FromUtc(2026, 1, 5, 0, 0);
        TickTrace Synth(SynthOptions o) => new(start, Duration.FromSeconds(1), TrafficSynthesizer.Generate(o with { Start = start }).SelectMany(c => c).ToArray());
        return new Dictionary<string, TickTrace>(StringComparer.Ordinal)
        {
            ["flat"] = Synth(new SynthOptions { Length = Duration.FromHours(2), MeanRps = 300, Noise = NoiseKind.None }),
            ["bursty"] = Synth(new SynthOptions
            {
                Length = Duration.FromHours(3), MeanRps = 200, DailyAmplitude = 0.5, Noise = NoiseKind.Dispersion, Dispersion = 6, Seed = 7,
                Spikes = [new SpikeSpec(start + Duration.FromMinutes(40), Duration.FromMinutes(3), Multiplier: 4, Every: Duration.FromHours(1))],
            }),
            ["textbook"] = new TickTrace(start, Duration.FromSeconds(1), TextbookTraffic.Arrivals()),
            ["daily"] = Synth(new SynthOptions { Length = Duration.FromDays(2), MeanRps = 150, DailyAmplitude = 0.8, Seed = 3 }),
        };
    }

    private static ConformanceCheck Bounds(Func<IScalingPolicy> factory, Dictionary<string, TickTrace> traces)
    {
        foreach (var (name, trace) in traces)
        {
            var decisions = Record(factory, trace, name);
            foreach (var d in decisions)
            {
                if (d.Desired < 0 || d.Desired > d.Max)
                {
                    return new ConformanceCheck("bounds", false, $"decided {d.Desired} replicas, outside [0, {d.Max}] (the signal's MaxReplicas)", d.Tick, name);
                }
            }
        }

        return new ConformanceCheck("bounds", true, $"every decision within [0, MaxReplicas] on {traces.Count} traces");
    }

    private static ConformanceCheck Determinism(Func<IScalingPolicy> factory, TickTrace trace)
    {
        var a = Record(factory, trace, "bursty");
        var b = Record(factory, trace, "bursty");
        var diff = FirstDifference(a, b);
        return diff is { } d
            ? new ConformanceCheck("determinism", false, $"two fresh instances on the same trace decided {d.A} and {d.B}", d.Tick, "bursty")
            : new ConformanceCheck("determinism", true, $"two fresh instances gave the same {a.Count} decisions");
    }

    private static ConformanceCheck NoLookAhead(Func<IScalingPolicy> factory, TickTrace trace)
    {
        var cut = trace.Length / 2;
        var changed = (long[])trace.Arrivals.Clone();
        for (var t = cut; t < changed.Length; t++)
        {
            changed[t] = changed[t] * 3 + (t % 7 == 0 ? 500 : 0);
        }

        var other = new TickTrace(trace.Start, trace.Tick, changed);
        // Original, changed, original again: a policy that remembers one run's future in shared state
        // decides differently in the changed run's prefix, and in the repeat.
        var first = Record(factory, trace, "bursty");
        var second = Record(factory, other, "bursty (future changed)");
        var third = Record(factory, trace, "bursty");
        foreach (var (a, b, label) in new[] { (first, second, "changed"), (first, third, "repeated") })
        {
            var prefixA = a.Where(d => d.Tick <= cut).ToList();
            var prefixB = b.Where(d => d.Tick <= cut).ToList();
            if (FirstDifference(prefixA, prefixB) is { } d)
            {
                return new ConformanceCheck("no-look-ahead", false,
                    $"decided {d.A}, then {d.B} at the same tick when the trace after tick {cut} was {label}: the policy sees the future or keeps state between runs", d.Tick, "bursty");
            }
        }

        return new ConformanceCheck("no-look-ahead", true, $"decisions up to tick {cut} unchanged when the trace after it changes");
    }

    private static ConformanceCheck Empty(Func<IScalingPolicy> factory)
    {
        var start = Instant.FromUtc(2026, 1, 5, 0, 0);
        Record(factory, new TickTrace(start, Duration.FromSeconds(1), []), "empty");
        var idle = Record(factory, new TickTrace(start, Duration.FromSeconds(1), new long[3600]), "idle");
        var bad = idle.FirstOrDefault(d => d.Desired < 0);
        return bad is not null
            ? new ConformanceCheck("empty-trace", false, $"decided {bad.Desired} replicas on an idle trace", bad.Tick, "idle")
            : new ConformanceCheck("empty-trace", true, "ran on an empty trace and an hour without requests");
    }

    private static ConformanceCheck Flat(Func<IScalingPolicy> factory, TickTrace trace)
    {
        var decisions = Record(factory, trace, "flat").Where(d => d.Tick >= 1800).ToList();
        var reversals = 0;
        long? at = null;
        var direction = 0;
        for (var i = 1; i < decisions.Count; i++)
        {
            var step = Math.Sign(decisions[i].Desired - decisions[i - 1].Desired);
            if (step != 0 && direction != 0 && step != direction)
            {
                reversals++;
                at ??= decisions[i].Tick;
            }

            direction = step != 0 ? step : direction;
        }

        return reversals > 2
            ? new ConformanceCheck("flat-trace", false, $"changed direction {reversals} times on constant traffic after 30 minutes (flapping)", at, "flat")
            : new ConformanceCheck("flat-trace", true, "settles on constant traffic");
    }

    private static ConformanceCheck Guard(string name, Func<ConformanceCheck> check)
    {
        try
        {
            return check();
        }
        catch (PolicyFailure e)
        {
            return new ConformanceCheck(name, false, $"the policy threw {e.InnerException!.GetType().Name}: {e.InnerException.Message}", e.Tick, e.TraceName);
        }
    }

    private static List<Decision> Record(Func<IScalingPolicy> factory, TickTrace trace, string name)
    {
        var recorder = new Recorder(factory(), trace.Start);
        var spec = new CandidateSpec("check", () => recorder, new FixedLoadTime(Load));
        var run = new CandidateRun(spec, Settings, trace.Start);
        try
        {
            run.Advance(trace.Arrivals);
        }
        catch (PolicyFailure e)
        {
            e.TraceName = name;
            throw;
        }

        run.Complete();
        return recorder.Decisions;
    }

    private static (long Tick, int A, int B)? FirstDifference(List<Decision> a, List<Decision> b)
    {
        for (var i = 0; i < Math.Min(a.Count, b.Count); i++)
        {
            if (a[i].Desired != b[i].Desired)
            {
                return (a[i].Tick, a[i].Desired, b[i].Desired);
            }
        }

        return a.Count == b.Count ? null : (Math.Min(a.Count, b.Count), -1, -1);
    }

    private sealed record Decision(long Tick, int Desired, int Max);

    private sealed class Recorder(IScalingPolicy inner, Instant start) : IScalingPolicy
    {
        public List<Decision> Decisions { get; } = [];

        public ScalingDecision Decide(in ScalingSignal signal)
        {
            var tick = (signal.Now - start).BclCompatibleTicks / NodaConstants.TicksPerSecond;
            ScalingDecision decision;
            try
            {
                decision = inner.Decide(signal);
            }
            catch (Exception e)
            {
                throw new PolicyFailure(tick, e);
            }

            Decisions.Add(new Decision(tick, decision.DesiredReplicas, signal.MaxReplicas));
            return decision;
        }
    }

    private sealed class PolicyFailure(long tick, Exception inner) : Exception(inner.Message, inner)
    {
        public long Tick { get; } = tick;

        public string? TraceName { get; set; }
    }
}
