using Autoscale.Traces;

namespace Autoscale.Backtesting.Serving;

/// <summary>
/// What each request of a workload shares with others for prefix caching, as keys of its full prompt KV blocks: two
/// blocks with the same key hold the same tokens after the same prefix (vLLM's chained block hashes).
/// </summary>
/// <remarks>
/// From <c>hash_ids</c>: each hash covers <c>hashBlockTokens</c> prompt tokens; hashes are chained (a block's key depends
/// on every hash before it), and a KV block is keyed by its hash block's chained key and its place in it. From prefix
/// groups: the blocks wholly within a request's <c>prefix_tokens</c> are keyed by its group and place; every other block
/// is keyed by the request itself (found again only by that request, prefilled again after a preemption). Immutable.
/// </remarks>
internal sealed class PrefixKeys
{
    private const ulong Salt = 0x51_7C_C1_B7_27_22_0A_95UL;

    // Hashes: each request's chained keys, one per hash block. Groups: each request's group key (0 for none) and shared tokens.
    private readonly long[][]? _chains;
    private readonly long[]? _groups;
    private readonly int[]? _shared;

    private PrefixKeys(long[][]? chains, long[]? groups, int[]? shared)
    {
        _chains = chains;
        _groups = groups;
        _shared = shared;
    }

    /// <summary>Requests described.</summary>
    public int Count => _chains?.Length ?? _groups!.Length;

    /// <summary>The key of request <paramref name="r"/>'s full prompt KV block <paramref name="j"/> of <paramref name="blockTokens"/> tokens.</summary>
    public long BlockKey(int r, int j, int blockTokens, int hashBlockTokens)
    {
        if (_chains is not null)
        {
            var perHash = hashBlockTokens / blockTokens;
            var chain = _chains[r];
            var h = j / perHash;
            return h < chain.Length ? Mix((ulong)chain[h], (ulong)(j % perHash)) : Own(r, j);
        }

        return _groups![r] != 0 && (long)(j + 1) * blockTokens <= _shared![r] ? Mix((ulong)_groups[r], (ulong)j) : Own(r, j);
    }

    /// <summary>
    /// How many of request <paramref name="r"/>'s leading full prompt blocks another request can share: those within its
    /// group's prefix; with block hashes, all (any hash may be another request's). The rest are its own: found again only
    /// by itself after a preemption.
    /// </summary>
    public int SharedBlocks(int r, int blockTokens) => _chains is not null ? int.MaxValue : _groups![r] == 0 ? 0 : _shared![r] / blockTokens;

    /// <summary>
    /// For the fluid replay: each request's prompt tokens a fleet-wide cache that never evicts would hold when it arrives
    /// (whole blocks, at most all but the last token), and how many earlier requests began with its first block.
    /// </summary>
    public (int[] Reusable, int[] Earlier) Reuse(int[] input, int blockTokens, int hashBlockTokens)
    {
        var reusable = new int[Count];
        var earlier = new int[Count];
        var seen = new HashSet<long>();
        var starts = new Dictionary<long, int>();
        var longest = new Dictionary<long, int>();
        for (var r = 0; r < Count; r++)
        {
            var most = Math.Max(0, input[r] - 1) / blockTokens * blockTokens;
            long first;
            int tokens;
            if (_chains is not null)
            {
                var chain = _chains[r];
                var k = 0;
                while (k < chain.Length && seen.Contains(chain[k]))
                {
                    k++;
                }

                foreach (var key in chain)
                {
                    seen.Add(key);
                }

                tokens = (int)Math.Min((long)k * hashBlockTokens, int.MaxValue);
                first = chain.Length > 0 ? chain[0] : 0;
            }
            else
            {
                first = _groups![r];
                var shared = _shared![r] / blockTokens * blockTokens;
                tokens = first == 0 ? 0 : Math.Min(shared, longest.GetValueOrDefault(first));
                if (first != 0)
                {
                    longest[first] = Math.Max(longest.GetValueOrDefault(first), shared);
                }
            }

            reusable[r] = Math.Min(tokens / blockTokens * blockTokens, most);
            if (first != 0)
            {
                earlier[r] = starts.GetValueOrDefault(first);
                starts[first] = earlier[r] + 1;
            }
        }

        return (reusable, earlier);
    }

    /// <summary>Requests [<paramref name="from"/>, <paramref name="to"/>) as a workload of their own.</summary>
    public PrefixKeys Slice(int from, int to) => new(_chains?[from..to], _groups?[from..to], _shared?[from..to]);

    private static long Own(int r, int j) => Mix((ulong)Mix(Salt, (ulong)r + 1), (ulong)j);

    private static long Mix(ulong a, ulong b)
    {
        var x = unchecked((a * 0x9E3779B97F4A7C15UL) ^ (b + 0xBF58476D1CE4E5B9UL));
        x = unchecked((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL);
        x = unchecked((x ^ (x >> 27)) * 0x94D049BB133111EBUL);
        x ^= x >> 31;
        return unchecked((long)(x | 1)); // never 0, the "no group" key
    }

    /// <summary>Builds the keys batch by batch as a request log is read.</summary>
    internal sealed class Builder
    {
        private readonly List<long[]> _chains = [];
        private readonly List<long> _groups = [];
        private readonly List<int> _shared = [];
        private readonly Dictionary<string, long> _groupKeys = new(StringComparer.Ordinal);
        private bool? _hashes;

        /// <summary>
        /// Adds a batch's prefixes; <paramref name="input"/> gives each request's input tokens, which shared tokens may not
        /// pass, unless the tokens were drawn from the profile (<paramref name="drawn"/>): then a shorter prompt shares all it has.
        /// </summary>
        /// <exception cref="ServingWorkloadException">A request shares more tokens than the trace gives its prompt.</exception>
        public void Add(RequestPrefixes prefixes, ReadOnlySpan<int> input, string name, long firstOrdinal, bool drawn = false)
        {
            _hashes ??= prefixes.HashIds is not null;
            for (var i = 0; i < prefixes.Count; i++)
            {
                if (prefixes.HashIds is { } hashes)
                {
                    var ids = hashes[i];
                    var chain = new long[ids.Length];
                    ulong previous = Salt;
                    for (var k = 0; k < ids.Length; k++)
                    {
                        previous = (ulong)Mix(previous, (ulong)ids[k]);
                        chain[k] = (long)previous;
                    }

                    _chains.Add(chain);
                    continue;
                }

                var group = prefixes.Groups![i];
                var tokens = drawn ? Math.Min(prefixes.Tokens![i], input[i]) : prefixes.Tokens![i];
                if (tokens > input[i])
                {
                    throw new ServingWorkloadException($"{name}: request {firstOrdinal + i + 1} has {tokens} prefix_tokens, more than its {input[i]} input tokens");
                }

                if (group is null)
                {
                    _groups.Add(0);
                }
                else
                {
                    if (!_groupKeys.TryGetValue(group, out var key))
                    {
                        key = Mix(Salt ^ 0xA5A5UL, (ulong)_groupKeys.Count + 1); // by first appearance: the same in every run
                        _groupKeys[group] = key;
                    }

                    _groups.Add(key);
                }

                _shared.Add((int)tokens);
            }
        }

        public PrefixKeys? Build() => _hashes switch
        {
            null => null,
            true => new PrefixKeys([.. _chains], null, null),
            false => new PrefixKeys(null, [.. _groups], [.. _shared]),
        };
    }
}
