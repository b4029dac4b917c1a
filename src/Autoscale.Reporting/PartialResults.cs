using System.Text.Json;
using System.Text.Json.Serialization;
using Autoscale.Backtesting;
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

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = false,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new MetricSetConverter(), new TimelineConverter(), new InstantConverter(), new DurationConverter() },
    };

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

    /// <summary>This shard's results.</summary>
    public required IReadOnlyList<CandidateResult> Results { get; init; }

    /// <summary>Serializes the partial results.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads partial results; <paramref name="file"/> names the file in messages.</summary>
    /// <exception cref="InvalidDataException">Not a partial-results file.</exception>
    public static PartialResults Parse(string text, string file)
    {
        try
        {
            var partial = JsonSerializer.Deserialize<PartialResults>(text, Json) ?? throw new InvalidDataException($"{file}: empty");
            return partial.Format == FormatTag ? partial : throw new InvalidDataException($"{file}: not a partial-results file (format \"{partial.Format}\", expected \"{FormatTag}\")");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}: not a partial-results file ({e.Message.Split(". ")[0].TrimEnd('.')})", e);
        }
    }

    private sealed class MetricSetConverter : JsonConverter<MetricSet>
    {
        public override MetricSet Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            new(JsonSerializer.Deserialize<Dictionary<string, double>>(ref reader, options) ?? []);

        public override void Write(Utf8JsonWriter writer, MetricSet value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value.ToDictionary(p => p.Key, p => p.Value), options);
    }

    private sealed class TimelineConverter : JsonConverter<Timeline>
    {
        public override Timeline Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var dto = JsonSerializer.Deserialize<TimelineDto>(ref reader, options) ?? new TimelineDto([], 0);
            return dto.Points.Length == 0 ? Timeline.Empty : new Timeline(dto.Points, dto.BucketSeconds);
        }

        public override void Write(Utf8JsonWriter writer, Timeline value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, new TimelineDto(value.Points.ToArray(), value.BucketSeconds), options);

        private sealed record TimelineDto(TimelinePoint[] Points, double BucketSeconds);
    }

    private sealed class InstantConverter : JsonConverter<Instant>
    {
        public override Instant Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            Instant.FromUnixTimeTicks(0) + Duration.FromNanoseconds(reader.GetInt64());

        public override void Write(Utf8JsonWriter writer, Instant value, JsonSerializerOptions options) =>
            writer.WriteNumberValue((value - Instant.FromUnixTimeTicks(0)).ToInt64Nanoseconds());
    }

    private sealed class DurationConverter : JsonConverter<Duration>
    {
        public override Duration Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => Duration.FromNanoseconds(reader.GetInt64());

        public override void Write(Utf8JsonWriter writer, Duration value, JsonSerializerOptions options) => writer.WriteNumberValue(value.ToInt64Nanoseconds());
    }
}
