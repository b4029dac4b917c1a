using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Autoscale.Shared;
using Autoscale.Backtesting.Engine;
using NodaTime;

namespace Autoscale.Reporting;

/// <summary>
/// The results of one shard of a sharded backtest (<c>backtest --shard K/N</c>): every figure of its
/// candidates, exactly, plus what <c>autoscale merge</c> needs to rebuild the single run's report and to
/// check that the shards belong together.
/// </summary>
public sealed record PartialResults
{
    /// <summary>The format tag of the file.</summary>
    public const string FormatTag = "autoscale-partial/1";

    /// <summary>The most shards a backtest is split into.</summary>
    public const int MaxShards = 10_000;

    /// <summary>The format tag.</summary>
    public string Format { get; init; } = FormatTag;

    /// <summary>This shard's index, from 0.</summary>
    public required int Shard { get; init; }

    /// <summary>The number of shards.</summary>
    public required int Of { get; init; }

    /// <summary>The trace replayed.</summary>
    public required TraceInfo Trace { get; init; }

    /// <summary>The settings every candidate shared.</summary>
    public required ReplaySettings Settings { get; init; }

    /// <summary>Every candidate of the config, in config order (the shards' candidates are a subset).</summary>
    public required IReadOnlyList<string> Order { get; init; }

    /// <summary>The IANA time zone reports show times in.</summary>
    public string TimeZone { get; init; } = "UTC";

    /// <summary>This shard's results.</summary>
    public required IReadOnlyList<CandidateResult> Results { get; init; }

    /// <summary>
    /// What is wrong with a partial-results file a hand or a bug has changed, or null: every part present, the shard
    /// within its count, and the shard's results exactly the config's candidates it runs (every N-th from K), each once.
    /// </summary>
    public string? Problem()
    {
        if (Of is < 1 or > MaxShards)
        {
            return $"\"of\" ({Of}) must be between 1 and {MaxShards}";
        }

        if (Shard < 0 || Shard >= Of)
        {
            return $"\"shard\" ({Shard}) must be between 0 and {Of - 1}";
        }

        if (Trace is null || Trace.File is null || Settings is null || Settings.Slo is null || Settings.Replica is null || Order is null || Results is null
            || Order.Any(n => n is null) || Results.Any(r => r is null || r.Name is null) || TimeZone is null)
        {
            return "a part of the file is missing (trace, settings, order or results)";
        }

        var expected = Order.Where((_, i) => i % Of == Shard).ToList();
        var names = Results.Select(r => r.Name).ToList();
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
        {
            return $"a candidate appears twice in shard {Shard} ({names.GroupBy(n => n, StringComparer.Ordinal).First(g => g.Count() > 1).Key})";
        }

        if (!names.Order(StringComparer.Ordinal).SequenceEqual(expected.Order(StringComparer.Ordinal), StringComparer.Ordinal))
        {
            var foreign = names.Except(expected, StringComparer.Ordinal).ToList();
            var absent = expected.Except(names, StringComparer.Ordinal).ToList();
            return foreign.Count > 0
                ? $"shard {Shard} of {Of} holds candidates it does not run ({string.Join(", ", foreign)})"
                : $"shard {Shard} of {Of} lacks candidates it runs ({string.Join(", ", absent)})";
        }

        return Results.Select(r => r.Requests != Trace.Requests && r.Error is null
            ? $"candidate \"{r.Name}\": {r.Requests} requests, but the trace has {Trace.Requests}"
            : r.Inconsistency(Settings)).FirstOrDefault(p => p is not null);
    }

    /// <summary>Serializes the partial results.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, PartialResultsJson.Default.PartialResults);

    /// <summary>The most a part file may hold (counted while reading).</summary>
    public const long MaxFileBytes = 512L << 20;

    /// <summary>Reads the part file at <paramref name="path"/>, at most <see cref="MaxFileBytes"/>.</summary>
    /// <exception cref="InvalidDataException">Not a partial-results file, or not a file that can be read.</exception>
    public static PartialResults ReadFile(string path)
    {
        string text;
        try
        {
            text = Autoscale.Shared.BoundedFile.ReadText(path, MaxFileBytes);
        }
        catch (IOException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }

        return Parse(text, path);
    }

