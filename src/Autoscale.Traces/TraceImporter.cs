using System.Globalization;
using NodaTime;
using NodaTime.Text;

namespace Autoscale.Traces;

/// <summary>What an import wrote.</summary>
/// <param name="Shape">Interval counts or a request log.</param>
/// <param name="Rows">Rows written.</param>
/// <param name="Requests">Requests in the trace.</param>
/// <param name="TimestampField">The field the timestamps came from.</param>
/// <param name="HasTokens">Whether token columns were written.</param>
public sealed record ImportSummary(TraceShape Shape, long Rows, long Requests, string TimestampField, bool HasTokens);

/// <summary>
/// Turns a user's CSV or JSON Lines file into a Parquet trace: a request log (one record per request,
/// sorted by time on the way) or interval counts (a requests field; timestamps must increase).
/// Timestamps are ISO-8601 text, <c>YYYY-MM-DD HH:MM:SS[.fffffff]</c> (UTC), or numbers: Unix epoch
/// times in the given unit, or offsets from <see cref="TraceImportOptions.Start"/>.
/// </summary>
public static class TraceImporter
{
    private static readonly InstantPattern[] TextPatterns =
    [
        InstantPattern.ExtendedIso,
        InstantPattern.CreateWithInvariantCulture("uuuu-MM-dd HH:mm:ss.FFFFFFFFF"),
        InstantPattern.CreateWithInvariantCulture("uuuu-MM-dd'T'HH:mm:ss.FFFFFFFFF"),
        InstantPattern.CreateWithInvariantCulture("uuuu-MM-dd HH:mm:ss.FFFFFFFFF'Z'"),
    ];

