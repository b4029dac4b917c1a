using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Autoscale.Traces.IO;
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

        return Results.Select(r => ResultProblem(r, Trace.Requests, Settings)).FirstOrDefault(p => p is not null);
    }

    /// <summary>
    /// What is inconsistent in one candidate's result as a part file holds it, or null: every count within the trace's
    /// requests and adding up (served, dropped and still queued make the requests; late within served and queued), every
    /// figure finite (latencies of a serving replay may be infinite, for a dropped request, or absent), dollars and their
    /// parts non-negative with the parts within the total, and <c>meetsSlo</c> as the violations and the target give it.
    /// </summary>
    internal static string? ResultProblem(CandidateResult r, long traceRequests, ReplaySettings settings)
    {
        var at = $"candidate \"{r.Name}\"";
        if (r.Error is not null)
        {
            return null;
        }

        long[] counts = [r.Requests, r.Served, r.Late, r.Dropped, r.QueuedAtEnd, r.WorstMinuteViolations, r.WorstHourViolations, r.BreachMinutes, r.Minutes,
            r.LongestBreachMinutes, r.ScaleActions, r.Flaps, r.CapacityLagEpisodes, r.ColdStarts, r.PeakReplicas, r.EndReplicas, r.Ticks];
        if (counts.Any(c => c < 0))
        {
            return $"{at}: a count is negative";
        }

        if (r.Requests != traceRequests)
        {
            return $"{at}: {r.Requests} requests, but the trace has {traceRequests}";
        }

        if (r.Served > r.Requests || r.Dropped > r.Requests || r.QueuedAtEnd > r.Requests || r.Served + r.Dropped + r.QueuedAtEnd != r.Requests)
        {
            return $"{at}: served ({r.Served}), dropped ({r.Dropped}) and queued at the end ({r.QueuedAtEnd}) do not add up to its {r.Requests} requests";
        }

        if (r.Late > r.Served + r.QueuedAtEnd || r.WorstMinuteViolations > r.WorstHourViolations || r.WorstHourViolations > r.Violations)
        {
            return $"{at}: its violations do not add up (late {r.Late} of {r.Served + r.QueuedAtEnd} served or queued; worst minute {r.WorstMinuteViolations}, worst hour {r.WorstHourViolations}, of {r.Violations} in all)";
        }

        if (r.BreachMinutes > r.Minutes || r.LongestBreachMinutes > r.BreachMinutes || r.EndReplicas > r.PeakReplicas)
        {
            return $"{at}: its minutes in breach or its replicas do not add up";
        }

        double[] figures = [r.WaitP50Seconds, r.WaitP95Seconds, r.WaitP99Seconds, r.WaitMaxSeconds, r.WorstMinuteStartSeconds, r.WorstHourStartSeconds,
            r.CapacityLagMaxSeconds, r.CapacityLagMeanSeconds, r.RoundingDollars, r.ReplicaSeconds, r.IdleReplicaSeconds, r.LoadingReplicaSeconds,
            r.Dollars, r.IdleDollars, r.LoadingDollars, r.HoldDollars, r.CostDollars, r.SpanSeconds];
        if (figures.Any(f => !double.IsFinite(f) || f < 0))
        {
            return $"{at}: a figure is negative or not a finite number";
        }

        if (!(r.WaitP50Seconds <= r.WaitP95Seconds && r.WaitP95Seconds <= r.WaitP99Seconds && r.WaitP99Seconds <= r.WaitMaxSeconds))
        {
            return $"{at}: its wait percentiles are out of order";
        }

        const double slack = 1e-6;
        if (r.IdleDollars > (r.Dollars * (1 + slack)) + slack || r.LoadingDollars > (r.Dollars * (1 + slack)) + slack || r.HoldDollars > (r.Dollars * (1 + slack)) + slack
            || r.IdleReplicaSeconds > (r.ReplicaSeconds * (1 + slack)) + slack)
        {
            return $"{at}: a part of its dollars or replica-seconds exceeds the whole";
        }

        if (!double.IsFinite(r.ErrorBudgetBurn) && r.Requests > 0 && settings.Slo.TargetPercent < 100)
        {
            return $"{at}: errorBudgetBurn is not a finite number";
        }

        var meets = r.Requests == 0 || 100.0 * (r.Requests - r.Violations) >= settings.Slo.TargetPercent * r.Requests;
        if (r.MeetsSlo != meets)
        {
            return $"{at}: meetsSlo is {(r.MeetsSlo ? "true" : "false")}, but {r.Violations} violations of {r.Requests} requests {(meets ? "meet" : "miss")} the {settings.Slo.TargetPercent} % target";
        }

        if (r.Serving is { } s)
        {
            double[] latencies = [s.TtftP50Seconds, s.TtftP90Seconds, s.TtftP99Seconds, s.TpotP50Seconds, s.TpotP99Seconds, s.E2eP50Seconds, s.E2eP99Seconds];
            double[] rates = [s.GoodputRps, s.InputTokensPerSecond, s.OutputTokensPerSecond, s.NominalCapacityRps, s.MeanInputTokens, s.MeanOutputTokens];
            if (latencies.Any(l => l < 0 || double.IsNegativeInfinity(l)) || rates.Any(f => !double.IsFinite(f) || f < 0) || s.Preemptions < 0
                || !(s.KvCacheUtilization is >= 0 and <= 1) || s.DollarsPerMillionTokens < 0 || double.IsInfinity(s.DollarsPerMillionTokens))
            {
                return $"{at}: a serving figure is negative, out of its range or not a number";
            }
        }

        if (r.Cluster is { } c)
        {
            double[] cluster = [c.NodeDollars, c.IdleGpuDollars, c.ReplicaDollars, c.OnDemandDollars, c.SpotDollars, c.CommittedDollars, c.WarmNodeDollars,
                c.ProvisionWaitP50Seconds, c.ProvisionWaitP99Seconds, c.ProvisionWaitMaxSeconds, c.PendingSeconds, c.StockoutMinutes];
            long[] events = [c.UnplacedReplicas, c.Preemptions, c.PreemptedReplicas, c.Crashes, c.RequestsLost, c.RequestsRetried, c.ProvisionFailures, c.PeakNodes];
            if (cluster.Any(f => !double.IsFinite(f) || f < 0) || events.Any(e => e < 0) || c.Pools is null || c.Pools.Any(p => p is null || !double.IsFinite(p.Dollars) || p.Dollars < 0))
            {
                return $"{at}: a cluster figure is negative or not a finite number";
            }

            if (c.RequestsLost > r.Requests)
            {
                return $"{at}: more requests lost ({c.RequestsLost}) than it has";
            }
        }

        return TimelineProblem(r.Timeline) is { } problem ? $"{at}: its timeline {problem}" : null;
    }

    private static string? TimelineProblem(Timeline? timeline)
    {
        if (timeline is null || timeline.Points is null)
        {
            return "is missing its points";
        }

        if (timeline.Points.Count > 0 && !(double.IsFinite(timeline.BucketSeconds) && timeline.BucketSeconds > 0))
        {
            return "has no positive bucket width";
        }

        foreach (var p in timeline.Points)
        {
            if (!double.IsFinite(p.StartSeconds) || !(p.DemandRps is >= 0 and < double.PositiveInfinity) || !(p.ReadyReplicas is >= 0 and < double.PositiveInfinity)
                || !(p.LoadingReplicas is >= 0 and < double.PositiveInfinity) || p.QueueMax < 0 || p.Violations < 0)
            {
                return "holds a point that is negative or not a finite number";
            }
        }

        return timeline.Zoom is { } zoom ? TimelineProblem(zoom) : null;
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
