using NodaTime;

namespace Autoscale.Policies.Predictive;

/// <summary>
/// A multiplicative Holt-Winters forecast (level times seasonal index, no trend) of each bucket's peak
/// arrival rate, with a daily season from the first full day of history and, optionally, a weekly
/// season once a full week has been seen. It learns only from what has happened: buckets close as time
/// passes, never ahead. Tracks its own error (WAPE and the spread of relative errors).
/// </summary>
/// <remarks>Not thread-safe; owned by one policy instance.</remarks>
public sealed class SeasonalForecaster
{
    private const double MinIndex = 0.01;

    private readonly long _bucketTicks;
    private readonly int _perDay;
    private readonly int _perWeek;
    private readonly double _alpha;
    private readonly double _gamma;
    private readonly bool _weekly;
    private readonly double[] _daily;
    private readonly double[] _weeklyIndex;

    private long _bucket = long.MinValue;
    private bool _firstBucket;
    private double _peak;
    private long _closed;
    private double _level;
    private double _squaredRelativeError;
    private double _absoluteError;
    private double _actual;
    private long _scored;

    /// <summary>Creates a forecaster on buckets of <paramref name="bucket"/>.</summary>
    public SeasonalForecaster(Duration bucket, double levelSmoothing, double seasonalSmoothing, bool weekly)
    {
        _bucketTicks = bucket.BclCompatibleTicks;
        _perDay = (int)(NodaConstants.TicksPerDay / _bucketTicks);
        _perWeek = _perDay * 7;
        _alpha = levelSmoothing;
        _gamma = seasonalSmoothing;
        _weekly = weekly;
        _daily = new double[_perDay];
        _weeklyIndex = weekly ? new double[_perWeek] : [];
    }

    /// <summary>Whether a full day has been seen, so forecasts are available.</summary>
    public bool Ready => _closed >= _perDay;

    /// <summary>Whether the weekly season is in use.</summary>
    public bool UsesWeek => _weekly && _closed >= _perWeek;

    /// <summary>Weighted absolute percentage error of the one-bucket-ahead forecasts so far (NaN before any).</summary>
    public double Wape => _actual > 0 ? _absoluteError / _actual : double.NaN;

    /// <summary>Buckets whose forecast has been scored.</summary>
    public long ScoredBuckets => _scored;

    /// <summary>The standard deviation of relative forecast errors (0 before any).</summary>
    public double RelativeErrorSpread => Math.Sqrt(_squaredRelativeError);

    /// <summary>Adds the arrivals of the interval that ended at <paramref name="now"/>.</summary>
    public void Observe(Instant now, Duration interval, long arrivals)
    {
        if (interval <= Duration.Zero)
        {
            return;
        }

        var bucket = Floor((now - interval).ToUnixTimeTicks(), _bucketTicks);
        if (bucket != _bucket)
        {
            // The first bucket is seen only from where the history starts: partial, so not learned from.
            if (_bucket != long.MinValue && !_firstBucket)
            {
                Close(_bucket, _peak);
            }

            _firstBucket = _bucket == long.MinValue;

            _bucket = bucket;
            _peak = 0;
        }

        _peak = Math.Max(_peak, arrivals / interval.TotalSeconds);
    }

    /// <summary>The forecast peak rate of the bucket holding <paramref name="instant"/>; only when <see cref="Ready"/>.</summary>
    public double Forecast(Instant instant) => ForecastBucket(Floor(instant.ToUnixTimeTicks(), _bucketTicks));

    /// <summary>The largest forecast over the buckets from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public double MaxForecast(Instant from, Instant to)
    {
        var first = Floor(from.ToUnixTimeTicks(), _bucketTicks);
        var last = Floor(to.ToUnixTimeTicks(), _bucketTicks);
        var max = 0.0;
        for (var b = first; b <= last; b++)
        {
            max = Math.Max(max, ForecastBucket(b));
        }

        return max;
    }

    private double ForecastBucket(long bucket) => _level * Index(bucket);

    private double Index(long bucket) => UsesWeek ? _weeklyIndex[Mod(bucket, _perWeek)] : _daily[Mod(bucket, _perDay)];

    private void Close(long bucket, double y)
    {
        var day = Mod(bucket, _perDay);
        var week = Mod(bucket, _perWeek);
        if (_closed < _perDay)
        {
            // The first day seeds the daily season with raw values; normalized when the day is complete.
            _daily[day] = y;
            if (_weekly)
            {
                _weeklyIndex[week] = y;
            }

            _closed++;
            if (_closed == _perDay)
            {
                _level = _daily.Average();
                for (var i = 0; i < _perDay; i++)
                {
                    _daily[i] = _level > 0 ? Math.Max(MinIndex, _daily[i] / _level) : 1;
                }
            }

            return;
        }

        Score(_level * Index(bucket), y);
        if (_weekly && _closed < _perWeek)
        {
            _weeklyIndex[week] = y; // raw until the first week is complete
        }

        var index = Math.Max(MinIndex, Index(bucket));
        var previousLevel = _level;
        // One odd bucket (an outage, a burst where the season says quiet) moves the level at most tenfold.
        var deseasonalized = y / index;
        if (_level > 0)
        {
            deseasonalized = Math.Clamp(deseasonalized, _level / 10, _level * 10);
        }

        _level = _alpha * deseasonalized + (1 - _alpha) * _level;
        var basis = Math.Max(1e-9, previousLevel);
        _daily[day] = Math.Max(MinIndex, _gamma * (y / basis) + (1 - _gamma) * _daily[day]);
        if (UsesWeek)
        {
            _weeklyIndex[week] = Math.Max(MinIndex, _gamma * (y / basis) + (1 - _gamma) * _weeklyIndex[week]);
        }

        _closed++;
        if (_weekly && _closed == _perWeek)
        {
            var mean = _weeklyIndex.Average();
            for (var i = 0; i < _perWeek; i++)
            {
                _weeklyIndex[i] = mean > 0 ? Math.Max(MinIndex, _weeklyIndex[i] / mean * (_level > 0 ? mean / _level : 1)) : 1;
            }
        }
    }

    private void Score(double forecast, double actual)
    {
        _absoluteError += Math.Abs(actual - forecast);
        _actual += actual;
        _scored++;
        var relative = (actual - forecast) / Math.Max(forecast, 1e-9);
        relative = Math.Clamp(relative, -1, 1);
        _squaredRelativeError = _scored == 1 ? relative * relative : 0.9 * _squaredRelativeError + 0.1 * relative * relative;
    }

    private static long Floor(long ticks, long size) => ticks >= 0 ? ticks / size : -((-ticks + size - 1) / size);

    private static int Mod(long value, int m) => (int)(((value % m) + m) % m);
}
