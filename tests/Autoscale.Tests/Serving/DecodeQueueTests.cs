using Autoscale.Backtesting.Serving;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Autoscale.Tests.Serving;

/// <summary>
/// The fluid replay's decoding cohorts leave by their end on the decode clock and, among equal ends, in the order they
/// began decoding, whether few are in flight (a sorted run) or many (a heap), and across the switches between the two.
/// </summary>
public sealed class DecodeQueueTests
{
    [Property(MaxTest = 200)]
    public Property Cohorts_leave_by_end_then_by_the_order_they_began() =>
        Prop.ForAll(
            // Each step stages and commits some cohorts (ends from a few values, so equal ends are common, or spread), then pops some.
            (from spread in Gen.Elements(3, 1000)
             from steps in (from add in Gen.Choose(0, 40)
                            from pop in Gen.Choose(0, 40)
                            from ends in Gen.Choose(0, spread).ArrayOf(add)
                            select (ends, pop)).ArrayOf()
             select steps).ToArbitrary(),
            steps =>
            {
                var queue = new FluidRun.DecodeQueue();
                var reference = new List<(double End, long Order)>();
                long order = 0;
                var wrong = new List<string>();
                foreach (var (ends, pops) in steps)
                {
                    foreach (var end in ends)
                    {
                        ref var c = ref queue.Stage();
                        c = default;
                        c.Finish = end;
                        c.Count = order;
                        reference.Add((end, order++));
                    }

                    queue.CommitStaged();
                    reference.Sort();
                    if (reference.Count > 0 && queue.MaxFinish != Math.Max(0, reference[^1].End))
                    {
                        wrong.Add($"max finish {queue.MaxFinish}, expected {reference[^1].End}");
                    }

                    for (var k = 0; k < pops && reference.Count > 0; k++)
                    {
                        Assert.Equal(reference[0].End, queue.PeekFinish);
                        ref var c = ref queue.Pop();
                        if ((c.Finish, (long)c.Count) != reference[0])
                        {
                            wrong.Add($"popped ({c.Finish}, {c.Count}), expected {reference[0]}");
                        }

                        reference.RemoveAt(0);
                    }

                    if (queue.Count != reference.Count)
                    {
                        wrong.Add($"count {queue.Count}, expected {reference.Count}");
                    }

                    var inFlight = Enumerable.Range(0, queue.Count).Select(i => (long)queue.At(i).Count).Order().ToList();
                    if (!inFlight.SequenceEqual(reference.Select(r => r.Order).Order()))
                    {
                        wrong.Add("the cohorts in flight are not the ones expected");
                    }
                }

                return (wrong.Count == 0).Label(string.Join("\n", wrong.Take(3)));
            });
}
