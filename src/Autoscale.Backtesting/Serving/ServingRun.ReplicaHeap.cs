namespace Autoscale.Backtesting.Serving;

/// <summary>Request-level replay: the replicas by the end of their current step.</summary>
internal sealed partial class ServingRun
{
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
