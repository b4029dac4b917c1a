using Autoscale.Backtesting.Serving;
using Autoscale.Traces;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;

namespace Autoscale.Tests.Serving;

/// <summary>
/// An interval-count trace's token totals are shared out per tick and its first (largest) share is checked against
/// maxModelLen and the KV cache. The check passes most ticks on a bound in floating point before dividing exactly:
/// whatever the totals, it refuses exactly the ticks whose exact share breaks a limit, near the limits too.
/// </summary>
public sealed class TickShareCheckProperties
{
    private static readonly Instant Start = Instant.FromUtc(2026, 1, 5, 0, 0);

    [Property(MaxTest = 500)]
    public Property A_tick_is_refused_exactly_when_its_largest_share_breaks_a_limit() =>
        Prop.ForAll(
            // Shares on either side of maxModelLen and of the KV cache, each from any total that has that share: a share s of
            // n requests comes from a total of (s - 1) * n + 1 + r, r in [0, n).
            (from n in Gen.Choose(1, 40)
             from limit in Gen.Choose(2, 600)
             from inputShare in Gen.Choose(0, limit)
             from over in Gen.Choose(-2, 1)
             from inputRest in Gen.Choose(0, n - 1)
             from outputRest in Gen.Choose(0, n - 1)
             from blockPower in Gen.Choose(1, 4)
             from blocksOff in Gen.Choose(-1, 2)
             let outputShare = Math.Max(0, limit - inputShare + over)
             let block = 1 << blockPower
             select (N: (long)n, Limit: limit, Block: block,
                 Blocks: Math.Max(1, ((inputShare + Math.Max(1, outputShare) + block - 1) / block) + blocksOff),
                 Input: Total(inputShare, n, inputRest), Output: Total(outputShare, n, outputRest))).ToArbitrary(),
            c =>
            {
                var profile = new ServingProfile { BaseSeconds = 0.01, MaxModelLen = c.Limit, BlockTokens = c.Block, KvCacheTokens = (long)c.Blocks * c.Block };
                var trace = new TickTrace(Start, Duration.FromSeconds(1), [0, c.N]) { InputTokens = [0, c.Input], OutputTokens = [0, c.Output] };
                var share = ((c.Input + c.N - 1) / c.N, (c.Output + c.N - 1) / c.N);
                var blocksNeeded = (share.Item1 + Math.Max(1, share.Item2) + c.Block - 1) / c.Block;
                var refused = share.Item1 + share.Item2 > c.Limit || blocksNeeded > c.Blocks;
                var error = Record.Exception(() => ServingWorkload.FromTicks(trace, profile, seed: 1));
                return (refused == (error is ServingWorkloadException)).Label($"{c}: exact rule refuses {refused}, check threw {error?.Message ?? "nothing"}");
            });

    private static long Total(int share, int n, int rest) => share == 0 ? 0 : ((long)(share - 1) * n) + 1 + rest;

    [Fact]
    public void A_refused_tick_names_its_first_request_and_its_tokens()
    {
        var profile = new ServingProfile { BaseSeconds = 0.01, MaxModelLen = 1000 };
        // 3 requests share 2,000 input and 2 output tokens: the first takes 667 + 1 and fits; with 1,000 more input it is 1,001.
        var fits = new TickTrace(Start, Duration.FromSeconds(1), [5, 3]) { InputTokens = [10, 2_000], OutputTokens = [5, 2] };
        ServingWorkload.FromTicks(fits, profile, seed: 1);
        var breaks = new TickTrace(Start, Duration.FromSeconds(1), [5, 3]) { InputTokens = [10, 3_000], OutputTokens = [5, 2] };
        var error = Assert.Throws<ServingWorkloadException>(() => ServingWorkload.FromTicks(breaks, profile, seed: 1));
        Assert.Contains("request 6 ", error.Message);
        Assert.Contains("1000 input + 1 output = 1001 tokens, more than replica.serving.maxModelLen (1000)", error.Message);
    }
}
