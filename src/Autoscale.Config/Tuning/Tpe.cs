namespace Autoscale.Config.Tuning;

/// <summary>A small seeded generator (SplitMix64): the same draws for a seed on every machine and runtime.</summary>
internal sealed class SplitMix(ulong seed)
{
    private ulong _state = seed;

    public static ulong Mix(params long[] parts)
    {
        var state = 0x9E3779B97F4A7C15UL;
        foreach (var part in parts)
        {
            state = Scramble(state ^ (ulong)part);
        }

        return state;
    }

    public ulong Next()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Scramble(_state);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, n).</summary>
    public int NextInt(int n) => (int)(NextDouble() * n);

    /// <summary>Standard normal (Box-Muller).</summary>
    public double NextGaussian()
    {
        var u = 1 - NextDouble();
        var v = NextDouble();
        return Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
    }

    private static ulong Scramble(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>
/// A tree-structured Parzen estimator (Bergstra et al., NeurIPS 2011) over the unit cube of a tune space: the points seen
/// so far split into the best quarter and the rest; each side is a mixture of Gaussian kernels per option (with a uniform
/// prior), and the proposal that maximises the ratio of the good density to the bad one is taken. Options are modelled
/// independently, as in the original estimator.
/// </summary>
internal static class Tpe
{
    /// <summary>Proposals drawn per point chosen.</summary>
    private const int Draws = 24;

    /// <summary>The most good points the good density is built on.</summary>
    private const int MaxGood = 100;

    /// <summary>The most other points the other density is built on.</summary>
    private const int MaxBad = 300;

    /// <summary>The share of points counted as good.</summary>
    private const double Gamma = 0.25;

    /// <summary>
    /// Proposes a point (in unit coordinates) given <paramref name="observed"/> points best first; the proposals whose
    /// snapped point <paramref name="taken"/> already holds are skipped. Null when every draw was taken.
    /// </summary>
    public static double[]? Propose(IReadOnlyList<double[]> observed, int dimensions, SplitMix random, Func<double[], bool> taken)
    {
        // However many points were seen, the densities are built on at most MaxGood good ones and MaxBad others (the rest
        // sampled evenly): a proposal costs the same at any budget.
        var good = Math.Min(MaxGood, Math.Max(1, (int)Math.Ceiling(Gamma * observed.Count)));
        var goods = observed.Take(good).ToList();
        var rest = observed.Count - good;
        var stride = Math.Max(1, (int)Math.Ceiling((double)rest / MaxBad));
        var bads = observed.Skip(good).Where((_, i) => i % stride == 0).ToList();
        var sigmaGood = Bandwidth(goods.Count);
        var sigmaBad = Bandwidth(bads.Count);
        double[]? best = null;
        var bestScore = double.NegativeInfinity;
        for (var draw = 0; draw < Draws; draw++)
        {
            var x = new double[dimensions];

            // With probability 1 / (good + 1) a draw comes from the prior (uniform), as the estimator's mixture weights it.
            var fromPrior = random.NextDouble() < 1.0 / (goods.Count + 1);
            var centre = goods[random.NextInt(goods.Count)];
            for (var d = 0; d < dimensions; d++)
            {
                x[d] = fromPrior ? random.NextDouble() : Reflect(centre[d] + sigmaGood * random.NextGaussian());
            }

            if (taken(x))
            {
                continue;
            }

            var score = 0.0;
            for (var d = 0; d < dimensions; d++)
            {
                score += Math.Log(Density(goods, d, x[d], sigmaGood)) - Math.Log(Density(bads, d, x[d], sigmaBad));
            }

            if (score > bestScore)
            {
                (best, bestScore) = (x, score);
            }
        }

        return best;
    }

    /// <summary>A Latin hypercube of <paramref name="count"/> points: each option's range cut into as many strata, one point in each.</summary>
    public static List<double[]> LatinHypercube(int count, int dimensions, SplitMix random)
    {
        var points = Enumerable.Range(0, count).Select(_ => new double[dimensions]).ToList();
        for (var d = 0; d < dimensions; d++)
        {
            var strata = Enumerable.Range(0, count).ToArray();
            for (var i = count - 1; i > 0; i--)
            {
                var j = random.NextInt(i + 1);
                (strata[i], strata[j]) = (strata[j], strata[i]);
            }

            for (var i = 0; i < count; i++)
            {
                points[i][d] = (strata[i] + random.NextDouble()) / count;
            }
        }

        return points;
    }

    private static double Bandwidth(int n) => Math.Clamp(0.3 * Math.Pow(Math.Max(1, n), -0.2), 0.03, 0.3);

    /// <summary>The density at <paramref name="x"/>: the uniform prior and one kernel per point, equally weighted.</summary>
    private static double Density(List<double[]> points, int d, double x, double sigma)
    {
        var sum = 1.0;
        foreach (var p in points)
        {
            var z = (x - p[d]) / sigma;
            sum += Math.Exp(-0.5 * z * z) / (sigma * Math.Sqrt(2 * Math.PI));
        }

        return sum / (points.Count + 1);
    }

    private static double Reflect(double x)
    {
        x = Math.Abs(x) % 2;
        return x > 1 ? 2 - x : x;
    }
}
