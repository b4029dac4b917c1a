namespace Autoscale.Backtesting.Serving;

/// <summary>Request-level replay: prefix caching, the KV blocks a request finds, takes and lets go of on its replica.</summary>
internal sealed partial class ServingRun
{
    /// <summary>The key of request <paramref name="r"/>'s full prompt block <paramref name="j"/>.</summary>
    private long Key(int r, int j) => _keys!.BlockKey((int)_ordinal[r], j, _p.BlockTokens, _p.HashBlockTokens);

    /// <summary>Request <paramref name="r"/>'s full prompt blocks (the only ones with a key).</summary>
    private int FullPromptBlocks(int r) => _input[r] / _p.BlockTokens;

    /// <summary>
    /// The leading prompt blocks of request <paramref name="r"/> (holding none yet) that <paramref name="replica"/> has
    /// cached, into <c>_found</c>, and how many of them are free (taking them costs free blocks). At least the prompt's last
    /// token is computed, as vLLM does, so a prompt wholly cached still yields its first token from a step.
    /// </summary>
    private (int Hits, int FromFree) FindCached(Replica replica, int r)
    {
        var cache = replica.Cache!;
        var most = Math.Max(0, _input[r] - 1) / _p.BlockTokens;
        if (_found.Length < most)
        {
            _found = new int[Math.Max(most, _found.Length * 2)];
        }

        int hits = 0, fromFree = 0;
        while (hits < most && cache.TryFind(Key(r, hits), out var block))
        {
            _found[hits++] = block;
            fromFree += cache.IsFree(block) ? 1 : 0;
        }

        return (hits, fromFree);
    }

    /// <summary>Request <paramref name="r"/> takes the <paramref name="hits"/> blocks found: its prompt up to them is computed.</summary>
    private void ClaimCached(Replica replica, int r, int hits)
    {
        var cache = replica.Cache!;
        var held = Held(r);
        var free = cache.Free;
        for (var j = 0; j < hits; j++)
        {
            cache.Claim(_found[j]);
            held[j] = _found[j];
        }

        _blocks[r] = hits;
        _keyedTo[r] = hits;
        _progress[r] = hits * _p.BlockTokens;
        _promptTokens += _input[r];
        _cachedPromptTokens += (long)hits * _p.BlockTokens;
        AddUsed(replica, free - cache.Free);
    }

    /// <summary>
    /// Request <paramref name="r"/> takes <paramref name="count"/> more blocks (the caller made room) to hold
    /// <paramref name="tokens"/> tokens. A prompt block is registered by its key once it is full (as BLIS hashes a block
    /// when its last token is scheduled): a block a prefill chunk ends in is held without a key until a later chunk fills it.
    /// </summary>
    private void Grow(Replica replica, int r, long count, long tokens)
    {
        if (count <= 0 && (replica.Cache is null || _keyedTo[r] >= FullPromptBlocks(r)))
        {
            // Nothing to take and every full prompt block has its key (a decode step, mostly): nothing to do.
            return;
        }

        if (replica.Cache is { } cache)
        {
            var prompt = FullPromptBlocks(r);
            var full = (int)Math.Min(prompt, tokens / _p.BlockTokens);
            var shared = Math.Min(full, _keys!.SharedBlocks((int)_ordinal[r], _p.BlockTokens));
            var held = Held(r);
            var anonymous = 0L;
            var end = _blocks[r] + count;

            // Blocks held from before that this chunk fills: registered now (unless their key is taken).
            for (var j = _keyedTo[r]; j < Math.Min(shared, _blocks[r]); j++)
            {
                held[j] = held[j] < 0 ? cache.RegisterHeld(Key(r, j)) : held[j];
            }

            // A request's own blocks (past its group's prefix) are held without a key: no other request can find them,
            // and it finds them again only after a preemption, which registers them as it frees them. So are a prompt's
            // blocks not yet full, and every block past the prompt.
            for (var j = _blocks[r]; j < end; j++)
            {
                if (j < shared)
                {
                    held[j] = cache.TakeKeyed(Key(r, j));
                    continue;
                }

                if (j < prompt)
                {
                    held[j] = -1;
                }

                anonymous++;
            }

            _keyedTo[r] = Math.Max(_keyedTo[r], full);
            cache.TakeAnonymous(anonymous);
        }

        if (count <= 0)
        {
            return;
        }

        _blocks[r] += (int)count;
        AddUsed(replica, count);
        System.Diagnostics.Debug.Assert(replica.Cache is null || replica.UsedBlocks == _blocksPerReplica - replica.Cache.Free, "the used blocks are the cache's");
    }

    /// <summary>Request <paramref name="r"/> lets go of its blocks: how many the replica no longer uses (a block another request holds stays in use).</summary>
    private long ReleaseCached(Replica replica, int r, bool preempted)
    {
        var blocks = _blocks[r];
        if (replica.Cache is not { } cache)
        {
            return blocks;
        }

        // Last to first: the blocks past the prompt's full ones, then the prompt's from its end. A preempted request's own
        // full prompt blocks are freed with their keys, as every full prompt block is in vLLM, for it to find them again.
        var free = cache.Free;
        var full = Math.Min(blocks, FullPromptBlocks(r));
        cache.ReleaseAnonymous(blocks - full);
        var held = _held[r];
        var filled = _keyedTo[r];
        for (var j = full - 1; j >= 0; j--)
        {
            if (held[j] < 0 && preempted && j < filled)
            {
                cache.ReleaseKeyed(Key(r, j));
            }
            else if (held[j] < 0)
            {
                cache.ReleaseAnonymous(1);
            }
            else
            {
                cache.Release(held[j]);
            }
        }

        return cache.Free - free;
    }

    /// <summary>Request slot <paramref name="r"/>'s table of held prompt blocks, long enough for its prompt.</summary>
    private int[] Held(int r)
    {
        var full = FullPromptBlocks(r);
        var held = _held[r];
        if (held is null || held.Length < full)
        {
            held = _held[r] = new int[Math.Max(full, (held?.Length ?? 0) * 2)];
        }

        return held;
    }
}
