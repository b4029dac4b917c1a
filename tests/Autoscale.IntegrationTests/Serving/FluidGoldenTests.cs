using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Serving;

namespace Autoscale.Tests.Serving;

/// <summary>
/// The candidates of examples/llm-serving.json replayed as a fluid (<c>engine.serving: "fluid"</c>) on the bundled
/// traces: pinned, so that a change in the approximation fails here and is looked at; and, closed loop, the same winner
/// as the request-level replay on each.
/// </summary>
[Trait("Category", "Slow")]
public sealed class FluidGoldenTests
{
    public static TheoryData<string, string, long, long, long, int, int, double, double> Golden => new()
    {
        { "textbook-spike", "fixed 3", 12804, 12659, 0, 3, 3, 5.00, 873.158 },
        { "textbook-spike", "hpa on waiting+running", 12804, 12804, 199, 200, 200, 35.15, 127.958 },
        { "textbook-spike", "predictive", 12804, 12804, 31, 32, 32, 9.81, 170.761 },
        { "textbook-spike", "reactive", 12804, 12804, 31, 32, 32, 9.81, 170.761 },
        { "textbook-spike", "reactive on TTFT", 12804, 12804, 31, 32, 32, 9.81, 170.761 },
        { "textbook-spike", "reactive on running", 12804, 12804, 2, 3, 3, 5.31, 945.505 },
        { "textbook-spike", "textbook", 12804, 12308, 197, 200, 200, 35.74, 74.027 },
        { "textbook-spike", "warm-floor 2", 12804, 12761, 30, 32, 32, 9.56, 162.473 },
        { "azure-llm-code-2023", "fixed 3", 8819, 4263, 0, 3, 3, 17.23, 19.708 },
        { "azure-llm-code-2023", "hpa on waiting+running", 8819, 4210, 64, 25, 4, 49.36, 83.416 },
        { "azure-llm-code-2023", "predictive", 8819, 3149, 24, 12, 5, 32.30, 19.708 },
        { "azure-llm-code-2023", "reactive", 8819, 3149, 24, 12, 5, 32.30, 19.708 },
        { "azure-llm-code-2023", "reactive on TTFT", 8819, 628, 15, 16, 16, 78.75, 2.667 },
        { "azure-llm-code-2023", "reactive on running", 8819, 4418, 24, 7, 5, 23.73, 53.307 },
        { "azure-llm-code-2023", "textbook", 8819, 1009, 15, 18, 18, 88.55, 8.891 },
        { "azure-llm-code-2023", "warm-floor 2", 8819, 1797, 11, 10, 5, 35.93, 11.747 },
        { "azure-llm-conv-2023", "fixed 3", 19366, 3, 0, 3, 3, 17.54, 0.662 },
        { "azure-llm-conv-2023", "hpa on waiting+running", 19366, 462, 12, 8, 3, 21.61, 14.334 },
        { "azure-llm-conv-2023", "predictive", 19366, 462, 11, 11, 2, 23.26, 14.334 },
        { "azure-llm-conv-2023", "reactive", 19366, 462, 11, 11, 2, 23.26, 14.334 },
        { "azure-llm-conv-2023", "reactive on TTFT", 19366, 474, 39, 40, 2, 66.66, 19.129 },
        { "azure-llm-conv-2023", "reactive on running", 19366, 472, 8, 6, 3, 19.40, 14.334 },
        { "azure-llm-conv-2023", "textbook", 19366, 3, 0, 3, 3, 17.54, 0.662 },
        { "azure-llm-conv-2023", "warm-floor 2", 19366, 1, 2, 4, 2, 19.21, 0.662 },
    };

    [Theory]
    [MemberData(nameof(Golden))]
    public async Task A_policy_on_a_bundled_trace_gives_its_pinned_fluid_result(string trace, string candidate, long requests, long violations, long coldStarts, int peak, int end, double dollars, double ttftP99)
    {
        var r = (await RunAsync(trace, fluid: true)).Single(x => x.Name == candidate);

        Assert.Null(r.Error);
        Assert.Equal((requests, violations, coldStarts, peak, end), (r.Requests, r.Violations, r.ColdStarts, r.PeakReplicas, r.EndReplicas));
        Assert.Equal(requests, r.Served + r.Dropped);
        Assert.Equal(dollars, r.Dollars, 0.0051);
        Assert.Equal(ttftP99, r.Serving!.TtftP99Seconds, 0.00051);
    }

    [Theory]
    [InlineData("textbook-spike", "textbook")]
    [InlineData("azure-llm-code-2023", "reactive on TTFT")]
    [InlineData("azure-llm-conv-2023", "fixed 3")]
    public async Task Closed_loop_the_fluid_replay_ranks_the_same_winner_as_the_request_level_one(string trace, string winner)
    {
        Assert.Equal(winner, (await RunAsync(trace, fluid: false)).Single(r => r.Rank == 1).Name);
        Assert.Equal(winner, (await RunAsync(trace, fluid: true)).Single(r => r.Rank == 1).Name);
    }

    private static Task<IReadOnlyList<CandidateResult>> RunAsync(string trace, bool fluid) => ServingGoldenTests.RunAsync(trace, fluid);
}
