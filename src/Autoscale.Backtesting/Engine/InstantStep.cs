using System.Runtime.CompilerServices;
using NodaTime;

namespace Autoscale.Backtesting.Engine;

/// <summary>
/// Moves an <see cref="Instant"/> held in a field forward by a fixed step, in place: what <c>instant += step</c> gives,
/// without its cost per decision. NodaTime's operator returns the 16-byte value in two registers, and storing it back
/// into the field (two 8-byte writes read at once as one 16-byte value) stalled the count replay on every decision.
/// </summary>
/// <remarks>
/// An <see cref="Instant"/> is a whole number of days since the Unix epoch (an <see cref="int"/>) and the nanoseconds
/// into the day (a <see cref="long"/>). That layout is NodaTime's own, not promised, so it is checked once, on real
/// values; where it does not hold, or the step is a day or more, or the sum would leave NodaTime's range, the operator
/// is used, with its checks.
/// </remarks>
internal readonly struct InstantStep
{
    private const long NanosPerDay = 86_400_000_000_000L;

    /// <summary>Whether NodaTime's layout is the one this step writes (checked once, on real values).</summary>
    internal static readonly bool LayoutHolds = CheckLayout();
    private static readonly int MinDays = DaysOf(Instant.MinValue);
    private static readonly int MaxDays = DaysOf(Instant.MaxValue);

    private readonly Duration _step;
    private readonly long _stepNanos;

    // The range's ends copied in: read from the statics, every step checked that their class was initialized (the
    // native build cannot initialize a class whose initializer runs code ahead of time), and that showed in the profile.
    private readonly int _minDays;
    private readonly int _maxDays;

    /// <summary>A step of <paramref name="step"/>.</summary>
    public InstantStep(Duration step)
    {
        _step = step;
        _stepNanos = LayoutHolds && step >= Duration.Zero && step < Duration.FromDays(1) ? step.ToInt64Nanoseconds() : -1;
        _minDays = MinDays;
        _maxDays = MaxDays;
    }

    /// <summary>Moves <paramref name="instant"/> one step forward, as <c>instant += step</c> does.</summary>
    /// <exception cref="OverflowException">The sum is past <see cref="Instant.MaxValue"/> (as NodaTime throws it).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Advance(ref Instant instant)
    {
        ref var bits = ref Unsafe.As<Instant, Bits>(ref instant);
        if (_stepNanos < 0 || bits.Days >= _maxDays || bits.Days < _minDays)
        {
            instant += _step;
            return;
        }

        var nanos = bits.NanoOfDay + _stepNanos;
        if (nanos >= NanosPerDay)
        {
            bits.Days++;
            nanos -= NanosPerDay;
        }

        bits.NanoOfDay = nanos;
    }

    private static int DaysOf(Instant instant) => Unsafe.As<Instant, Bits>(ref instant).Days;

    private static bool CheckLayout()
    {
        if (Unsafe.SizeOf<Instant>() != Unsafe.SizeOf<Bits>())
        {
            return false;
        }

        // Before and after the epoch, at the start and the end of a day.
        foreach (var nanos in new[] { 0L, 1L, NanosPerDay - 1, NanosPerDay, (20_000 * NanosPerDay) + 123_456_789, (-3 * NanosPerDay) + 5 })
        {
            var instant = Instant.FromUnixTimeTicks(nanos / 100);
            var bits = Unsafe.As<Instant, Bits>(ref instant);
            var expected = nanos / 100 * 100;
            var days = Math.DivRem(expected, NanosPerDay, out var rest);
            if (rest < 0)
            {
                days--;
                rest += NanosPerDay;
            }

            if (bits.Days != days || bits.NanoOfDay != rest)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>NodaTime's layout of an instant: days since the epoch, then nanoseconds into the day.</summary>
    private struct Bits
    {
        public int Days;
        public long NanoOfDay;
    }
}