    /// <summary>Imports <paramref name="input"/> into the Parquet trace <paramref name="output"/> (written atomically).</summary>
    /// <exception cref="TraceFormatException">A missing field or a bad row, named with its column, row and line.</exception>
    public static async Task<ImportSummary> ImportAsync(string input, string output, TraceImportOptions options, string? displayName = null, CancellationToken cancellationToken = default)
    {
        var name = displayName ?? input;
        if (!File.Exists(input))
        {
            throw new TraceFormatException(name, Directory.Exists(input) ? "is a folder, not a file" : "no such file");
        }

        if (options.Format == ImportFormat.Mooncake)
        {
            options = options with
            {
                Format = ImportFormat.Jsonl,
                TimestampUnit = TimestampUnit.Milliseconds,
                Start = options.Start ?? Instant.FromUtc(2026, 1, 1, 0, 0),
            };
        }

        var stamps = new List<long>();
        var requests = new List<long>();
        var hashIds = new List<long[]>();
        var groups = new List<string?>();
        var shared = new List<long>();
        var inputTokens = new List<long>();
        var outputTokens = new List<long>();
        Fields? fields = null;
        foreach (var record in TextRecords.Read(input, name, options.Format))
        {
            fields ??= Fields.Resolve(record, options, name);
            stamps.Add(ParseTimestamp(record, fields.Timestamp, options, name));
            if (fields.Requests is { } rq)
            {
                requests.Add(ParseCount(record, rq, name));
                if (stamps.Count > 1 && stamps[^1] <= stamps[^2])
                {
                    var what = stamps[^1] == stamps[^2] ? "duplicate timestamp" : "timestamps must increase";
                    throw new TraceFormatException(name, $"{what} ({record.Fields[fields.Timestamp]} after the previous row) (line {record.Line})", fields.Timestamp, record.Row);
                }
            }

            if (fields.InputTokens is { } it)
            {
                inputTokens.Add(ParseCount(record, it, name));
            }

            if (fields.OutputTokens is { } ot)
            {
                outputTokens.Add(ParseCount(record, ot, name));
            }

            if (fields.HashIds is { } h)
            {
                hashIds.Add(ParseHashes(record, h, name));
            }

            if (fields.PrefixGroup is { } g)
            {
                groups.Add(record.Fields.TryGetValue(g, out var group) && !string.IsNullOrEmpty(group) ? group : null);
                var tokens = ParseCount(record, fields.PrefixTokens!, name);
                if (fields.InputTokens is not null && tokens > inputTokens[^1])
                {
                    throw new TraceFormatException(name, $"{tokens} prefix tokens, more than the request's {inputTokens[^1]} input tokens (line {record.Line})", fields.PrefixTokens, record.Row);
                }

                if (groups[^1] is null && tokens > 0)
                {
                    throw new TraceFormatException(name, $"{tokens} shared prefix tokens in no prefix group (line {record.Line})", fields.PrefixTokens, record.Row);
                }

                shared.Add(tokens);
            }
        }

        if (fields is null)
        {
            throw new TraceFormatException(name, "the file has no rows");
        }

        CheckLimits(name, fields, stamps, requests, inputTokens, outputTokens);
        var hasTokens = fields.InputTokens is not null || fields.OutputTokens is not null;
        var input64 = fields.InputTokens is null ? null : inputTokens.ToArray();
        var output64 = fields.OutputTokens is null ? null : outputTokens.ToArray();
        var stampArray = stamps.ToArray();
        if (fields.Requests is not null)
        {
            var counts = requests.ToArray();
            await ParquetTrace.WriteIntervalCountsAsync(output, stampArray, counts, TraceBinning.SmallestStep(stampArray, 1_000_000_000L),
                Memory(input64), Memory(output64), cancellationToken: cancellationToken).ConfigureAwait(false);
            return new ImportSummary(TraceShape.IntervalCounts, counts.Length, requests.Aggregate(0L, (a, b) => a + b), fields.Timestamp, hasTokens);
        }

        var prefixes = fields.HashIds is not null ? new RequestPrefixes([.. hashIds]) : fields.PrefixGroup is not null ? new RequestPrefixes([.. groups], [.. shared]) : null;
        var order = SortByTime(stampArray, input64, output64);
        if (order is not null)
        {
            prefixes = prefixes?.Permute(order);
        }

        await ParquetTrace.WriteRequestLogWithPrefixesAsync(output, stampArray, Memory(input64), Memory(output64), prefixes, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new ImportSummary(TraceShape.RequestLog, stampArray.Length, stampArray.Length, fields.Timestamp, hasTokens);
    }

    /// <summary>
    /// Parses a timestamp: ISO-8601 (Z or an offset), <c>YYYY-MM-DD HH:MM:SS[.fffffff]</c> (UTC), or a number in
    /// <paramref name="unit"/> (since the Unix epoch, or since <paramref name="start"/>). Null when none fits.
    /// </summary>
    public static long? ParseTimestamp(string text, TimestampUnit unit = TimestampUnit.Seconds, Instant? start = null)
    {
        text = text.Trim();
        if (text.Length == 0)
        {
            return null;
        }

        if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && text.IndexOf('-', 1) < 0)
        {
            var nanosPerUnit = unit switch
            {
                TimestampUnit.Milliseconds => 1_000_000m,
                TimestampUnit.Microseconds => 1_000m,
                _ => 1_000_000_000m,
            };
            var origin = start is { } s ? (s - Instant.FromUnixTimeTicks(0)).ToInt64Nanoseconds() : 0m;
            var nanos = decimal.Round(origin + number * nanosPerUnit);
            return nanos >= TraceLimits.EarliestNanos && nanos < TraceLimits.EndNanos ? (long)nanos : OutOfRange;
        }

        foreach (var pattern in TextPatterns)
        {
            var result = pattern.Parse(text);
            if (result.Success)
            {
                return Nanos(result.Value);
            }
        }

        var offset = OffsetDateTimePattern.ExtendedIso.Parse(text);
        return offset.Success ? Nanos(offset.Value.ToInstant()) : null;
    }

