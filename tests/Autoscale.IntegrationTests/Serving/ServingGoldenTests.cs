using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Serving;
using Autoscale.Config;
using Autoscale.Policies.Catalog;
using Autoscale.Traces;
using Xunit;

namespace Autoscale.Tests.Serving;

/// <summary>
/// The candidates of examples/llm-serving.json (every built-in policy kind with a serving profile) replayed request by
/// request on the bundled traces: pinned so that a change in behaviour fails here and is looked at. ServeGen is replayed
/// on ten minutes of its afternoon (13:00 to 13:10 on its first day), 137,576 requests with their bundled tokens.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ServingGoldenTests
{
    private static readonly Dictionary<string, Task<IReadOnlyList<CandidateResult>>> Runs = new(StringComparer.Ordinal);

    public static TheoryData<string, string, long, long, long, int, int, double, double> Golden => new()
    {
{ "textbook-spike", "fixed 3", 12804, 12669, 0, 3, 3, 4.96, 855.953 },
        { "textbook-spike", "hpa on waiting+running", 12804, 12626, 199, 200, 200, 34.84, 2687.869 },
        { "textbook-spike", "predictive", 12804, 12626, 31, 32, 32, 9.64, 2687.869 },
        { "textbook-spike", "reactive", 12804, 12626, 31, 32, 32, 9.64, 2687.869 },
        { "textbook-spike", "reactive on TTFT", 12804, 12626, 31, 32, 32, 9.64, 2687.869 },
        { "textbook-spike", "reactive on running", 12804, 12716, 2, 3, 3, 5.26, 2687.869 },
        { "textbook-spike", "textbook", 12804, 11554, 197, 200, 200, 39.60, 798.363 },
        { "textbook-spike", "warm-floor 2", 12804, 12670, 30, 32, 32, 9.49, 1287.142 },
        { "azure-llm-code-2023", "fixed 3", 8819, 4319, 0, 3, 3, 17.24, 19.513 },
        { "azure-llm-code-2023", "hpa on waiting+running", 8819, 3982, 65, 25, 4, 51.03, 114.692 },
        { "azure-llm-code-2023", "predictive", 8819, 2903, 31, 12, 7, 36.77, 19.905 },
        { "azure-llm-code-2023", "reactive", 8819, 2903, 31, 12, 7, 36.77, 19.905 },
        { "azure-llm-code-2023", "reactive on TTFT", 8819, 433, 19, 20, 20, 98.16, 2.039 },
        { "azure-llm-code-2023", "reactive on running", 8819, 4801, 14, 8, 3, 19.91, 58.301 },
        { "azure-llm-code-2023", "textbook", 8819, 460, 19, 22, 22, 119.00, 4.258 },
        { "azure-llm-code-2023", "warm-floor 2", 8819, 1590, 16, 11, 6, 40.39, 11.747 },
        { "azure-llm-conv-2023", "fixed 3", 19366, 4, 0, 3, 3, 17.54, 0.875 },
        { "azure-llm-conv-2023", "hpa on waiting+running", 19366, 384, 11, 8, 3, 20.95, 19.129 },
        { "azure-llm-conv-2023", "predictive", 19366, 381, 10, 10, 2, 22.63, 19.129 },
        { "azure-llm-conv-2023", "reactive", 19366, 381, 10, 10, 2, 22.63, 19.129 },
        { "azure-llm-conv-2023", "reactive on TTFT", 19366, 555, 90, 80, 10, 90.52, 24.048 },
        { "azure-llm-conv-2023", "reactive on running", 19366, 378, 10, 7, 3, 20.49, 19.129 },
        { "azure-llm-conv-2023", "textbook", 19366, 2, 1, 4, 4, 20.71, 0.808 },
        { "azure-llm-conv-2023", "warm-floor 2", 19366, 1, 2, 4, 2, 19.19, 0.841 },
        { "servegen-afternoon", "fixed 3", 137576, 137498, 0, 3, 3, 21.00, double.PositiveInfinity },
        { "servegen-afternoon", "hpa on waiting+running", 137576, 36023, 199, 200, 200, 177.62, 3695.661 },
        { "servegen-afternoon", "predictive", 137576, 53874, 199, 200, 200, 155.50, 3695.661 },
        { "servegen-afternoon", "reactive", 137576, 53874, 199, 200, 200, 155.50, 3695.661 },
        { "servegen-afternoon", "reactive on TTFT", 137576, 53874, 199, 200, 200, 155.50, 3695.661 },
        { "servegen-afternoon", "reactive on running", 137576, 118156, 199, 200, 200, 74.46, 3695.661 },
        { "servegen-afternoon", "textbook", 137576, 20763, 197, 200, 200, 202.29, 1003.673 },
        { "servegen-afternoon", "warm-floor 2", 137576, 51957, 198, 200, 200, 156.10, 1787.441 },
    };

    [Theory]
    [MemberData(nameof(Golden))]
    public async Task A_policy_on_a_bundled_trace_gives_its_pinned_serving_result(string trace, string candidate, long requests, long violations, long coldStarts, int peak, int end, double dollars, double ttftP99)
    {
        var results = await RunAsync(trace);
        var r = results.Single(x => x.Name == candidate);

        Assert.Null(r.Error);
        Assert.Equal((requests, violations, coldStarts, peak, end), (r.Requests, r.Violations, r.ColdStarts, r.PeakReplicas, r.EndReplicas));
        Assert.Equal(dollars, r.Dollars, 0.0051);
        if (double.IsInfinity(ttftP99))
        {
            Assert.True(double.IsPositiveInfinity(r.Serving!.TtftP99Seconds), "a dropped request sets the TTFT p99");
        }
        else
        {
            Assert.Equal(ttftP99, r.Serving!.TtftP99Seconds, 0.00051);
        }
    }

    /// <summary>The candidates of examples/llm-serving.json on <paramref name="trace"/>, request by request or as a fluid; each run once.</summary>
    internal static Task<IReadOnlyList<CandidateResult>> RunAsync(string trace, bool fluid = false)
    {
        lock (Runs)
        {
            var key = $"{trace}:{fluid}";
            if (!Runs.TryGetValue(key, out var run))
            {
                run = Task.Run(async () =>
                {
                    var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadFileAsync(Path.Combine(TestPaths.Root, "tests", "Autoscale.Tests", "Serving", "golden-serving.json"));
                    var settings = plan.Settings with { FluidServing = fluid };
                    ServingWorkload workload;
                    if (trace == "servegen-afternoon")
                    {
                        workload = ServingWorkload.FromTicks(await ServingFixtures.ServeGenWindow(settings.Tick, 46_800, 600), settings.Serving!, settings.Seed);
                    }
                    else
                    {
                        await using var reader = await TraceReader.OpenAsync(Path.Combine(TestPaths.Traces, trace + ".parquet"), settings.Tick);
                        workload = await ServingWorkload.ReadAsync(reader, settings.Serving!, settings.Seed, trace);
                    }

                    return Backtest.RunServing(workload, settings, plan.Candidates);
                });
                Runs[key] = run;
            }

            return run;
        }
    }
}