    /// <summary>Reads partial results; <paramref name="file"/> names the file in messages.</summary>
    /// <exception cref="InvalidDataException">Not a partial-results file.</exception>
    public static PartialResults Parse(string text, string file)
    {
        PartialResults? partial;
        try
        {
            partial = JsonSerializer.Deserialize(text, PartialResultsJson.Default.PartialResults);
        }
        catch (Exception e) when (e is not OutOfMemoryException and not StackOverflowException)
        {
            // A hand-edited or damaged file can break any converter (an overflowing number, a timeline of the wrong shape).
            var what = e is JsonException { LineNumber: { } line } json
                ? $"not JSON, or a value of the wrong type, at {json.Path ?? "$"} on line {line + 1}"
                : "a value of the wrong shape or range";
            throw new InvalidDataException($"{file}: not a partial-results file ({what})", e);
        }

        if (partial is null)
        {
            throw new InvalidDataException($"{file}: empty");
        }

        if (partial.Format != FormatTag)
        {
            throw new InvalidDataException($"{file}: not a partial-results file (format \"{partial.Format}\", expected \"{FormatTag}\")");
        }

        return partial.Problem() is { } problem ? throw new InvalidDataException($"{file}: {problem}") : partial;
    }

    internal sealed class MetricSetConverter : JsonConverter<MetricSet>
    {
        public override MetricSet Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            new(JsonSerializer.Deserialize(ref reader, Info<Dictionary<string, double>>(options)) ?? []);

        public override void Write(Utf8JsonWriter writer, MetricSet value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value.ToDictionary(p => p.Key, p => p.Value), Info<Dictionary<string, double>>(options));
    }

    internal sealed class TextListConverter : JsonConverter<TextList>
    {
        public override TextList Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            new(JsonSerializer.Deserialize(ref reader, Info<string[]>(options)) ?? []);

        public override void Write(Utf8JsonWriter writer, TextList value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value.ToArray(), Info<string[]>(options));
    }

    internal sealed class TimelineConverter : JsonConverter<Timeline>
    {
        public override Timeline Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var dto = JsonSerializer.Deserialize(ref reader, Info<TimelineDto>(options)) ?? new TimelineDto([], 0, null);
            return dto.Points.Length == 0 ? Timeline.Empty : FromDto(dto);
        }

        public override void Write(Utf8JsonWriter writer, Timeline value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, ToDto(value), Info<TimelineDto>(options));

        private static Timeline FromDto(TimelineDto dto) => new(dto.Points, dto.BucketSeconds) { Zoom = dto.Zoom is { } zoom ? FromDto(zoom) : null };

        private static TimelineDto ToDto(Timeline value) => new(value.Points.ToArray(), value.BucketSeconds, value.Zoom is { } zoom ? ToDto(zoom) : null);
    }

    internal sealed record TimelineDto(TimelinePoint[] Points, double BucketSeconds, TimelineDto? Zoom);

    private static JsonTypeInfo<T> Info<T>(JsonSerializerOptions options) => (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));

    internal sealed class InstantConverter : JsonConverter<Instant>
    {
        public override Instant Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            Instant.FromUnixTimeTicks(0) + Duration.FromNanoseconds(reader.GetInt64());

        public override void Write(Utf8JsonWriter writer, Instant value, JsonSerializerOptions options) =>
            writer.WriteNumberValue((value - Instant.FromUnixTimeTicks(0)).ToInt64Nanoseconds());
    }

    internal sealed class DurationConverter : JsonConverter<Duration>
    {
        public override Duration Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => Duration.FromNanoseconds(reader.GetInt64());

        public override void Write(Utf8JsonWriter writer, Duration value, JsonSerializerOptions options) => writer.WriteNumberValue(value.ToInt64Nanoseconds());
    }
}

/// <summary>Serialization metadata for <see cref="PartialResults"/>, made at compile time.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    Converters = [typeof(PartialResults.MetricSetConverter), typeof(PartialResults.TextListConverter), typeof(PartialResults.TimelineConverter), typeof(PartialResults.InstantConverter), typeof(PartialResults.DurationConverter)])]
[JsonSerializable(typeof(PartialResults))]
[JsonSerializable(typeof(Dictionary<string, double>))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(PartialResults.TimelineDto))]
internal sealed partial class PartialResultsJson : JsonSerializerContext;
