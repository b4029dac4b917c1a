using System.Text.Json;
using Autoscale.Backtesting.Engine;
using Autoscale.Traces;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Autoscale.Tests.Backtesting;

/// <summary>
/// The one scheduler every backtest runs its candidates on: results do not depend on threads, slices or how the trace
/// is cut into chunks, and a policy that throws fails its candidate alone, at the tick it threw.
/// </summary>
public sealed class ReplaySchedulerProperties
{
    [Property(MaxTest = 60)]
    public Property Results_are_the_same_whatever_the_threads_and_chunks(PositiveInt chunkSeed) =>
        Prop.ForAll(EngineScenario.Arbitrary, s =>
        {
            var candidates = Candidates(s);
            var alone = candidates.Select(c => Backtest.RunOne(s.Trace, s.Settings(), c)).ToList();
            var together = Backtest.Run(s.Trace, s.Settings(), candidates, maxParallelism: 4);
            var chunk = 1 + (chunkSeed.Get % 50);
            var streamed = Streamed(s, candidates, chunk);
            return (Same(together, streamed) && together.All(r => r.Error is not null || Json(r) == Json(WithRank(alone.Single(a => a.Name == r.Name), r))))
                .Label($"chunk {chunk}");
        });

    [Fact]
    public void A_policy_that_throws_fails_its_candidate_alone_at_its_tick()
    {
        var arrivals = Enumerable.Repeat(5L, 300).ToArray();
        var s = new EngineScenario(arrivals, 2.5, 10, [1, 2, 3], 20, null, 1, 0);
        var throwsAt = s.Candidate("throws at 137", () => new ScriptedPolicy { Answer = x => x.Now >= EngineScenario.Start + NodaTime.Duration.FromSeconds(137) ? throw new InvalidOperationException("boom") : new ScalingDecision(2, "two") });
        var cannotStart = s.Candidate("cannot start", () => throw new ArgumentException("no options"));
        foreach (var threads in new[] { 1, 3 })
        {
            var results = Backtest.Run(s.Trace, s.Settings(), [s.Candidate("fine"), throwsAt, cannotStart], maxParallelism: threads);
            Assert.Equal("policy threw at tick 137: InvalidOperationException: boom", results.Single(r => r.Name == "throws at 137").Error);
            Assert.Equal("policy could not be created: ArgumentException: no options", results.Single(r => r.Name == "cannot start").Error);
            var fine = results.Single(r => r.Name == "fine");
            Assert.Null(fine.Error);
            Assert.Equal(300, fine.Ticks);
            Assert.Equal(1500, fine.Requests);
        }
    }

    [Fact]
    public void Options_a_user_got_wrong_end_the_backtest()
    {
        var s = new EngineScenario([1, 2, 3], 2.5, 10, [1], 20, null, 1, 0);
        var wrong = s.Candidate("wrong", () => throw new InvalidOptionsException([new OptionError("floor", "must be >= 0")]));
        Assert.Throws<InvalidOptionsException>(() => Backtest.Run(s.Trace, s.Settings(), [s.Candidate("fine"), wrong]));
    }

    private static List<CandidateSpec> Candidates(EngineScenario s) =>
    [
        s.Candidate("a"),
        s.Candidate("b", () => new ScriptedPolicy(s.Script.Reverse().ToArray())),
        s.Candidate("c", () => new ScriptedPolicy()),
    ];

    private static bool Same(IReadOnlyList<CandidateResult> a, IReadOnlyList<CandidateResult> b) =>
        a.Count == b.Count && a.Zip(b).All(p => Json(p.First) == Json(p.Second));

    private static CandidateResult WithRank(CandidateResult alone, CandidateResult ranked) => alone with { Rank = ranked.Rank, OnParetoFront = ranked.OnParetoFront };

    private static string Json(CandidateResult r) => JsonSerializer.Serialize(r, JsonOptions);

    private static readonly JsonSerializerOptions JsonOptions = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>The scenario's trace written as a file of <paramref name="rowGroup"/>-row groups and streamed: one chunk per group.</summary>
    private static IReadOnlyList<CandidateResult> Streamed(EngineScenario s, IReadOnlyList<CandidateSpec> candidates, int rowGroup)
    {
        if (s.Arrivals.Length == 0)
        {
            return Backtest.Run(s.Trace, s.Settings(), candidates);
        }

        var path = Path.Combine(Path.GetTempPath(), $"scheduler-{Guid.NewGuid():N}.parquet");
        try
        {
            ParquetTrace.WriteIntervalCountsAsync(path, s.Trace.Start, s.Trace.Tick, s.Arrivals, rowGroup).GetAwaiter().GetResult();
            var reader = TraceReader.OpenAsync(path, s.Trace.Tick).GetAwaiter().GetResult();
            try
            {
                return Backtest.RunAsync(reader, s.Settings(), candidates, maxParallelism: 3).GetAwaiter().GetResult();
            }
            finally
            {
                reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
