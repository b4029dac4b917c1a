namespace Autoscale.Backtesting.Serving;

/// <summary>A double-ended queue of request indices (a ring that grows), allocation-free once grown.</summary>
internal sealed class IntDeque
{
    private int[] _items = new int[16];
    private int _head;

    public int Count { get; private set; }

    public void PushBack(int value)
    {
        Grow();
        _items[(_head + Count) & (_items.Length - 1)] = value;
        Count++;
    }

    public void PushFront(int value)
    {
        Grow();
        _head = (_head - 1) & (_items.Length - 1);
        _items[_head] = value;
        Count++;
    }

    public int PeekFront() => _items[_head];

    public int PopFront()
    {
        var value = _items[_head];
        _head = (_head + 1) & (_items.Length - 1);
        Count--;
        return value;
    }

    public int PopBack()
    {
        Count--;
        return _items[(_head + Count) & (_items.Length - 1)];
    }

    private void Grow()
    {
        if (Count < _items.Length)
        {
            return;
        }

        var bigger = new int[_items.Length * 2];
        for (var i = 0; i < Count; i++)
        {
            bigger[i] = _items[(_head + i) & (_items.Length - 1)];
        }

        _items = bigger;
        _head = 0;
    }
}