    /// <summary>
    /// What the writer's file must be for every command to read it back: a span a replay of 1-second ticks can run,
    /// counts that sum within what a replay counts, and interval rows in different milliseconds (traces are written
    /// to the millisecond).
    /// </summary>
    private static void CheckLimits(string name, Fields fields, List<long> stamps, List<long> requests, List<long> input, List<long> output)
    {
        var min = stamps.Min();
        var max = stamps.Max();
        if (TraceLimits.TooManyTicks(((decimal)max - min) / 1_000_000_000m + 1, Duration.FromSeconds(1), "the timestamps span") is { } tooLong)
        {
            throw new TraceFormatException(name, tooLong, fields.Timestamp);
        }

        foreach (var (values, field) in new[] { (requests, fields.Requests), (input, fields.InputTokens), (output, fields.OutputTokens) })
        {
            long total = 0;
            foreach (var value in values)
            {
                if (value > TraceLimits.MaxRequests - total)
                {
                    throw new TraceFormatException(name, $"the values sum past {TraceLimits.Count(TraceLimits.MaxRequests)}, more than a replay can count", field);
                }

                total += value;
            }
        }

        if (fields.Requests is not null)
        {
            for (var i = 1; i < stamps.Count; i++)
            {
                if (IntervalBinner.FloorDiv(stamps[i], ParquetColumns.NanosPerMilli) == IntervalBinner.FloorDiv(stamps[i - 1], ParquetColumns.NanosPerMilli))
                {
                    throw new TraceFormatException(name, "two interval rows fall in the same millisecond; traces are written to the millisecond, so intervals must be at least 1 ms apart", fields.Timestamp, i + 1);
                }
            }
        }
    }

    /// <summary>What <see cref="ParseTimestamp(string, TimestampUnit, Instant?)"/> returns for a timestamp outside <see cref="TraceLimits"/>.</summary>
    public const long OutOfRange = long.MinValue;

    private static long Nanos(Instant instant) => TraceLimits.Contains(instant) ? (instant - Instant.FromUnixTimeTicks(0)).ToInt64Nanoseconds() : OutOfRange;

    private static long ParseTimestamp(TextRecord record, string field, TraceImportOptions options, string name)
    {
        var text = record.Fields.TryGetValue(field, out var value) ? value : null;
        if (text is null)
        {
            throw new TraceFormatException(name, $"missing value (line {record.Line})", field, record.Row);
        }

        var nanos = ParseTimestamp(text, options.TimestampUnit, options.Start)
            ?? throw new TraceFormatException(name, $"\"{text}\" is not a timestamp (ISO-8601, 'YYYY-MM-DD HH:MM:SS' or {Numbers(options)}) (line {record.Line})", field, record.Row);
        return nanos != OutOfRange ? nanos : throw new TraceFormatException(name, $"\"{text}\" is out of range: {TraceLimits.TimestampRule} (line {record.Line})", field, record.Row);
    }

    private static string Numbers(TraceImportOptions options)
    {
        var unit = options.TimestampUnit switch
        {
            TimestampUnit.Milliseconds => "milliseconds",
            TimestampUnit.Microseconds => "microseconds",
            _ => "seconds",
        };
        return options.Start is null ? $"epoch {unit}" : $"{unit} after --start";
    }

