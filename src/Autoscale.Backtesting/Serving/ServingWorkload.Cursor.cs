namespace Autoscale.Backtesting.Serving;

/// <summary>A workload's requests walked in arrival order.</summary>
public sealed partial class ServingWorkload
{
    /// <summary>Walks the requests in arrival order; allocation-free.</summary>
    internal sealed class Cursor
    {
        private readonly ServingWorkload _w;
        private readonly string _name;
        private long _ordinal;
        private long _tick = -1;
        private long _inTick;
        private long _tickCount;

        public Cursor(ServingWorkload workload, string name)
        {
            _w = workload;
            _name = name;
            Advance();
        }

        /// <summary>The arrival of the next request in nanoseconds after the start; long.MaxValue when none is left.</summary>
        public long Next { get; private set; }

        /// <summary>Takes the next request's tokens and moves on.</summary>
        public void Take(out int input, out int output)
        {
            long i, o;
            if (_w._arrivals is not null)
            {
                i = _w._input![_ordinal];
                o = _w._output![_ordinal];
            }
            else
            {
                var k = _tick;
                (i, o) = Tokens(_w._profile, _w._seed, _w._ordinalBase + _ordinal, Share(_w._tickInput, k), Share(_w._tickOutput, k), _name);
                Check(_name, _w.Start, _ordinal, Next, i, o, _w._profile);
                _inTick++;
            }

            input = (int)i;
            output = (int)o;
            _ordinal++;
            Advance();
        }

        private long? Share(long[]? totals, long k) =>
            totals is null ? null : Autoscale.Shared.IntervalRequests.Share(totals[k], _tickCount, _inTick);

        private void Advance()
        {
            if (_w._arrivals is not null)
            {
                Next = _ordinal < _w._arrivals.Length ? _w._arrivals[_ordinal] : long.MaxValue;
                return;
            }

            var counts = _w._tickCounts!;
            while (_tick < 0 || _inTick >= _tickCount)
            {
                if (++_tick >= counts.Length)
                {
                    Next = long.MaxValue;
                    return;
                }

                _inTick = 0;
                _tickCount = counts[_tick];
            }

            Next = (_tick * _w._tickNanos) + Autoscale.Shared.IntervalRequests.ArrivalOffset(_inTick, _tickCount, _w._tickNanos);
        }
    }
}
