using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Autoscale.Config.Tuning;

/// <summary>
/// The part of a tune one shard ran (<c>tune --shard K/N</c>): the training windows it searched, written exactly, with what
/// <c>autoscale merge</c> needs to put the parts together into the result one machine gives.
/// </summary>
public sealed record TuneShard(int Shard, int Of, string Trace, long Seed, double TargetPercent, string TimeZone, int Units, IReadOnlyList<TuneShard.Candidate> Candidates, IReadOnlyList<TuneUnit> Done)
{
    /// <summary>A tuned candidate: what its outcome shows besides its windows.</summary>
    public sealed record Candidate(string Name, string Policy, IReadOnlyList<string> Paths, JsonObject BaselineOptions);

    /// <summary>The share of each training day's error budget a pick kept to spare (<c>--slo-margin</c>).</summary>
    public double Margin { get; init; }

    /// <summary>The config's SLO as the report states it.</summary>
    public string SloLine { get; init; } = "";

    /// <summary>The instant the trace begins.</summary>
    public NodaTime.Instant TraceStart { get; init; }

    /// <summary>The instant the trace ends.</summary>
    public NodaTime.Instant TraceEnd { get; init; }

    /// <summary>Requests in the trace.</summary>
    public long TraceRequests { get; init; }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The outcome of each candidate from its windows (every window of every candidate must be there).</summary>
    public static List<TuneOutcome> Outcomes(IReadOnlyList<Candidate> candidates, IReadOnlyList<TuneUnit> units, double targetPercent, long seed) =>
        candidates.Select((c, i) => TuneOutcome.Assemble(c.Name, c.Policy, c.Paths, c.BaselineOptions, units.Where(u => u.Candidate == i).ToList(), targetPercent, seed)).ToList();

    public string ToJson() => new JsonObject
    {
        ["kind"] = "autoscale tune shard",
        ["shard"] = Shard,
        ["of"] = Of,
        ["trace"] = Trace,
        ["seed"] = Seed,
        ["targetPercent"] = TargetPercent.ToString("R", CultureInfo.InvariantCulture),
        ["timeZone"] = TimeZone,
        ["sloLine"] = SloLine,
        ["sloMargin"] = Margin.ToString("R", CultureInfo.InvariantCulture),
        ["traceStart"] = NodaTime.Text.InstantPattern.ExtendedIso.Format(TraceStart),
        ["traceEnd"] = NodaTime.Text.InstantPattern.ExtendedIso.Format(TraceEnd),
        ["traceRequests"] = TraceRequests,
        ["units"] = Units,
        ["candidates"] = new JsonArray([.. Candidates.Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Name,
            ["policy"] = c.Policy,
            ["paths"] = new JsonArray([.. c.Paths.Select(p => (JsonNode)JsonValue.Create(p)!)]),
            ["baselineOptions"] = c.BaselineOptions.DeepClone(),
        })]),
        ["windows"] = new JsonArray([.. Done.Select(u => (JsonNode)TuneJson.Unit(u))]),
    }.ToJsonString(Indented) + "\n";

    /// <summary>Whether <paramref name="text"/> is a tune shard (rather than a backtest's).</summary>
    public static bool Is(string text) => text.Contains("\"autoscale tune shard\"", StringComparison.Ordinal);

    /// <summary>The most a shard file may hold (1 GiB: a window's evaluated settings are a few hundred bytes each).</summary>
    public const long MaxFileBytes = 1L << 30;

    /// <summary>Reads the shard file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">It cannot be read, or is not a tune shard; the message names it.</exception>
    public static TuneShard ReadFile(string path)
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

        return Read(text, path);
    }

    /// <summary>Reads a shard file back.</summary>
    /// <exception cref="InvalidDataException">The file is not a tune shard; the message names it.</exception>
    public static TuneShard Read(string text, string file)
    {
        try
        {
            var root = JsonNode.Parse(text)!.AsObject();
            if (root["kind"]?.GetValue<string>() != "autoscale tune shard")
            {
                throw new InvalidDataException($"{file}: not a shard of autoscale tune");
            }

            return new TuneShard(root["shard"]!.GetValue<int>(), root["of"]!.GetValue<int>(), root["trace"]!.GetValue<string>(), root["seed"]!.GetValue<long>(),
                double.Parse(root["targetPercent"]!.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture), root["timeZone"]!.GetValue<string>(), root["units"]!.GetValue<int>(),
                root["candidates"]!.AsArray().Select(c => new Candidate(c!["name"]!.GetValue<string>(), c["policy"]!.GetValue<string>(),
                    c["paths"]!.AsArray().Select(p => p!.GetValue<string>()).ToList(), c["baselineOptions"]!.AsObject().DeepClone().AsObject())).ToList(),
                root["windows"]!.AsArray().Select(u => TuneJson.ReadUnit(u!)).ToList())
            {
                SloLine = root["sloLine"]!.GetValue<string>(),
                Margin = double.Parse(root["sloMargin"]!.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture),
                TraceStart = NodaTime.Text.InstantPattern.ExtendedIso.Parse(root["traceStart"]!.GetValue<string>()).GetValueOrThrow(),
                TraceEnd = NodaTime.Text.InstantPattern.ExtendedIso.Parse(root["traceEnd"]!.GetValue<string>()).GetValueOrThrow(),
                TraceRequests = root["traceRequests"]!.GetValue<long>(),
            };
        }
        catch (Exception e) when (e is JsonException or NullReferenceException or InvalidOperationException or FormatException or NodaTime.Text.UnparsableValueException)
        {
            throw new InvalidDataException($"{file}: not a shard of autoscale tune ({e.Message})", e);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(file, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{file}: {e.Message}", e);
        }
    }
}
