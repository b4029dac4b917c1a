namespace Autoscale.Backtesting.Serving;

/// <summary>
/// One replica's KV blocks as vLLM's block pool keeps them with prefix caching: full prompt blocks are registered by
/// their key and shared by reference count; a block no request holds goes to the tail of the free queue and keeps its
/// key until it is taken from the head for new content (least recently freed first, a request's blocks freed last to
/// first, so a prefix's later blocks go before its earlier ones).
/// </summary>
/// <remarks>
/// Only counts are kept for blocks without a key: a run of them is one entry of the free queue. Blocks never used sit
/// before everything else at the head. Not thread-safe.
/// </remarks>
internal sealed class PrefixCache
{
    private const int None = -1;

    // Keys to blocks: open addressing with linear probing over a power-of-two table of block ids (-1 empty), deletion by
    // shifting the probe chain back (no tombstones); keys are well-mixed 64-bit values, never 0.
    private int[] _slots;
    private int _registered;
    private long[] _key;
    private int[] _refs;
    private long[] _run; // blocks of an anonymous run; 0 for a keyed block
    private int[] _prev;
    private int[] _next;
    private int _nodes;
    private readonly Stack<int> _spare = new();
    private int _head = None, _tail = None;
    private long _untouched;

    public PrefixCache(long blocks)
    {
        _untouched = blocks;
        Free = blocks;
        var nodes = (int)Math.Clamp(blocks + 1, 16, 1 << 16);
        _key = new long[nodes];
        _refs = new int[nodes];
        _run = new long[nodes];
        _prev = new int[nodes];
        _next = new int[nodes];
        _slots = new int[(int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)nodes * 2)];
        Array.Fill(_slots, None);
    }

    /// <summary>Blocks no request holds (never used, or free with or without a key).</summary>
    public long Free { get; private set; }

    /// <summary>Keys registered (held or free).</summary>
    public int Registered => _registered;

    /// <summary>The block registered under <paramref name="key"/>, if any.</summary>
    public bool TryFind(long key, out int block)
    {
        var mask = _slots.Length - 1;
        for (var i = (int)key & mask; ; i = (i + 1) & mask)
        {
            block = _slots[i];
            if (block == None)
            {
                return false;
            }

            if (_key[block] == key)
            {
                return true;
            }
        }
    }

    /// <summary>Registers <paramref name="block"/> under its key, unless the key is taken (false).</summary>
    private bool TryRegister(int block)
    {
        if ((_registered + 1) * 2 > _slots.Length)
        {
            Rehash(_slots.Length * 2);
        }

        var key = _key[block];
        var mask = _slots.Length - 1;
        var i = (int)key & mask;
        for (; _slots[i] != None; i = (i + 1) & mask)
        {
            if (_key[_slots[i]] == key)
            {
                return false;
            }
        }

        _slots[i] = block;
        _registered++;
        return true;
    }

    /// <summary>Removes <paramref name="key"/>'s entry, moving later entries of its probe chain back into the gap.</summary>
    private void Unregister(long key)
    {
        var mask = _slots.Length - 1;
        var i = (int)key & mask;
        while (_key[_slots[i]] != key)
        {
            i = (i + 1) & mask;
        }

        _registered--;
        var gap = i;
        for (var j = (gap + 1) & mask; _slots[j] != None; j = (j + 1) & mask)
        {
            var home = (int)_key[_slots[j]] & mask;
            // The entry at j may move into the gap when its home is not within (gap, j] going round.
            if (((j - home) & mask) >= ((j - gap) & mask))
            {
                _slots[gap] = _slots[j];
                gap = j;
            }
        }

        _slots[gap] = None;
    }

    private void Rehash(int size)
    {
        var old = _slots;
        _slots = new int[size];
        Array.Fill(_slots, None);
        var mask = size - 1;
        foreach (var block in old)
        {
            if (block != None)
            {
                var i = (int)_key[block] & mask;
                while (_slots[i] != None)
                {
                    i = (i + 1) & mask;
                }

                _slots[i] = block;
            }
        }
    }

    /// <summary>Whether <paramref name="block"/> is free (taking it costs a free block).</summary>
    public bool IsFree(int block) => _refs[block] == 0;

    /// <summary>A request takes a reference to a registered block (off the free queue if it was there).</summary>
    public void Claim(int block)
    {
        if (_refs[block]++ == 0)
        {
            Unlink(block);
            Free--;
        }
    }

    /// <summary>Takes one free block from the head for a full prompt block of <paramref name="key"/>: registered under it, or, when the key is already taken, without one (-1).</summary>
    public int TakeKeyed(long key)
    {
        PopHead();
        return RegisterHeld(key);
    }

    /// <summary>
    /// A block a request already holds without a key is now full of prompt tokens: registered under
    /// <paramref name="key"/> (the request holds it as before), or, when the key is already taken, still without one (-1).
    /// </summary>
    public int RegisterHeld(long key)
    {
        var node = NewNode(key, 0);
        if (!TryRegister(node))
        {
            _spare.Push(node);
            return None;
        }

        _refs[node] = 1;
        return node;
    }

    /// <summary>Takes <paramref name="blocks"/> free blocks from the head for content without a key (decode tokens, a prompt's last partial block).</summary>
    public void TakeAnonymous(long blocks)
    {
        for (var k = 0L; k < blocks; k++)
        {
            PopHead();
        }
    }

    /// <summary>A request lets go of a registered block: at no references it joins the free queue's tail, key kept.</summary>
    public void Release(int block)
    {
        if (--_refs[block] == 0)
        {
            Append(block);
            Free++;
        }
    }

    /// <summary>A request lets go of a block it held without a key, now registered under <paramref name="key"/> (unless taken) as it joins the free queue's tail.</summary>
    public void ReleaseKeyed(long key)
    {
        var node = NewNode(key, 0);
        if (!TryRegister(node))
        {
            _spare.Push(node);
            ReleaseAnonymous(1);
            return;
        }

        Append(node);
        Free++;
    }

    /// <summary>A request lets go of <paramref name="blocks"/> blocks without a key: they join the free queue's tail.</summary>
    public void ReleaseAnonymous(long blocks)
    {
        if (blocks <= 0)
        {
            return;
        }

        Free += blocks;
        if (_tail != None && _run[_tail] > 0)
        {
            _run[_tail] += blocks;
            return;
        }

        Append(NewNode(0, blocks));
    }

    /// <summary>Takes the block at the head of the free queue; a registered one loses its key (evicted).</summary>
    private void PopHead()
    {
        if (Free <= 0)
        {
            throw new InvalidOperationException("no free KV block (the caller checks the room first)");
        }

        Free--;
        if (_untouched > 0)
        {
            _untouched--;
            return;
        }

        var node = _head;
        if (_run[node] > 1)
        {
            _run[node]--;
            return;
        }

        Unlink(node);
        if (_run[node] == 0)
        {
            Unregister(_key[node]);
        }

        _run[node] = 0;
        _spare.Push(node);
    }

    private int NewNode(long key, long run)
    {
        int node;
        if (_spare.Count > 0)
        {
            node = _spare.Pop();
        }
        else
        {
            if (_nodes == _key.Length)
            {
                var size = _key.Length * 2;
                Array.Resize(ref _key, size);
                Array.Resize(ref _refs, size);
                Array.Resize(ref _run, size);
                Array.Resize(ref _prev, size);
                Array.Resize(ref _next, size);
            }

            node = _nodes++;
        }

        _key[node] = key;
        _run[node] = run;
        _refs[node] = 0;
        _prev[node] = _next[node] = None;
        return node;
    }

    private void Append(int node)
    {
        _prev[node] = _tail;
        _next[node] = None;
        if (_tail != None)
        {
            _next[_tail] = node;
        }
        else
        {
            _head = node;
        }

        _tail = node;
    }

    private void Unlink(int node)
    {
        var (p, n) = (_prev[node], _next[node]);
        if (p != None)
        {
            _next[p] = n;
        }
        else
        {
            _head = n;
        }

        if (n != None)
        {
            _prev[n] = p;
        }
        else
        {
            _tail = p;
        }

        _prev[node] = _next[node] = None;
    }
}
