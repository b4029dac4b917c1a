using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using NodaTime;

namespace Autoscale.Backtesting.Serving;

/// <summary>Request-level replay: a replica's state and the heap of replicas by the end of their step.</summary>
internal sealed partial class ServingRun
{
    private sealed class ByIndex : IComparer<Replica>
    {
        public static readonly ByIndex Instance = new();

        public int Compare(Replica? x, Replica? y) => x!.Index.CompareTo(y!.Index);
    }

    private sealed class Replica(int index, int maxSequences)
    {
        public int Index { get; } = index;

        public IntDeque Queue { get; } = new();

        public int[] Running { get; } = new int[maxSequences];

        public int RunCount;
        public long UsedBlocks;

        /// <summary>Its KV blocks by prefix key, with prefix caching (a new replica starts empty); null without.</summary>
        public PrefixCache? Cache;
        public long StepEnd = Idle;
        public long BusyUntil;
        public long ReadyAt;
        public long WarmupEnd;
        public long ReleasedAt;
        public long DrainDeadline;
        public bool Draining;

        /// <summary>Reclaimed or crashed (on a cluster), not released: at the deadline its running requests are retried or dropped.</summary>
        public bool Lost;
        public bool Gone;
        public bool PendingForm;
        public long RoutedAt = -1;
        public int RoutedNow;
        public long BatchStart;
        public long BatchStep;
        public double BatchNanos;
        public double BatchIncrement;
        public long BatchSteps;
        public int HeapSlot = -1;

        /// <summary>In the queue of idle replicas (it may have become busy since).</summary>
        public bool InIdle;
    }
}
