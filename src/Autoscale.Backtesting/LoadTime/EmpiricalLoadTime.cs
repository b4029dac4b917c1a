using System.Globalization;
using Autoscale.Traces;
using MathNet.Numerics.Distributions;
using NodaTime;
using Parquet;

namespace Autoscale.Backtesting.LoadTime;

/// <summary>
/// Load times drawn from measured cold starts: each start takes one of the observed durations (or a
/// draw from a log-normal fitted to them), chosen by a uniform keyed by the seed and the start's ordinal.
/// The nominal time policies plan with is the mean of the measurements.
/// </summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed class EmpiricalLoadTime : ISeededLoadTime
{
    private readonly double[] _seconds;
    private readonly LogNormal? _fit;
    private readonly long _seed;

    /// <summary>Creates the model from measured durations in seconds.</summary>
    /// <exception cref="InvalidOptionsException">No measurements, or one that is negative or not finite.</exception>
    public EmpiricalLoadTime(IReadOnlyList<double> seconds, bool fitLogNormal = false, long seed = 1)
    {
        if (seconds.Count == 0)
        {
            throw new InvalidOptionsException(["the measurements hold no durations"]);
        }

        var bad = seconds.Select((s, i) => (s, i)).FirstOrDefault(x => !(x.s is >= 0 and <= MaxSeconds));
        if (bad != default)
        {
            throw new InvalidOptionsException([$"duration {bad.i + 1} ({bad.s}) must be between 0 and {MaxSeconds} seconds (a week)"]);
        }

        _seconds = seconds.Order().ToArray();
        _seed = seed;
        if (fitLogNormal)
        {
            if (_seconds[0] <= 0 || _seconds.Length < 2)
            {
                throw new InvalidOptionsException(["a log-normal fit needs at least two durations, all > 0"]);
            }

            _fit = LogNormal.Estimate(_seconds);
        }

        ExpectedLoadTime = OptionDuration.FromSeconds(_fit?.Mean ?? _seconds.Average());
    }

    private EmpiricalLoadTime(EmpiricalLoadTime model, long seed)
    {
        _seconds = model._seconds;
        _fit = model._fit;
        ExpectedLoadTime = model.ExpectedLoadTime;
        _seed = seed;
    }

    /// <summary>The seed the draws are keyed by (the config's <c>engine.seed</c>; a replay uses its run's seed).</summary>
    public long Seed => _seed;

    ILoadTimeModel ISeededLoadTime.WithSeed(long seed) => seed == _seed ? this : new EmpiricalLoadTime(this, seed);

    /// <summary>The longest load a model draws: a week.</summary>
    public const double MaxSeconds = 604_800;

    /// <summary>The measurements, sorted.</summary>
    public IReadOnlyList<double> Measurements => _seconds;

    /// <inheritdoc />
    public Duration ExpectedLoadTime { get; }

    /// <inheritdoc />
    public Duration LoadDuration(long startOrdinal)
    {
        var u = Jitter.Uniform(_seed, startOrdinal, RandomStream.EmpiricalLoad);
        var seconds = _fit is { } fit ? Math.Min(MaxSeconds, fit.InverseCumulativeDistribution(u)) : _seconds[Math.Min(_seconds.Length - 1, (int)(u * _seconds.Length))];
        return OptionDuration.FromSeconds(seconds);
    }

    /// <summary>
    /// Reads measured durations in seconds: a CSV with a header naming <paramref name="column"/> (or a
    /// single column of numbers), or a Parquet file with a numeric <paramref name="column"/>.
    /// </summary>
    /// <exception cref="TraceFormatException">The file is missing, empty or malformed, naming the row.</exception>
    public static async Task<double[]> ReadMeasurementsAsync(string path, string column = "seconds", string? displayName = null)
    {
        var name = displayName ?? path;
        if (!File.Exists(path))
        {
            throw new TraceFormatException(name, Directory.Exists(path) ? "is a folder, not a file" : "no such file");
        }

        if (Path.GetExtension(path).Equals(".parquet", StringComparison.OrdinalIgnoreCase))
        {
            return await ReadParquetAsync(path, column, name).ConfigureAwait(false);
        }

        var lines = File.ReadAllLines(path).Select(l => l.Trim()).ToList();
        var start = 0;
        var index = 0;
        if (lines.Count > 0 && !double.TryParse(lines[0].Split(',')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
        {
            var header = lines[0].Split(',').Select(h => h.Trim()).ToArray();
            index = Array.FindIndex(header, h => h.Equals(column, StringComparison.OrdinalIgnoreCase));
            if (index < 0)
            {
                throw new TraceFormatException(name, $"missing column '{column}' (found: {string.Join(", ", header)})");
            }

            start = 1;
        }

        var values = new List<double>();
        for (var i = start; i < lines.Count; i++)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }

            var fields = lines[i].Split(',');
            if (index >= fields.Length || !double.TryParse(fields[index], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !(v is >= 0 and <= MaxSeconds))
            {
                throw new TraceFormatException(name, $"\"{lines[i]}\" is not a duration in seconds between 0 and {MaxSeconds} (line {i + 1})", column, i + 1 - start);
            }

            values.Add(v);
        }

        if (values.Count == 0)
        {
            throw new TraceFormatException(name, "no durations (expected a column of seconds)");
        }

        return values.ToArray();
    }

    private static async Task<double[]> ReadParquetAsync(string path, string column, string name)
    {
        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(path).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            throw new TraceFormatException(name, $"not a Parquet file ({e.Message.TrimEnd('.')})", inner: e);
        }

        await using (reader)
        {
            var field = reader.Schema.GetDataFields().FirstOrDefault(f => f.Name == column)
                ?? throw new TraceFormatException(name, $"missing column '{column}'");
            var values = new List<double>();
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var n = (int)group.RowCount;
                if (field.ClrType == typeof(double))
                {
                    var buffer = new double[n];
                    await group.ReadAsync<double>(field, buffer.AsMemory()).ConfigureAwait(false);
                    values.AddRange(buffer);
                }
                else if (field.ClrType == typeof(long))
                {
                    var buffer = new long[n];
                    await group.ReadAsync<long>(field, buffer.AsMemory()).ConfigureAwait(false);
                    values.AddRange(buffer.Select(x => (double)x));
                }
                else
                {
                    throw new TraceFormatException(name, $"must be a double or an integer, not {field.ClrType.Name}", column);
                }
            }

            if (values.Count == 0)
            {
                throw new TraceFormatException(name, "no durations");
            }

            return values.ToArray();
        }
    }
}
