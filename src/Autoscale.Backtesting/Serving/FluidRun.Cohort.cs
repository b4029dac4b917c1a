namespace Autoscale.Backtesting.Serving;

/// <summary>Fluid replay: a cohort of requests that arrived together, and the queue of those waiting.</summary>
internal sealed partial class FluidRun
{
    /// <summary>
    /// A share of the requests that arrived together, with their mean tokens. The fields of one phase share the bytes of
    /// another's (waiting: <see cref="Since"/>; in prefill: <see cref="Admitted"/>, <see cref="Done"/>; decoding:
    /// <see cref="FirstToken"/>, <see cref="Entered"/>, <see cref="Finish"/>): a cohort is 64 bytes, and a phase's field
    /// is written when the cohort enters the phase.
    /// </summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit)]
    internal struct Cohort
    {
        [System.Runtime.InteropServices.FieldOffset(0)]
        public double Count;

        [System.Runtime.InteropServices.FieldOffset(8)]
        public double Input;

        [System.Runtime.InteropServices.FieldOffset(16)]
        public double Output;

        [System.Runtime.InteropServices.FieldOffset(24)]
        public double Arrival;

        [System.Runtime.InteropServices.FieldOffset(32)]
        public double LateShare;

        /// <summary>While waiting: the arrival of the earliest tick merged into the cohort.</summary>
        [System.Runtime.InteropServices.FieldOffset(40)]
        public double Since;

        /// <summary>In prefill: when it was admitted.</summary>
        [System.Runtime.InteropServices.FieldOffset(40)]
        public double Admitted;

        /// <summary>Decoding: when its first token came.</summary>
        [System.Runtime.InteropServices.FieldOffset(40)]
        public double FirstToken;

        /// <summary>In prefill: the fraction of the prompt prefilled so far (0 while waiting).</summary>
        [System.Runtime.InteropServices.FieldOffset(48)]
        public double Done;

        /// <summary>Decoding: the decode clock (tokens per sequence since the start) when the cohort began decoding.</summary>
        [System.Runtime.InteropServices.FieldOffset(48)]
        public double Entered;

        /// <summary>Decoding: the decode clock at which it ends.</summary>
        [System.Runtime.InteropServices.FieldOffset(56)]
        public double Finish;

        /// <summary>Waiting and in prefill: the prompt tokens each request computes (its input less what the prefix cache is expected to hold).</summary>
        [System.Runtime.InteropServices.FieldOffset(56)]
        public double Compute;
    }

    /// <summary>A first-in, first-out ring of cohorts; grows, never shrinks.</summary>
    private sealed class CohortQueue
    {
        private Cohort[] _items = new Cohort[64];
        private int _head;

        public int Count { get; private set; }

        public ref Cohort Head => ref _items[_head];

        public ref Cohort Tail => ref _items[(_head + Count - 1) & (_items.Length - 1)];

        /// <summary>The <paramref name="i"/>-th cohort from the head.</summary>
        public ref Cohort At(int i) => ref _items[(_head + i) & (_items.Length - 1)];

        public void Push(in Cohort c) => PushSlot() = c;

        /// <summary>Appends a slot at the tail for the caller to fill; the reference stays valid until the next push.</summary>
        public ref Cohort PushSlot()
        {
            if (Count == _items.Length)
            {
                var grown = new Cohort[_items.Length * 2];
                for (var i = 0; i < Count; i++)
                {
                    grown[i] = _items[(_head + i) & (_items.Length - 1)];
                }

                _items = grown;
                _head = 0;
            }

            ref var slot = ref _items[(_head + Count) & (_items.Length - 1)];
            Count++;
            return ref slot;
        }

        /// <summary>Removes the head; the reference stays valid until the next <see cref="Push"/>.</summary>
        public ref Cohort Pop()
        {
            ref var c = ref _items[_head];
            _head = (_head + 1) & (_items.Length - 1);
            Count--;
            return ref c;
        }
    }
}
