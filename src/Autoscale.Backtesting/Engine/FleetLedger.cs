namespace Autoscale.Backtesting.Engine;

/// <summary>
/// What the fleet did: scale actions and flapping (a reversal of direction within five minutes of the
/// last action), the lag from a rise in demand to ready capacity that covers it, and billing by replica
/// lifetime when the billing granularity is coarser than a tick (per minute with a minimum, say).
/// </summary>
/// <remarks>Not thread-safe; owned by one run. Nothing is allocated per tick once its stack has grown.</remarks>
internal sealed class FleetLedger
{
    private const double FlapWindowSeconds = 300;
    private const double DemandSmoothingSeconds = 10;

    private readonly double _tickSeconds;
    private readonly double _capacityPerTick;
    private readonly double _alpha;
    private readonly double _granularity;
    private readonly double _minimum;
    private readonly bool _roundsLifetimes;
    private long[] _starts = new long[16];
    private int _live;
    private int _lastDirection;
    private long _lastActionTick = long.MinValue;
    private double _demand;
    private long _shortfallSince = -1;
    private double _lagTotal;
    private long _lagEpisodes;

    public FleetLedger(double tickSeconds, double capacityPerTick, double billingGranularitySeconds, double billingMinimumSeconds)
    {
        _tickSeconds = tickSeconds;
        _capacityPerTick = capacityPerTick;
        _alpha = 1 - Math.Exp(-tickSeconds / DemandSmoothingSeconds);
        _granularity = billingGranularitySeconds;
        _minimum = billingMinimumSeconds;
        _roundsLifetimes = billingGranularitySeconds > tickSeconds || billingMinimumSeconds > tickSeconds;
    }

    public long ScaleActions { get; private set; }

    public long Flaps { get; private set; }

    public double MaxLagSeconds { get; private set; }

    public double MeanLagSeconds => _lagEpisodes == 0 ? 0 : _lagTotal / _lagEpisodes;

    public long LagEpisodes => _lagEpisodes;

    /// <summary>Replica-seconds billed beyond the ticks each replica lived, from rounding up and minimums.</summary>
    public double RoundedExtraSeconds { get; private set; }

    /// <summary>Counts a decision that changes the fleet from <paramref name="before"/> to <paramref name="after"/> as a scale action (and a flap when it turns back soon).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Decided(long tick, int before, int after)
    {
        // Most decisions hold the fleet: checked inline, the rest out of line.
        if (after != before)
        {
            ScaleAction(tick, before, after);
        }
    }

    private void ScaleAction(long tick, int before, int after)
    {
        ScaleActions++;
        var direction = Math.Sign(after - before);
        if (_lastDirection != 0 && direction != _lastDirection && (tick - _lastActionTick) * _tickSeconds <= FlapWindowSeconds)
        {
            Flaps++;
        }

        _lastDirection = direction;
        _lastActionTick = tick;
    }

    /// <summary>Tracks demand against ready capacity at the end of a tick.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Observe(long tick, long arrivals, int ready)
    {
        _demand += _alpha * (arrivals - _demand);
        var short_ = _demand > ready * _capacityPerTick + 1e-9;
        if (short_ && _shortfallSince < 0)
        {
            _shortfallSince = tick;
        }
        else if (!short_ && _shortfallSince >= 0)
        {
            var lag = (tick - _shortfallSince) * _tickSeconds;
            _lagTotal += lag;
            _lagEpisodes++;
            MaxLagSeconds = Math.Max(MaxLagSeconds, lag);
            _shortfallSince = -1;
        }
    }

    public void Started(long tick, int count)
    {
        if (!_roundsLifetimes)
        {
            return;
        }

        for (var i = 0; i < count; i++)
        {
            if (_live == _starts.Length)
            {
                Array.Resize(ref _starts, _starts.Length * 2);
            }

            _starts[_live++] = tick;
        }
    }

    /// <summary>Replicas leave the fleet (cancelled or released): the newest first.</summary>
    public void Removed(long tick, int count)
    {
        if (!_roundsLifetimes)
        {
            return;
        }

        for (var i = 0; i < count && _live > 0; i++)
        {
            Bill((tick - _starts[--_live]) * _tickSeconds);
        }
    }

    public void Finish(long horizon)
    {
        if (_shortfallSince >= 0)
        {
            var lag = (horizon - _shortfallSince) * _tickSeconds;
            _lagTotal += lag;
            _lagEpisodes++;
            MaxLagSeconds = Math.Max(MaxLagSeconds, lag);
            _shortfallSince = -1;
        }

        Removed(horizon, _live);
    }

    private void Bill(double lived)
    {
        var billed = Math.Max(_minimum, _granularity > 0 ? RoundUp(lived, _granularity) : lived);
        RoundedExtraSeconds += Math.Max(0, billed - lived);
    }

    /// <summary>
    /// The smallest whole number of periods covering <paramref name="lived"/> (at least one for any lifetime): a lifetime
    /// that is an exact multiple, give or take floating-point noise, is not rounded up by a whole period.
    /// </summary>
    internal static double RoundUp(double lived, double period)
    {
        if (lived <= 0)
        {
            return 0;
        }

        var periods = Math.Ceiling(lived / period);
        if (periods > 1 && (periods - 1) * period >= lived - 1e-9 * period)
        {
            periods--;
        }

        return Math.Max(1, periods) * period;
    }
}
