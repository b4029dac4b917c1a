using Autoscale.Reporting;

namespace Autoscale.Cli.Commands;

/// <summary><c>--shard K/N</c>, as backtest and tune take it.</summary>
internal static class Shards
{
    /// <summary>(K, N) from <c>K/N</c>; (0, 0) when not sharded.</summary>
    /// <exception cref="UserInputException">Not K/N with 0 &lt;= K &lt; N, too many shards, or no <c>--out</c> to write the part into.</exception>
    public static (int Index, int Count) Parse(string? text, string? outDir, string command)
    {
        if (text is null)
        {
            return (0, 0);
        }

        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], out var k) || !int.TryParse(parts[1], out var n) || n < 1 || k < 0 || k >= n)
        {
            throw new UserInputException($"--shard: \"{text}\" must be K/N with 0 <= K < N (e.g. 0/4; JOB_COMPLETION_INDEX is K)");
        }

        if (n > PartialResults.MaxShards)
        {
            throw new UserInputException($"--shard: \"{text}\": at most {PartialResults.MaxShards} shards");
        }

        if (outDir is null)
        {
            throw new UserInputException($"--shard needs --out DIR: the shard's part of the {command} is written there for autoscale merge");
        }

        return (k, n);
    }
}
