using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using Autoscale.Policies.Fixed;
using Autoscale.Traces;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;

namespace Autoscale.Tests.Backtesting;

/// <summary>
/// The count replay of a fixed fleet against a plain model of README.md's tick (requests queue in arrival order, the
/// fleet serves whole requests from the head with a fractional remainder carried while requests wait, requests older
/// than the client timeout leave): every count, the idle capacity and the wait percentiles agree. The engine's shortcuts
/// (a tick served without the queue, the signal built in place) must give what the plain model gives.
/// </summary>
public sealed class CountReplayOracleProperties
{
    [Property(MaxTest = 300)]
    public Property A_fixed_fleet_replays_as_the_plain_model_does() =>
        Prop.ForAll(Scenarios(), s =>
        {
            var (arrivals, capacity, replicas, timeout) = s;
            var settings = new ReplaySettings(new SloSettings(NodaTime.Duration.FromSeconds(2), 99, OptionDuration.FromSeconds(timeout)), new ReplicaSettings(capacity, 1, 3), Duration.FromSeconds(1), 50);
            var candidate = new CandidateSpec("fixed", () => new FixedPolicy(new FixedOptions { Replicas = replicas }), new FixedLoadTime(Duration.Zero));
            var r = Backtest.RunOne(new TickTrace(EngineScenario.Start, Duration.FromSeconds(1), arrivals), settings, candidate);
            var m = Model(arrivals, capacity * replicas, capacity, lateAfter: 2, dropAfter: timeout is { } d ? (long)d : long.MaxValue);
            return (r.Requests == m.Requests && r.Served == m.Served && r.Late == m.Late && r.Dropped == m.Dropped && r.QueuedAtEnd == m.Queued
                    && Math.Abs(r.IdleReplicaSeconds - m.IdleSeconds) <= 1e-9 * Math.Max(1, m.IdleSeconds)
                    && r.WaitP50Seconds == m.Percentile(50) && r.WaitP95Seconds == m.Percentile(95) && r.WaitP99Seconds == m.Percentile(99) && r.WaitMaxSeconds == m.Max)
                .Label($"engine: served {r.Served} late {r.Late} dropped {r.Dropped} queued {r.QueuedAtEnd} idle {r.IdleReplicaSeconds} p50/95/99/max {r.WaitP50Seconds}/{r.WaitP95Seconds}/{r.WaitP99Seconds}/{r.WaitMaxSeconds}; "
                    + $"model: served {m.Served} late {m.Late} dropped {m.Dropped} queued {m.Queued} idle {m.IdleSeconds} p50/95/99/max {m.Percentile(50)}/{m.Percentile(95)}/{m.Percentile(99)}/{m.Max}");
        });

    private static Arbitrary<(long[] Arrivals, double Capacity, int Replicas, double? Timeout)> Scenarios() =>
        (from length in Gen.Choose(0, 300)
         from arrivals in Gen.ArrayOf(Gen.Frequency((4, Gen.Choose(0, 20)), (1, Gen.Choose(0, 300))), length)
         from capacity in Gen.Elements(0.4, 1.0, 2.5, 7.0, 30.0)
         from replicas in Gen.Choose(0, 5)
         from timeout in Gen.Elements<double?>(null, null, 3, 10)
         select (arrivals.Select(a => (long)a).ToArray(), capacity, replicas, timeout)).ToArbitrary();

    /// <summary>The plain model: a list of (arrival tick, count) buckets, oldest first.</summary>
    private static Outcome Model(long[] arrivals, double perTick, double capacity, long lateAfter, long dropAfter)
    {
        var queue = new List<(long Tick, long Count)>();
        var waits = new SortedDictionary<long, long>();
        var o = new Outcome(waits);
        double carry = 0;
        void Wait(long wait, long n) => waits[wait] = waits.GetValueOrDefault(wait) + n;
        for (long t = 0; t < arrivals.Length; t++)
        {
            o.Requests += arrivals[t];
            if (arrivals[t] > 0)
            {
                queue.Add((t, arrivals[t]));
            }

            var depth = queue.Sum(b => b.Count);
            var budget = perTick + carry;
            var whole = Math.Floor(budget);
            long serve;
            if (whole >= depth)
            {
                serve = depth;
                o.IdleSeconds += (budget - depth) / capacity;
                carry = 0;
            }
            else
            {
                serve = (long)whole;
                carry = budget - whole;
            }

            while (serve > 0)
            {
                var (tick, count) = queue[0];
                var n = Math.Min(count, serve);
                serve -= n;
                o.Served += n;
                Wait(t - tick, n);
                o.Late += t - tick > lateAfter ? n : 0;
                if (n == count)
                {
                    queue.RemoveAt(0);
                }
                else
                {
                    queue[0] = (tick, count - n);
                }
            }

            while (queue.Count > 0 && t - queue[0].Tick > dropAfter)
            {
                o.Dropped += queue[0].Count;
                Wait(t - queue[0].Tick, queue[0].Count);
                queue.RemoveAt(0);
            }
        }

        foreach (var (tick, count) in queue)
        {
            var age = arrivals.Length - tick;
            o.Queued += count;
            o.Late += age > lateAfter ? count : 0;
            Wait(age, count);
        }

        return o;
    }

    private sealed class Outcome(SortedDictionary<long, long> waits)
    {
        public long Requests, Served, Late, Dropped, Queued;
        public double IdleSeconds;

        public double Max => waits.Count == 0 ? 0 : waits.Keys.Max();

        /// <summary>Nearest rank: the least wait with at least ceil(p% of all) requests at or below it.</summary>
        public double Percentile(double p)
        {
            var total = waits.Values.Sum();
            if (total == 0)
            {
                return 0;
            }

            var rank = Math.Max(1, (long)Math.Ceiling(p / 100.0 * total));
            long seen = 0;
            foreach (var (wait, n) in waits)
            {
                seen += n;
                if (seen >= rank)
                {
                    return wait;
                }
            }

            return waits.Keys.Max();
        }
    }
}
