using Autoscale.Config;
using Autoscale.Backtesting.Engine;
using Autoscale.Traces;
using Autoscale.Policies.Catalog;

namespace Autoscale.Tests.Policies;

/// <summary>
/// Every built-in policy on every bundled trace, with examples/all-policies.json (90 s loads, 15 s
/// decisions): pinned so that a change in behaviour fails here and is looked at.
/// </summary>
[Trait("Category", "Slow")]
public sealed class PolicyGoldenTests
{
    private static readonly Dictionary<string, Task<IReadOnlyList<CandidateResult>>> Runs = new(StringComparer.Ordinal);

    public static TheoryData<string, string, long, long, long, int, int, double> Golden => new()
    {
        { "textbook-spike", "fixed 8", 12804, 0, 0, 8, 8, 0.80 },
        { "textbook-spike", "floor + predictive", 12804, 12498, 31, 32, 4, 1.20 },
        { "textbook-spike", "predictive", 12804, 12498, 31, 32, 4, 1.20 },
        { "textbook-spike", "reactive", 12804, 12498, 31, 32, 4, 1.20 },
        { "textbook-spike", "scheduled-floor", 12804, 12498, 31, 32, 4, 1.20 },
        { "textbook-spike", "textbook", 12804, 10888, 134, 138, 28, 8.70 },
        { "textbook-spike", "warm-floor", 12804, 11089, 21, 25, 4, 1.32 },
        { "azure-llm-code-2023", "fixed 8", 8819, 0, 0, 8, 8, 22.91 },
        { "azure-llm-code-2023", "floor + predictive", 8819, 0, 0, 4, 4, 11.46 },
        { "azure-llm-code-2023", "predictive", 8819, 0, 1, 2, 1, 3.36 },
        { "azure-llm-code-2023", "reactive", 8819, 0, 1, 2, 1, 3.36 },
        { "azure-llm-code-2023", "scheduled-floor", 8819, 0, 0, 4, 4, 11.46 },
        { "azure-llm-code-2023", "textbook", 8819, 0, 0, 4, 4, 11.46 },
        { "azure-llm-code-2023", "warm-floor", 8819, 0, 0, 4, 4, 11.46 },
        { "azure-llm-conv-2023", "fixed 8", 19366, 0, 0, 8, 8, 23.35 },
        { "azure-llm-conv-2023", "floor + predictive", 19366, 0, 0, 4, 4, 11.68 },
        { "azure-llm-conv-2023", "predictive", 19366, 0, 0, 1, 1, 2.92 },
        { "azure-llm-conv-2023", "reactive", 19366, 0, 0, 1, 1, 2.92 },
        { "azure-llm-conv-2023", "scheduled-floor", 19366, 0, 0, 4, 4, 11.68 },
        { "azure-llm-conv-2023", "textbook", 19366, 0, 0, 4, 4, 11.68 },
        { "azure-llm-conv-2023", "warm-floor", 19366, 0, 0, 4, 4, 11.68 },
        { "servegen-m-large-14d", "fixed 8", 237277689, 139236791, 0, 8, 8, 8064.00 },
        { "servegen-m-large-14d", "floor + predictive", 237277689, 201944, 2264, 176, 22, 13444.38 },
        { "servegen-m-large-14d", "predictive", 237277689, 201944, 2264, 176, 22, 13444.38 },
        { "servegen-m-large-14d", "reactive", 237277689, 373991, 1824, 200, 13, 11189.04 },
        { "servegen-m-large-14d", "scheduled-floor", 237277689, 373991, 1823, 200, 13, 11189.71 },
        { "servegen-m-large-14d", "textbook", 237277689, 21393, 196, 200, 200, 201594.76 },
        { "servegen-m-large-14d", "warm-floor", 237277689, 191717, 1227, 200, 13, 11521.42 },
    };

    [Theory]
    [MemberData(nameof(Golden))]
    public async Task A_policy_on_a_bundled_trace_gives_its_pinned_result(string trace, string candidate, long requests, long violations, long coldStarts, int peak, int end, double dollars)
    {
        var results = await RunAsync(trace);
        var r = results.Single(x => x.Name == candidate);

        Assert.Null(r.Error);
        Assert.Equal((requests, violations, coldStarts, peak, end), (r.Requests, r.Violations, r.ColdStarts, r.PeakReplicas, r.EndReplicas));
        Assert.Equal(dollars, r.Dollars, 0.0051);
    }

    private static Task<IReadOnlyList<CandidateResult>> RunAsync(string trace)
    {
        lock (Runs)
        {
            if (!Runs.TryGetValue(trace, out var run))
            {
                run = Task.Run(async () =>
                {
                    var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadFileAsync(Path.Combine(TestPaths.Examples, "all-policies.json"));
                    await using var reader = await TraceReader.OpenAsync(Path.Combine(TestPaths.Traces, trace + ".parquet"), plan.Settings.Tick);
                    return await Backtest.RunAsync(reader, plan.Settings, plan.Candidates);
                });
                Runs[trace] = run;
            }

            return run;
        }
    }
}
