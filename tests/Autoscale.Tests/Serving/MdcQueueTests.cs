using Autoscale.Backtesting.Serving;
using Xunit;

namespace Autoscale.Tests.Serving;

/// <summary>
/// With one sequence per replica, a shared queue, identical one-token requests and no per-token cost, each replica is a
/// deterministic server of the step's base time: a fixed fleet under Poisson arrivals is an M/D/c queue.
/// </summary>
public sealed class MdcQueueTests
{
    [Theory]
    [InlineData(1, 0.7)]
    [InlineData(2, 0.8)]
    [InlineData(4, 0.85)]
    public void The_mean_wait_approaches_the_m_d_c_mean_wait(int servers, double utilisation)
    {
        const double service = 0.1;
        var lambda = utilisation * servers / service;
        var random = new Random(17);
        const int count = 60_000;
        var arrivals = new long[count];
        double t = 0;
        for (var i = 0; i < count; i++)
        {
            t += -Math.Log(1 - random.NextDouble()) / lambda;
            arrivals[i] = (long)(t * 1e9);
        }

        var profile = ServingFixtures.Profile(baseSeconds: service, perPrefill: 0, perDecode: 0, maxSequences: 1, routing: ServingRouting.SharedQueue);
        var workload = ServingFixtures.Workload(profile, arrivals, [.. Enumerable.Repeat(10, count)], [.. Enumerable.Repeat(1, count)]);
        var run = new ServingRun(ServingFixtures.Fixed(servers), ServingFixtures.Settings(profile), workload, recordRequests: true);
        run.Run();
        var meanWait = Enumerable.Range(0, count).Average(r => (run.FirstTokenAt(r) - arrivals[r]) / 1e9 - service);

        var expected = MdcMeanWait(servers, lambda, 1 / service);

        // Cosmetatos's approximation is within a few percent at these loads; the simulation's own noise is about as much.
        Assert.InRange(meanWait, expected * 0.9, expected * 1.1);
    }

    /// <summary>The M/D/c mean wait by Cosmetatos's correction of the M/M/c (Erlang C) wait.</summary>
    private static double MdcMeanWait(int c, double lambda, double mu)
    {
        var a = lambda / mu;
        var rho = a / c;
        double sum = 0, term = 1;
        for (var k = 0; k < c; k++)
        {
            if (k > 0)
            {
                term *= a / k;
            }

            sum += term;
        }

        var last = term * a / c / (1 - rho);
        var erlangC = last / (sum + last);
        var mmc = erlangC / ((c * mu) - lambda);
        var correction = 0.5 * (1 + ((1 - rho) * (c - 1) * (Math.Sqrt(4 + (5 * c)) - 2) / (16 * rho * c)));
        return correction * mmc;
    }
}
