namespace Autoscale.Traces;

/// <summary>
/// The share of prompt tokens a perfect prefix cache (one that never evicts, shared by every request) could serve: for
/// block hashes, a request's leading hash blocks some earlier request had with the same hashes before them (each of
/// <c>hashBlockTokens</c> tokens, the last capped at the prompt); for prefix groups, the tokens it shares with the
/// longest prefix its group has shown so far.
/// </summary>
internal sealed class PrefixReuse(int hashBlockTokens = 512)
{
    private readonly HashSet<(long Prefix, long Hash)> _seen = [];
    private readonly Dictionary<string, long> _longest = new(StringComparer.Ordinal);
    private long _prompt, _reusable;
    private bool _promptKnown = true;

    /// <summary>Adds a batch of requests in arrival order (input tokens where the trace has them).</summary>
    public void Add(RequestPrefixes prefixes, long[]? input)
    {
        for (var i = 0; i < prefixes.Count; i++)
        {
            if (prefixes.HashIds is { } all)
            {
                var hashes = all[i];
                var prompt = input?[i] ?? (long)hashes.Length * hashBlockTokens;
                long chain = 0, reusable = 0;
                var matching = true;
                for (var k = 0; k < hashes.Length; k++)
                {
                    var key = (chain, hashes[k]);
                    matching &= _seen.Contains(key);
                    if (matching)
                    {
                        reusable = Math.Min(prompt, (long)(k + 1) * hashBlockTokens);
                    }
                    else
                    {
                        _seen.Add(key);
                    }

                    chain = unchecked((chain * 0x100000001B3L) ^ hashes[k]);
                }

                _prompt += prompt;
                _reusable += reusable;
                continue;
            }

            if (input is null)
            {
                _promptKnown = false;
                continue;
            }

            _prompt += input[i];
            if (prefixes.Groups![i] is { } group)
            {
                var tokens = prefixes.Tokens![i];
                _longest.TryGetValue(group, out var longest);
                _reusable += Math.Min(tokens, longest);
                _longest[group] = Math.Max(longest, tokens);
            }
        }
    }

    /// <summary>Reusable prompt tokens over prompt tokens (0 to 1); null when the prompt sizes are unknown (prefix groups without input tokens).</summary>
    public double? Share => !_promptKnown ? null : _prompt > 0 ? (double)_reusable / _prompt : 0;
}
