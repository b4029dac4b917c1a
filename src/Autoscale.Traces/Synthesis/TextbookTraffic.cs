namespace Autoscale.Traces.Synthesis;

/// <summary>
/// The arrivals of the textbook's Code 23.6.1, regenerated bit for bit: each second, <c>3 x rate</c> draws of
/// CPython's <c>random()</c> (seeded with <c>random.seed(7)</c>), each under 1/3 a request; 40 req/s, 200 during
/// seconds 20 to 69, for 120 seconds.
/// </summary>
public static class TextbookTraffic
{
    /// <summary>Seconds simulated (the seed's <c>HORIZON</c>).</summary>
    public const int Horizon = 120;

    /// <summary>Requests per second before and after the spike.</summary>
    public const int BaseRps = 40;

    /// <summary>Requests per second during the spike.</summary>
    public const int SpikeRps = 200;

    /// <summary>First second of the spike.</summary>
    public const int SpikeStart = 20;

    /// <summary>First second after the spike.</summary>
    public const int SpikeEnd = 70;

    /// <summary>The seed of the textbook's <c>random.seed(7)</c>.</summary>
    public const int Seed = 7;

    /// <summary>One run's arrivals per second, from a fresh <c>random.seed(<paramref name="seed"/>)</c>.</summary>
    public static long[] Arrivals(int seed = Seed, int spikeRps = SpikeRps, int horizon = Horizon) =>
        Draw(new PythonRandom((ulong)seed), horizon, spikeRps);

    /// <summary>
    /// <paramref name="runs"/> runs' arrivals per second, one after another from one <c>random.seed(<paramref name="seed"/>)</c>:
    /// the stream continues from one run to the next, as the seed's Output 23.6.1 draws a run for each strategy in turn.
    /// </summary>
    public static IReadOnlyList<long[]> Runs(int runs, int seed = Seed, int spikeRps = SpikeRps, int horizon = Horizon)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(runs);
        var random = new PythonRandom((ulong)seed);
        var drawn = new List<long[]>(runs);
        for (var i = 0; i < runs; i++)
        {
            drawn.Add(Draw(random, horizon, spikeRps));
        }

        return drawn;
    }

    /// <summary>Draws one run's arrivals exactly as the seed's <c>arrivals(t)</c> does, continuing <paramref name="random"/>.</summary>
    internal static long[] Draw(PythonRandom random, int horizon = Horizon, int spikeRps = SpikeRps)
    {
        var arrivals = new long[horizon];
        for (var t = 0; t < horizon; t++)
        {
            var rate = t is >= SpikeStart and < SpikeEnd ? spikeRps : BaseRps;
            long count = 0;
            for (var i = 0; i < rate * 3; i++)
            {
                if (random.NextDouble() < 1.0 / 3.0)
                {
                    count++;
                }
            }

            arrivals[t] = count;
        }

        return arrivals;
    }
}
