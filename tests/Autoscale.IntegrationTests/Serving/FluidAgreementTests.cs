using System.Globalization;
using System.Text;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Serving;
using Autoscale.Config;
using Autoscale.Policies.Catalog;
using Autoscale.Policies.Reactive;
using Autoscale.Traces;
using NodaTime;
using Xunit.Abstractions;

namespace Autoscale.Tests.Serving;

/// <summary>
/// The fluid replay against the request-level replay, open loop: both replay the same replica timeline (the decisions
/// of a reactive policy in the request-level run, scripted for the fluid one, and a fixed fleet), with a TTFT SLO of 5
/// ticks. The violation percentage must agree within 10 % relative or 0.2 points, and TTFT p90 and p99 within 15 % or
/// one tick. docs/serving.md shows the table this prints.
/// </summary>
[Trait("Category", "Slow")]
public sealed class FluidAgreementTests(ITestOutputHelper output)
{
    private const double MaxTtft = 5;

    /// <summary>The approximation's domain: one pool of replicas (shared-queue routing), not far past its capacity.</summary>
    public static TheoryData<string> Agreeing => new() { "azure-llm-conv-2023", "azure-llm-code-2023", "servegen-afternoon", "steady", "spiky", "long-prompts", "long-outputs" };

    /// <summary>
    /// Outside it, measured and documented (docs/serving.md): per-replica queues (least-loaded routing) that the replicas
    /// added later never drain, and a fleet far past its capacity.
    /// </summary>
    public static TheoryData<string, ServingRouting> Outside
    {
        get
        {
            var cases = new TheoryData<string, ServingRouting> { { "textbook-spike", ServingRouting.SharedQueue } };
            foreach (var name in new[] { "azure-llm-conv-2023", "azure-llm-code-2023", "textbook-spike", "servegen-afternoon", "steady", "spiky", "long-prompts", "long-outputs" })
            {
                cases.Add(name, ServingRouting.LeastLoaded);
            }

            return cases;
        }
    }

    [Theory]
    [MemberData(nameof(Agreeing))]
    public async Task On_one_pool_the_fluid_replay_agrees_with_the_request_level_replay_on_the_same_fleet(string name)
    {
        var (table, failures, _) = await MeasureAsync(name, ServingRouting.SharedQueue);
        output.WriteLine(table);
        Assert.True(failures.Count == 0, string.Join("\n", failures) + "\n" + table);
    }

    [Theory]
    [MemberData(nameof(Outside))]
    public async Task Outside_its_domain_the_fluid_replay_still_conserves_requests(string name, ServingRouting routing)
    {
        var (table, _, rows) = await MeasureAsync(name, routing);
        output.WriteLine(table);
        foreach (var (label, request, fluid) in rows)
        {
            Assert.Equal(request.Requests, fluid.Requests);
            Assert.Equal(fluid.Requests, fluid.Served + fluid.Dropped);
            Assert.InRange(fluid.Violations, 0, fluid.Requests);
        }
    }

    private static async Task<(ServingWorkload, ReplaySettings)> WithRouting(string name, ServingRouting routing)
    {
        var (workload, settings) = await Case(name);
        return (workload, settings with { Serving = settings.Serving! with { Routing = routing } });
    }

    private static async Task<(string Table, List<string> Failures, List<(string, CandidateResult, CandidateResult)> Rows)> MeasureAsync(string name, ServingRouting routing)
    {
        var (workload, settings) = await WithRouting(name, routing);
        var table = new StringBuilder();
        var failures = new List<string>();
        var rows = Compare((workload, settings)).ToList();
        foreach (var (label, request, fluid) in rows)
        {
            var (vr, vf) = (Violation(request), Violation(fluid));
            table.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {routing} | {label} | {request.Requests:N0} | {vr:0.00} | {vf:0.00} | {request.Serving!.TtftP90Seconds:0.00} | {fluid.Serving!.TtftP90Seconds:0.00} | {request.Serving.TtftP99Seconds:0.00} | {fluid.Serving.TtftP99Seconds:0.00} |");
            if (Math.Abs(vf - vr) > Math.Max(0.2, 0.1 * vr))
            {
                failures.Add($"{name}, {label}: violations {vf:0.###} % against {vr:0.###} %");
            }

            failures.AddRange(Close(request.Serving.TtftP90Seconds, fluid.Serving.TtftP90Seconds, settings.TickSeconds, $"{name}, {label}: TTFT p90"));
            failures.AddRange(Close(request.Serving.TtftP99Seconds, fluid.Serving.TtftP99Seconds, settings.TickSeconds, $"{name}, {label}: TTFT p99"));
        }

        return (table.ToString(), failures, rows);
    }

    private static IEnumerable<string> Close(double expected, double actual, double tick, string what)
    {
        var same = double.IsPositiveInfinity(expected) || double.IsPositiveInfinity(actual)
            ? double.IsPositiveInfinity(expected) && double.IsPositiveInfinity(actual)
            : Math.Abs(actual - expected) <= Math.Max(tick, 0.15 * expected);
        return same ? [] : [$"{what}: {actual:0.###} s against {expected:0.###} s"];
    }

