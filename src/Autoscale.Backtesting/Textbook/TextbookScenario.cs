using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Traces;
using Autoscale.Policies.Textbook;
using NodaTime;

namespace Autoscale.Backtesting.Textbook;

/// <summary>
/// The simulation of the textbook's Code 23.6.1 (Output 23.6.1), expressed as an ordinary backtest:
/// the seed's arrivals regenerated with <see cref="PythonRandom"/>, the <see cref="TextbookPolicy"/>,
/// a fixed 25 s load time, and the general <see cref="CandidateRun"/> engine.
/// </summary>
public static class TextbookScenario
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

    /// <summary>Requests per second one ready replica serves.</summary>
    public const double CapacityPerReplica = 30;

    /// <summary>Cold-start seconds.</summary>
    public const int LoadSeconds = 25;

    /// <summary>The SLO's maximum wait, seconds.</summary>
    public const double MaxWaitSeconds = 2;

    /// <summary>Always-on replicas.</summary>
    public const int BaseReplicas = 2;

    /// <summary>The seed of the textbook's <c>random.seed(7)</c>.</summary>
    public const int Seed = 7;

    /// <summary>The start given to the textbook trace (it has no real date): Monday 2026-01-05 00:00 UTC.</summary>
    public static Instant Start { get; } = Instant.FromUtc(2026, 1, 5, 0, 0);

    /// <summary>The two strategies of Output 23.6.1, in order: label and warm spares.</summary>
    public static IReadOnlyList<(string Label, int Spares)> Strategies { get; } =
    [
        ("cold-start autoscaling (0 spare)", 0),
        ("warm pool (6 spare replicas)", 6),
    ];

    /// <summary>Draws one run's arrivals exactly as the seed's <c>arrivals(t)</c> does, continuing <paramref name="random"/>.</summary>
    public static long[] DrawArrivals(PythonRandom random, int horizon = Horizon, int spikeRps = SpikeRps)
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

    /// <summary>The settings of the seed: 1 s tick, 2 s max wait, 30 req/s per replica.</summary>
    public static ReplaySettings Settings { get; } = new(
        new SloSettings(MaxWaitSeconds, 99.0),
        new ReplicaSettings(CapacityPerReplica, 1, 3.0),
        Duration.FromSeconds(1));

    /// <summary>A candidate of the textbook autoscaler with <paramref name="spares"/> warm spares.</summary>
    public static CandidateSpec Candidate(string name, int spares) =>
        new(name, () => new TextbookPolicy(new TextbookOptions { BaseReplicas = BaseReplicas, Spares = spares }), new FixedLoadTime(Duration.FromSeconds(LoadSeconds)))
        {
            PolicyName = "textbook",
        };

    /// <summary>
    /// Output 23.6.1: each strategy in turn on its own run of arrivals, the random stream continuing
    /// from one run to the next as in the seed.
    /// </summary>
    public static IReadOnlyList<CandidateResult> Reproduce()
    {
        var random = new PythonRandom(Seed);
        var results = new List<CandidateResult>();
        foreach (var (label, spares) in Strategies)
        {
            var trace = new TickTrace(Start, Duration.FromSeconds(1), DrawArrivals(random));
            results.Add(Backtest.RunOne(trace, Settings, Candidate(label, spares)));
        }

        return results;
    }

    /// <summary>Formats results as the seed prints them.</summary>
    public static string FormatTable(IEnumerable<CandidateResult> results)
    {
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        var text = new System.Text.StringBuilder();
        text.Append(ci, $"{"strategy",-34} {"requests",8} {"SLO_viol",9} {"viol_%",7} {"replicas_end",13}\n");
        foreach (var r in results)
        {
            var percent = (100.0 * r.Violations / r.Requests).ToString("F1", ci);
            text.Append(ci, $"{r.Name,-34} {r.Requests,8} {r.Violations,9} {percent,6}% {r.EndReplicas,13}\n");
        }

        return text.ToString();
    }
}
