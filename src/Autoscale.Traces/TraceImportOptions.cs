using NodaTime;

namespace Autoscale.Traces;

/// <summary>Units of numeric timestamps in an imported file.</summary>
public enum TimestampUnit
{
    /// <summary>Seconds.</summary>
    Seconds,

    /// <summary>Milliseconds.</summary>
    Milliseconds,

    /// <summary>Microseconds.</summary>
    Microseconds,
}

/// <summary>Input text formats the importer reads.</summary>
public enum ImportFormat
{
    /// <summary>Decide from the file name (<c>.jsonl</c>, <c>.ndjson</c>) or the first character (<c>{</c>).</summary>
    Auto,

    /// <summary>Comma-separated values with a header row.</summary>
    Csv,

    /// <summary>One JSON object per line.</summary>
    Jsonl,

    /// <summary>
    /// Mooncake's traces (kvcache-ai/Mooncake): JSON Lines of <c>timestamp</c> in milliseconds from the trace's start
    /// (<see cref="TraceImportOptions.Start"/>, else 2026-01-01T00:00:00Z), <c>input_length</c>, <c>output_length</c> and
    /// <c>hash_ids</c> (one per 512 prompt tokens).
    /// </summary>
    Mooncake,
}

/// <summary>
/// How to read a user's request log or interval counts. Field names left null are detected from the
/// common layouts (<c>timestamp</c>/<c>TIMESTAMP</c>/<c>time</c>, <c>requests</c>/<c>count</c>,
/// <c>input_tokens</c>/<c>ContextTokens</c>/<c>prompt_tokens</c>, <c>output_tokens</c>/<c>GeneratedTokens</c>/<c>completion_tokens</c>):
/// the Azure LLM inference traces need no options.
/// </summary>
public sealed record TraceImportOptions
{
    /// <summary>Input format.</summary>
    public ImportFormat Format { get; init; } = ImportFormat.Auto;

    /// <summary>The timestamp field; detected when null.</summary>
    public string? TimestampField { get; init; }

    /// <summary>The unit of numeric timestamps.</summary>
    public TimestampUnit TimestampUnit { get; init; } = TimestampUnit.Seconds;

    /// <summary>When set, numeric timestamps are offsets from this instant instead of Unix epoch times.</summary>
    public Instant? Start { get; init; }

    /// <summary>The requests field of interval counts; detected when null. Without one the file is a request log.</summary>
    public string? RequestsField { get; init; }

    /// <summary>The input-token field; detected when null.</summary>
    public string? InputTokensField { get; init; }

    /// <summary>The output-token field; detected when null.</summary>
    public string? OutputTokensField { get; init; }

    internal static readonly string[] TimestampNames = ["timestamp", "time", "ts", "arrival_time", "arrived_at", "created_at", "start_time"];
    internal static readonly string[] HashIdsNames = ["hash_ids"];
    internal static readonly string[] PrefixGroupNames = ["prefix_group"];
    internal static readonly string[] PrefixTokensNames = ["prefix_tokens", "prefix_length"];
    internal static readonly string[] RequestsNames = ["requests", "count", "request_count", "num_requests", "rps_count"];
    internal static readonly string[] InputNames = ["input_tokens", "contexttokens", "context_tokens", "prompt_tokens", "input_length", "num_input_tokens"];
    internal static readonly string[] OutputNames = ["output_tokens", "generatedtokens", "generated_tokens", "completion_tokens", "output_length", "num_output_tokens"];
}