    private static double Violation(CandidateResult r) => r.Requests == 0 ? 0 : 100.0 * r.Violations / r.Requests;

    /// <summary>A fixed fleet sized to the mean load, and a reactive policy's timeline; each replayed both ways.</summary>
    internal static IEnumerable<(string Label, CandidateResult Request, CandidateResult Fluid)> Compare((ServingWorkload Workload, ReplaySettings Settings) replay)
    {
        var (workload, settings) = replay;
        var nominal = settings.Serving!.NominalRate(workload.MeanInputTokens, workload.MeanOutputTokens);
        var meanRate = workload.Count / (workload.Ticks * settings.TickSeconds);
        var size = Math.Max(1, (int)Math.Ceiling(meanRate / nominal / 0.85));
        yield return Both($"fixed {size}", () => new ScriptedPolicy([size]), workload, settings);

        var decisions = new List<int>();
        var reactive = ServingFixtures.Policy("reactive", () => new Recording(new ReactivePolicy(new ReactiveOptions { MinReplicas = 1, MaxReplicas = 200 }), decisions), loadSeconds: 60, every: 15);
        var request = new ServingRun(reactive, settings, workload).Run();
        var script = decisions.ToArray();
        var fluid = new FluidRun(reactive with { PolicyFactory = () => new ScriptedPolicy(script) }, settings, workload).Run();
        yield return ("reactive's fleet", request, fluid);
    }

    private static (string, CandidateResult, CandidateResult) Both(string label, Func<IScalingPolicy> policy, ServingWorkload workload, ReplaySettings settings)
    {
        var spec = ServingFixtures.Policy(label, policy, loadSeconds: 0);
        return (label, new ServingRun(spec, settings, workload).Run(), new FluidRun(spec, settings, workload).Run());
    }

    internal static async Task<(ServingWorkload, ReplaySettings)> Case(string name)
    {
        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadFileAsync(Path.Combine(TestPaths.Root, "tests", "Autoscale.Tests", "Serving", "golden-serving.json"));
        var settings = plan.Settings with { Slo = new SloSettings(null, 99) { MaxTtft = OptionDuration.FromSeconds(MaxTtft) } };
        var profile = settings.Serving!;
        switch (name)
        {
            case "servegen-afternoon":
                return (ServingWorkload.FromTicks(await ServingFixtures.ServeGenWindow(settings.Tick, 46_800, 600), profile, settings.Seed), settings);

            case "steady" or "spiky" or "long-prompts" or "long-outputs":
                return (Generated(name, profile), settings);
            default:
            {
                await using var reader = await TraceReader.OpenAsync(Path.Combine(TestPaths.Traces, name + ".parquet"), settings.Tick);
                return (await ServingWorkload.ReadAsync(reader, profile, settings.Seed, name), settings);
            }
        }
    }

    /// <summary>Half an hour of Poisson arrivals with log-normal tokens (seeded), shaped as the case names.</summary>
    private static ServingWorkload Generated(string name, ServingProfile profile)
    {
        var random = new Random(name.Length * 7919);
        var (rate, medianIn, medianOut) = name switch
        {
            "long-prompts" => (4.0, 6000.0, 100.0),
            "long-outputs" => (4.0, 300.0, 1500.0),
            _ => (12.0, 500.0, 150.0),
        };
        var arrivals = new List<long>();
        var input = new List<int>();
        var outputs = new List<int>();
        var t = 0.0;
        const double Span = 1800;
        while (true)
        {
            var spike = name == "spiky" && t % 600 is > 300 and < 360 ? 4 : 1;
            t += -Math.Log(1 - random.NextDouble()) / (rate * spike);
            if (t >= Span)
            {
                break;
            }

            arrivals.Add((long)(t * 1e9));
            input.Add(Draw(random, medianIn, 0.8, profile.MaxModelLen / 2));
            outputs.Add(Draw(random, medianOut, 0.6, profile.MaxModelLen / 2));
        }

        return ServingWorkload.FromRequests(ServingFixtures.Start, Duration.FromSeconds(1), (long)Span, [.. arrivals], [.. input], [.. outputs], profile, name);
    }

    private static int Draw(Random random, double median, double sigma, int cap)
    {
        var u1 = 1 - random.NextDouble();
        var u2 = random.NextDouble();
        var z = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        return (int)Math.Clamp(Math.Round(median * Math.Exp(sigma * z)), 1, cap);
    }

    /// <summary>Passes decisions through and records each desired count.</summary>
    private sealed class Recording(IScalingPolicy inner, List<int> decisions) : IScalingPolicy
    {
        public ScalingDecision Decide(in ScalingSignal signal)
        {
            var decision = inner.Decide(signal);
            decisions.Add(decision.DesiredReplicas);
            return decision;
        }
    }
}