    private static long ParseCount(TextRecord record, string field, string name)
    {
        var text = record.Fields.TryGetValue(field, out var value) ? value : null;
        if (text is null)
        {
            throw new TraceFormatException(name, $"missing value (line {record.Line})", field, record.Row);
        }

        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var count))
        {
            throw new TraceFormatException(name, $"\"{text}\" is not a whole number (line {record.Line})", field, record.Row);
        }

        if (count < 0)
        {
            throw new TraceFormatException(name, $"negative count ({count}) (line {record.Line})", field, record.Row);
        }

        return count;
    }

    // Spelled out: a bare null would convert through long[] into an empty, non-null memory.
    private static ReadOnlyMemory<long>? Memory(long[]? values) => values is null ? (ReadOnlyMemory<long>?)null : new ReadOnlyMemory<long>(values);

    /// <summary>Sorts a request log by time (stable); the order taken, or null when it was sorted.</summary>
    private static int[]? SortByTime(long[] stamps, long[]? input, long[]? output)
    {
        var sorted = true;
        for (var i = 1; i < stamps.Length && sorted; i++)
        {
            sorted = stamps[i] >= stamps[i - 1];
        }

        if (sorted)
        {
            return null;
        }

        // Stable: requests with equal timestamps keep their order, and their tokens travel with them.
        var order = Enumerable.Range(0, stamps.Length).OrderBy(i => stamps[i]).ToArray();
        Permute(stamps, order);
        if (input is not null)
        {
            Permute(input, order);
        }

        if (output is not null)
        {
            Permute(output, order);
        }

        return order;
    }

    /// <summary>A list of integers: a JSON array, or in CSV the numbers separated by spaces, commas or semicolons (brackets optional).</summary>
    private static long[] ParseHashes(TextRecord record, string field, string name)
    {
        var text = record.Fields.TryGetValue(field, out var value) ? value : null;
        if (text is null)
        {
            throw new TraceFormatException(name, $"missing value (line {record.Line})", field, record.Row);
        }

        var inner = text.Trim();
        if (inner.StartsWith('[') && inner.EndsWith(']'))
        {
            inner = inner[1..^1];
        }

        var parts = inner.Split([',', ' ', ';', '\t'], StringSplitOptions.RemoveEmptyEntries);
        var hashes = new long[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out hashes[i]))
            {
                throw new TraceFormatException(name, $"must be a list of integers; \"{Shown(parts[i])}\" is not one (line {record.Line})", field, record.Row);
            }
        }

        return hashes;
    }

    private static string Shown(string text) => text.Length <= 40 ? text : text[..40] + "...";

    private static void Permute(long[] values, int[] order)
    {
        var copy = (long[])values.Clone();
        for (var i = 0; i < order.Length; i++)
        {
            values[i] = copy[order[i]];
        }
    }

    /// <summary>The fields a file's records are read from.</summary>
    private sealed record Fields(string Timestamp, string? Requests, string? InputTokens, string? OutputTokens)
    {
        /// <summary>A request's prompt block hashes.</summary>
        public string? HashIds { get; init; }

        /// <summary>A request's prefix group.</summary>
        public string? PrefixGroup { get; init; }

        /// <summary>The prompt tokens a request shares with its group.</summary>
        public string? PrefixTokens { get; init; }

        public static Fields Resolve(TextRecord first, TraceImportOptions options, string name)
        {
            var found = first.Fields.Keys.ToList();
            string? Pick(string? given, string[] candidates, string what, bool required)
            {
                if (given is not null)
                {
                    return found.FirstOrDefault(f => f.Equals(given, StringComparison.OrdinalIgnoreCase))
                        ?? throw new TraceFormatException(name, $"missing {what} field '{given}' (found: {string.Join(", ", found)})");
                }

                var detected = candidates.Select(c => found.FirstOrDefault(f => f.Equals(c, StringComparison.OrdinalIgnoreCase))).FirstOrDefault(f => f is not null);
                if (detected is null && required)
                {
                    throw new TraceFormatException(name, $"missing column 'timestamp' (found: {string.Join(", ", found)}; name yours with --timestamp-field)");
                }

                return detected;
            }

            var fields = new Fields(
                Pick(options.TimestampField, TraceImportOptions.TimestampNames, "timestamp", required: true)!,
                Pick(options.RequestsField, TraceImportOptions.RequestsNames, "requests", required: false),
                Pick(options.InputTokensField, TraceImportOptions.InputNames, "input-tokens", required: false),
                Pick(options.OutputTokensField, TraceImportOptions.OutputNames, "output-tokens", required: false))
            {
                HashIds = Pick(null, TraceImportOptions.HashIdsNames, "hash_ids", required: false),
                PrefixGroup = Pick(null, TraceImportOptions.PrefixGroupNames, "prefix_group", required: false),
                PrefixTokens = Pick(null, TraceImportOptions.PrefixTokensNames, "prefix_tokens", required: false),
            };
            var prefix = fields.HashIds ?? fields.PrefixGroup ?? fields.PrefixTokens;
            if (prefix is not null && fields.Requests is not null)
            {
                throw new TraceFormatException(name, "prefix fields describe single requests; interval counts (a requests field) cannot have them", prefix);
            }

            if (fields.HashIds is not null && (fields.PrefixGroup ?? fields.PrefixTokens) is { } both)
            {
                throw new TraceFormatException(name, "a trace gives either hash_ids or prefix_group with prefix_tokens, not both", both);
            }

            if ((fields.PrefixGroup is null) != (fields.PrefixTokens is null))
            {
                throw new TraceFormatException(name, $"comes without a {(fields.PrefixGroup is null ? "prefix_group" : "prefix_tokens")} field: a prefix group and its shared tokens go together", fields.PrefixGroup ?? fields.PrefixTokens);
            }

            return fields;
        }
    }
}
