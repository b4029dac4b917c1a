namespace Autoscale.Traces;

/// <summary>
/// What a batch of a request log's requests shares with other requests, for prefix caching: either each request's
/// prefix group and the prompt tokens it shares with the group, or each request's prompt block hashes.
/// </summary>
/// <remarks>Arrays are indexed like the batch's requests. Immutable once handed out.</remarks>
public sealed class RequestPrefixes
{
    /// <summary>Prefix groups and shared tokens per request.</summary>
    /// <param name="groups">Each request's group; null for a request in no group.</param>
    /// <param name="tokens">Each request's shared leading prompt tokens (0 in no group).</param>
    public RequestPrefixes(string?[] groups, long[] tokens)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(tokens);
        if (groups.Length != tokens.Length)
        {
            throw new ArgumentException("groups and tokens must have the same length");
        }

        Groups = groups;
        Tokens = tokens;
    }

    /// <summary>Block hashes per request.</summary>
    /// <param name="hashIds">Each request's prompt block hashes, in prompt order.</param>
    public RequestPrefixes(long[][] hashIds)
    {
        ArgumentNullException.ThrowIfNull(hashIds);
        HashIds = hashIds;
    }

    /// <summary>Each request's prefix group, null for none (with <see cref="Tokens"/>); null when the trace gives block hashes.</summary>
    public string?[]? Groups { get; }

    /// <summary>Each request's prompt tokens shared with its group; null when the trace gives block hashes.</summary>
    public long[]? Tokens { get; }

    /// <summary>Each request's prompt block hashes; null when the trace gives prefix groups.</summary>
    public long[][]? HashIds { get; }

    /// <summary>Requests in the batch.</summary>
    public int Count => HashIds?.Length ?? Groups!.Length;

    /// <summary>The requests in the order <paramref name="order"/> gives (positions into this batch).</summary>
    internal RequestPrefixes Permute(int[] order) => HashIds is { } h
        ? new RequestPrefixes(order.Select(i => h[i]).ToArray())
        : new RequestPrefixes(order.Select(i => Groups![i]).ToArray(), order.Select(i => Tokens![i]).ToArray());

    /// <summary>Requests [<paramref name="from"/>, <paramref name="to"/>).</summary>
    internal RequestPrefixes Slice(int from, int to) => HashIds is { } h
        ? new RequestPrefixes(h[from..to])
        : new RequestPrefixes(Groups![from..to], Tokens![from..to]);

    /// <summary>The batches' requests one after the other (all of one kind).</summary>
    internal static RequestPrefixes Concat(IReadOnlyList<RequestPrefixes> batches) => batches[0].HashIds is not null
        ? new RequestPrefixes(batches.SelectMany(b => b.HashIds!).ToArray())
        : new RequestPrefixes(batches.SelectMany(b => b.Groups!).ToArray(), batches.SelectMany(b => b.Tokens!).ToArray());
}
