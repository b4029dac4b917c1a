using System.Collections;

namespace Autoscale.Backtesting.Engine;

/// <summary>Lines of text (warnings), compared by value so results stay value-equal records.</summary>
/// <remarks>Immutable; safe to share between threads.</remarks>
public sealed class TextList : IReadOnlyList<string>, IEquatable<TextList>
{
    private readonly string[] _items;

    /// <summary>Copies <paramref name="items"/>.</summary>
    public TextList(IEnumerable<string> items)
    {
        _items = items.ToArray();
    }

    /// <summary>No lines.</summary>
    public static TextList Empty { get; } = new([]);

    /// <inheritdoc />
    public int Count => _items.Length;

    /// <inheritdoc />
    public string this[int index] => _items[index];

    /// <inheritdoc />
    public IEnumerator<string> GetEnumerator() => ((IEnumerable<string>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    /// <inheritdoc />
    public bool Equals(TextList? other) => other is not null && _items.SequenceEqual(other._items, StringComparer.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as TextList);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var item in _items)
        {
            hash.Add(item, StringComparer.Ordinal);
        }

        return hash.ToHashCode();
    }
}
