namespace Autoscale.Backtesting.Serving;

/// <summary>Fluid replay: the queue of decoding cohorts, in the order they finish.</summary>
internal sealed partial class FluidRun
{
    /// <summary>
    /// Decoding cohorts in the order they finish: by the decode clock at which they end, and among equal ends in the order
    /// they began decoding (so any arrangement of them leaves in one order). Entries (end, order, slot) over a pool of
    /// cohorts, so a move is 24 bytes, not a cohort. While few are in flight they are a sorted run: a new one goes in from
    /// the back (interval counts' cohorts mostly end after those before them) and the earliest leaves from the front. Past
    /// <see cref="ToHeapAbove"/> the run becomes a binary heap (a sorted run is one already), and below
    /// <see cref="ToSortedBelow"/> a sorted run again, so many requests of a log in flight cost a logarithm, not a shift.
    /// </summary>
    internal sealed class DecodeQueue
    {
        private const int ToHeapAbove = 64;
        private const int ToSortedBelow = 16;

        private Entry[] _entries = new Entry[128];
        private int _first;
        private bool _heap;
        private long _order;
        private Cohort[] _pool = new Cohort[64];
        private int[] _free = [];
        private int _freeCount;
        private int[] _staged = new int[16];
        private int _stagedCount;
        private int _used;

        public int Count { get; private set; }

        public double PeekFinish => _entries[_first].Finish;

        /// <summary>The cohort at position <paramref name="i"/> (any order; its finish must not change).</summary>
        public ref Cohort At(int i) => ref _pool[_entries[_first + i].Slot];

        /// <summary>The latest finish in flight, or 0 when it is earlier (or none is).</summary>
        public double MaxFinish
        {
            get
            {
                if (!_heap)
                {
                    return Count > 0 ? Math.Max(0, _entries[_first + Count - 1].Finish) : 0;
                }

                // A leaf of the heap holds it.
                var max = 0.0;
                for (var i = Count / 2; i < Count; i++)
                {
                    max = Math.Max(max, _entries[i].Finish);
                }

                return max;
            }
        }

        /// <summary>Cohorts staged to join at the next <see cref="CommitStaged"/>.</summary>
        public int StagedCount => _stagedCount;

        /// <summary>The <paramref name="i"/>-th staged cohort, in the order staged.</summary>
        public ref Cohort Staged(int i) => ref _pool[_staged[i]];

        /// <summary>
        /// A pool slot for a cohort that joins at the next <see cref="CommitStaged"/> (its finish set by then); the reference
        /// stays valid until the next stage.
        /// </summary>
        public ref Cohort Stage()
        {
            int slot;
            if (_freeCount > 0)
            {
                slot = _free[--_freeCount];
            }
            else
            {
                if (_used == _pool.Length)
                {
                    Array.Resize(ref _pool, _pool.Length * 2);
                }

                slot = _used++;
            }

            if (_stagedCount == _staged.Length)
            {
                Array.Resize(ref _staged, _staged.Length * 2);
            }

            _staged[_stagedCount++] = slot;
            return ref _pool[slot];
        }

        /// <summary>The staged cohorts join, in the order staged.</summary>
        public void CommitStaged()
        {
            for (var k = 0; k < _stagedCount; k++)
            {
                var slot = _staged[k];
                Insert(_pool[slot].Finish, _order++, slot);
            }

            _stagedCount = 0;
        }

        private void Insert(double finish, long order, int slot)
        {
            if (_first + Count == _entries.Length)
            {
                if (_first > 0)
                {
                    Array.Copy(_entries, _first, _entries, 0, Count);
                    _first = 0;
                }
                else
                {
                    Array.Resize(ref _entries, _entries.Length * 2);
                }
            }

            var entries = _entries;
            var i = _first + Count;
            Count++;
            if (!_heap)
            {
                // The newest of equal ends leaves last: it goes behind every end not later than its own.
                while (i > _first && finish < entries[i - 1].Finish)
                {
                    entries[i] = entries[i - 1];
                    i--;
                }

                entries[i].Set(finish, order, slot);
                if (Count > ToHeapAbove)
                {
                    // A sorted run from index 0 is a heap as it stands.
                    Array.Copy(entries, _first, entries, 0, Count);
                    _first = 0;
                    _heap = true;
                }

                return;
            }

            while (i > 0)
            {
                var parent = (i - 1) / 2;
                if (!Before(finish, order, entries[parent]))
                {
                    break;
                }

                entries[i] = entries[parent];
                i = parent;
            }

            entries[i].Set(finish, order, slot);
        }

        /// <summary>Removes the earliest finish; the reference stays valid until the next <see cref="Stage"/>.</summary>
        public ref Cohort Pop()
        {
            var entries = _entries;
            int slot;
            if (!_heap)
            {
                slot = entries[_first].Slot;
                Count--;
                _first = Count == 0 ? 0 : _first + 1;
            }
            else
            {
                slot = entries[0].Slot;
                var count = --Count;
                var last = entries[count];
                var i = 0;
                while (true)
                {
                    var child = (2 * i) + 1;
                    if (child >= count)
                    {
                        break;
                    }

                    if (child + 1 < count && Before(entries[child + 1], entries[child]))
                    {
                        child++;
                    }

                    if (!Before(entries[child], last))
                    {
                        break;
                    }

                    entries[i] = entries[child];
                    i = child;
                }

                if (count > 0)
                {
                    entries[i] = last;
                }

                if (count < ToSortedBelow)
                {
                    // Few left: a sorted run again (insertion sort; ends with their order are all distinct).
                    for (var k = 1; k < count; k++)
                    {
                        var e = entries[k];
                        var j = k;
                        while (j > 0 && Before(e, entries[j - 1]))
                        {
                            entries[j] = entries[j - 1];
                            j--;
                        }

                        entries[j] = e;
                    }

                    _heap = false;
                }
            }

            if (_freeCount == _free.Length)
            {
                Array.Resize(ref _free, Math.Max(64, _free.Length * 2));
            }

            _free[_freeCount++] = slot;
            return ref _pool[slot];
        }

        private static bool Before(in Entry a, in Entry b) => Before(a.Finish, a.Order, b);

        /// <summary>Whether an entry (<paramref name="finish"/>, <paramref name="order"/>) leaves before <paramref name="b"/>.</summary>
        private static bool Before(double finish, long order, in Entry b) => finish < b.Finish || (finish == b.Finish && order < b.Order);

        /// <summary>A decoding cohort's place: its end on the decode clock, the order it began decoding, its pool slot (written in place).</summary>
        private struct Entry
        {
            public double Finish;
            public long Order;
            public int Slot;

            public void Set(double finish, long order, int slot) => (Finish, Order, Slot) = (finish, order, slot);
        }
    }
}
