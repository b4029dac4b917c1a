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

    /// <summary>Replicas by the end of their step, ties to the lowest index; each knows its slot, so it can be moved or removed.</summary>
    private sealed class ReplicaHeap
    {
        private Replica[] _items = new Replica[16];

        public int Count { get; private set; }

        public long PeekTime => _items[0].StepEnd;

        public void Push(Replica replica)
        {
            if (Count == _items.Length)
            {
                Array.Resize(ref _items, Count * 2);
            }

            Place(replica, Count++);
            Up(replica.HeapSlot);
        }

        public Replica Pop()
        {
            var top = _items[0];
            RemoveAt(0);
            return top;
        }

        public void Remove(Replica replica)
        {
            if (replica.HeapSlot >= 0)
            {
                RemoveAt(replica.HeapSlot);
            }
        }

        /// <summary>The replica's step now ends sooner.</summary>
        public void Decreased(Replica replica) => Up(replica.HeapSlot);

        private void RemoveAt(int slot)
        {
            var removed = _items[slot];
            var last = _items[--Count];
            _items[Count] = null!;
            removed.HeapSlot = -1;
            if (slot < Count)
            {
                Place(last, slot);
                Up(slot);
                Down(last.HeapSlot);
            }
        }

        private void Place(Replica replica, int slot)
        {
            _items[slot] = replica;
            replica.HeapSlot = slot;
        }

        private void Up(int i)
        {
            while (i > 0)
            {
                var parent = (i - 1) / 2;
                if (!Less(_items[i], _items[parent]))
                {
                    break;
                }

                Swap(i, parent);
                i = parent;
            }
        }

        private void Down(int i)
        {
            while (true)
            {
                var left = (2 * i) + 1;
                if (left >= Count)
                {
                    return;
                }

                var child = left + 1 < Count && Less(_items[left + 1], _items[left]) ? left + 1 : left;
                if (!Less(_items[child], _items[i]))
                {
                    return;
                }

                Swap(i, child);
                i = child;
            }
        }

        private void Swap(int a, int b)
        {
            var x = _items[a];
            Place(_items[b], a);
            Place(x, b);
        }

        private static bool Less(Replica a, Replica b) => a.StepEnd < b.StepEnd || (a.StepEnd == b.StepEnd && a.Index < b.Index);
    }
}
