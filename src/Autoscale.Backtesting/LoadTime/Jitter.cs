using MathNet.Numerics.Distributions;

namespace Autoscale.Backtesting.LoadTime;

/// <summary>
/// The named streams of the replay's seeded draws: each kind of draw its own, so that adding draws of one kind never
/// shifts another's. The numbers are the stream ids the draws have always used, so every seed gives the numbers it gave.
/// </summary>
internal enum RandomStream
{
    /// <summary>A load's log-normal jitter (phased load times).</summary>
    LoadJitter = 0,

    /// <summary>A load time drawn from measurements (empirical load times).</summary>
    EmpiricalLoad = 7,

    /// <summary>When a spot node is reclaimed.</summary>
    SpotReclaim = 101,

    /// <summary>When a replica crashes.</summary>
    ReplicaCrash = 202,

    /// <summary>A node pool's stock-outs: the first pool's stream; pool i uses this plus i.</summary>
    PoolStockout = 300,
}

/// <summary>
/// Seeded draws keyed by (seed, start ordinal, stream): each start gets its own numbers, so one more
/// start does not reshuffle the others, and nothing is allocated per draw.
/// </summary>
internal static class Jitter
{
    /// <summary>A uniform double in (0, 1) for the key.</summary>
    public static double Uniform(long seed, long ordinal, RandomStream stream, int offset = 0)
    {
        var x = SplitMix((ulong)seed * 0x9E3779B97F4A7C15UL ^ SplitMix((ulong)ordinal + 0x632BE59BD9B4E019UL * (ulong)((int)stream + offset + 1)));
        return ((x >> 11) + 0.5) / 9007199254740992.0;
    }

    /// <summary>How far the normal draw behind a log-normal factor may go, in standard deviations (1 draw in 16,000 is cut there).</summary>
    public const double MaxDeviations = 4;

    /// <summary>
    /// A log-normal factor with mean 1 and log-space standard deviation <paramref name="sigma"/> (1 when sigma is 0); its
    /// normal draw is cut at <see cref="MaxDeviations"/>, so a load time stays finite whatever the draw.
    /// </summary>
    public static double LogNormalFactor(double sigma, long seed, long ordinal, RandomStream stream)
    {
        if (sigma <= 0)
        {
            return 1;
        }

        var z = Math.Clamp(Normal.InvCDF(0, 1, Uniform(seed, ordinal, stream)), -MaxDeviations, MaxDeviations);
        return Math.Exp(sigma * z - sigma * sigma / 2);
    }

    private static ulong SplitMix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
