using System.Collections;

namespace Autoscale.Backtesting.Engine;

/// <summary>Named figures in name order, compared by value (so results stay value-equal records).</summary>
/// <remarks>Immutable; safe to share between threads.</remarks>
public sealed class MetricSet : IReadOnlyDictionary<string, double>, IEquatable<MetricSet>
{
    private readonly SortedDictionary<string, double> _values;

    /// <summary>Copies <paramref name="values"/>.</summary>
    public MetricSet(IEnumerable<KeyValuePair<string, double>> values)
    {
        _values = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, value) in values)
        {
            _values[key] = value;
        }
    }

    /// <summary>No figures.</summary>
    public static MetricSet Empty { get; } = new([]);

    /// <inheritdoc />
    public int Count => _values.Count;

    /// <inheritdoc />
    public IEnumerable<string> Keys => _values.Keys;

    /// <inheritdoc />
    public IEnumerable<double> Values => _values.Values;

    /// <inheritdoc />
    public double this[string key] => _values[key];

    /// <inheritdoc />
    public bool ContainsKey(string key) => _values.ContainsKey(key);

    /// <inheritdoc />
    public bool TryGetValue(string key, out double value) => _values.TryGetValue(key, out value);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, double>> GetEnumerator() => _values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public bool Equals(MetricSet? other) => other is not null && _values.SequenceEqual(other._values);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as MetricSet);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var (key, value) in _values)
        {
            hash.Add(key);
            hash.Add(value);
        }

        return hash.ToHashCode();
    }
}
