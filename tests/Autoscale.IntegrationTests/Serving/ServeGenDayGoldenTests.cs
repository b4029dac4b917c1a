using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Serving;
using Autoscale.Config;
using Autoscale.Policies.Catalog;
using Autoscale.Traces;
using Xunit.Abstractions;

namespace Autoscale.Tests.Serving;

/// <summary>
/// A whole day of ServeGen replayed request by request (its first day, 2026-01-05, at a tenth of its rate: each second's
/// requests and tokens divided by ten, 2.4 M requests), the reactive and warm-floor candidates of
/// examples/llm-serving.json: pinned, and the fluid replay of the same beside it.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ServeGenDayGoldenTests(ITestOutputHelper output)
{
    private static readonly Lazy<Task<(IReadOnlyList<CandidateResult> Request, IReadOnlyList<CandidateResult> Fluid)>> Runs = new(RunAsync);

    public static TheoryData<string, long, long, long, int, double, double> Golden => new()
    {
        { "reactive", 2376851, 2700, 145, 80, 1303.87, 0.270 },
        { "warm-floor 2", 2376851, 2808, 119, 64, 1330.74, 0.270 },
    };

    [Theory]
    [MemberData(nameof(Golden))]
    public async Task A_day_of_servegen_request_by_request_gives_its_pinned_result(string candidate, long requests, long violations, long coldStarts, int peak, double dollars, double ttftP99)
    {
        var (request, fluid) = await Runs.Value;
        var r = request.Single(x => x.Name == candidate);
        var f = fluid.Single(x => x.Name == candidate);
        output.WriteLine(FormattableString.Invariant($"{{ \"{candidate}\", {r.Requests}, {r.Violations}, {r.ColdStarts}, {r.PeakReplicas}, {r.Dollars:0.00}, {r.Serving!.TtftP99Seconds:0.000} }}, fluid: {f.Violations} violations, {f.Dollars:0.00} $, TTFT p99 {f.Serving!.TtftP99Seconds:0.000}"));
        Assert.Null(r.Error);
        Assert.Equal((requests, violations, coldStarts, peak), (r.Requests, r.Violations, r.ColdStarts, r.PeakReplicas));
        Assert.Equal(dollars, r.Dollars, 0.0051);
        Assert.Equal(ttftP99, r.Serving!.TtftP99Seconds, 0.00051);
        // Closed loop, each replay driving the policy: the fluid one within 0.2 points of violations and 2 % of dollars.
        Assert.Equal(r.Requests, f.Requests);
        Assert.InRange(100.0 * (f.Violations - r.Violations) / r.Requests, -0.2, 0.2);
        Assert.InRange(f.Dollars / r.Dollars, 0.98, 1.02);
    }

    private static async Task<(IReadOnlyList<CandidateResult>, IReadOnlyList<CandidateResult>)> RunAsync()
    {
        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadFileAsync(Path.Combine(TestPaths.Root, "tests", "Autoscale.Tests", "Serving", "golden-serving.json"));
        var candidates = plan.Candidates.Where(c => c.Name is "reactive" or "warm-floor 2").ToList();
        var day = await ServingFixtures.ServeGenWindow(plan.Settings.Tick, 0, 86_400, divide: 10);
        var workload = ServingWorkload.FromTicks(day, plan.Settings.Serving!, plan.Settings.Seed);
        var request = Backtest.RunServing(workload, plan.Settings, candidates);
        var fluid = Backtest.RunServing(workload, plan.Settings with { FluidServing = true }, candidates);
        return (request, fluid);
    }
}
