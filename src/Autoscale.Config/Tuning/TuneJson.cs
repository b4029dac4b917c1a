using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NodaTime;
using NodaTime.Text;

namespace Autoscale.Config.Tuning;

/// <summary>
/// A tune's result as JSON (the shape the design fixes, results.json adding every evaluated point) and CSV, and
/// the windows of a shard written and read back exactly for <c>autoscale merge</c>.
/// </summary>
public static class TuneJson
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The result document; with <paramref name="points"/> every evaluated setting of every window too.</summary>
    public static string Result(IReadOnlyList<TuneOutcome> outcomes, bool points)
    {
        var candidates = new JsonArray();
        foreach (var o in outcomes)
        {
            var candidate = new JsonObject
            {
                ["name"] = o.Name,
                ["policy"] = o.Policy,
                ["tuned"] = new JsonArray([.. o.Paths.Select(p => (JsonNode)JsonValue.Create(p)!)]),
                ["baseline"] = new JsonObject { ["options"] = o.BaselineOptions.DeepClone(), ["test"] = Figure(o.BaselineTest) },
                ["pick"] = new JsonObject
                {
                    ["options"] = o.Deploy.PickOptions.DeepClone(),
                    ["values"] = Values(o.Paths, o.Deploy.Pick),
                    ["metSloOnTraining"] = o.Deploy.PickMetSlo,
                    ["train"] = Figure(o.PickTrain),
                    ["test"] = Figure(o.PickTest),
                },
                ["savingPercent"] = Number(o.SavingPercent),
                ["savingInterval"] = new JsonArray(Number(o.SavingInterval.Low), Number(o.SavingInterval.High)),
                ["folds"] = new JsonArray([.. o.Folds.Select(f => (JsonNode)new JsonObject
                {
                    ["trainStart"] = Text(f.Window.TrainStart),
                    ["trainEnd"] = Text(f.Window.TrainEnd),
                    ["testStart"] = Text(f.Window.TestStart!.Value),
                    ["testEnd"] = Text(f.Window.TestEnd!.Value),
                    ["pick"] = new JsonObject { ["options"] = f.PickOptions.DeepClone(), ["values"] = Values(o.Paths, f.Pick), ["metSloOnTraining"] = f.PickMetSlo },
                    ["train"] = Figure(TuneFigure.OfWindow(f.PickTrain, f.PickTrainDays)),
                    ["test"] = Figure(TuneFigure.OfDays(f.PickTestDays, Target(f))),
                    ["baselineTest"] = Figure(TuneFigure.OfDays(f.BaselineTestDays, Target(f))),
                })]),
                ["search"] = o.Deploy.Search,
                ["evaluations"] = o.Evaluations,
                ["replays"] = o.Replays,
            };
            if (points)
            {
                candidate["points"] = new JsonArray([.. o.Folds.Concat([o.Deploy]).SelectMany(u => u.Evaluations.Select(e => (JsonNode)new JsonObject
                {
                    ["window"] = u.Window.Deploy ? "last" : $"fold {u.Window.Index}",
                    ["values"] = Values(o.Paths, e.Values),
                    ["days"] = e.Days,
                    ["dollars"] = Number(e.Score.Dollars),
                    ["costDollars"] = Number(e.Score.CostDollars),
                    ["violationPercent"] = Number(e.Score.ViolationPercent),
                    ["meetsSlo"] = e.Score.MeetsSlo,
                    ["daysMet"] = e.Score.DaysMet,
                    ["error"] = e.Score.Error,
                }))]);
            }

            candidates.Add((JsonNode)candidate);
        }

        return new JsonObject { ["candidates"] = candidates }.ToJsonString(Indented) + "\n";
    }

    /// <summary>One row per fold and a row of the walk-forward totals per candidate.</summary>
    public static string Csv(IReadOnlyList<TuneOutcome> outcomes)
    {
        var csv = new StringBuilder("candidate,fold,trainStart,trainEnd,testStart,testEnd,pick,metSloOnTraining,trainDollars,trainViolationPercent,testDollars,testViolationPercent,testDays,testDaysMet,baselineTestDollars,baselineTestViolationPercent,baselineTestDaysMet,savingPercent\n");
        foreach (var o in outcomes)
        {
            foreach (var f in o.Folds)
            {
                var train = TuneFigure.OfWindow(f.PickTrain, f.PickTrainDays);
                var test = TuneFigure.OfDays(f.PickTestDays, Target(f));
                var baseline = TuneFigure.OfDays(f.BaselineTestDays, Target(f));
                Row(csv, o.Name, f.Window.Index.ToString(CultureInfo.InvariantCulture), Text(f.Window.TrainStart), Text(f.Window.TrainEnd), Text(f.Window.TestStart!.Value), Text(f.Window.TestEnd!.Value),
                    Describe(o.Paths, f.Pick), f.PickMetSlo ? "true" : "false", F(train.Dollars), F(train.ViolationPercent), F(test.Dollars), F(test.ViolationPercent),
                    test.Days.ToString(CultureInfo.InvariantCulture), test.DaysMet.ToString(CultureInfo.InvariantCulture), F(baseline.Dollars), F(baseline.ViolationPercent),
                    baseline.DaysMet.ToString(CultureInfo.InvariantCulture), F(TuneOutcome.Saving(baseline.Dollars, test.Dollars)));
            }

            Row(csv, o.Name, "all", Text(o.Deploy.Window.TrainStart), Text(o.Deploy.Window.TrainEnd), Text(o.Folds[0].Window.TestStart!.Value), Text(o.Folds[^1].Window.TestEnd!.Value),
                Describe(o.Paths, o.Deploy.Pick), o.Deploy.PickMetSlo ? "true" : "false", F(o.PickTrain.Dollars), F(o.PickTrain.ViolationPercent), F(o.PickTest.Dollars), F(o.PickTest.ViolationPercent),
                o.PickTest.Days.ToString(CultureInfo.InvariantCulture), o.PickTest.DaysMet.ToString(CultureInfo.InvariantCulture), F(o.BaselineTest.Dollars), F(o.BaselineTest.ViolationPercent),
                o.BaselineTest.DaysMet.ToString(CultureInfo.InvariantCulture), F(o.SavingPercent));
        }

        return csv.ToString();
    }

    /// <summary>The setting as <c>path=value</c> pairs.</summary>
    public static string Describe(IReadOnlyList<string> paths, IReadOnlyList<double> values) =>
        string.Join(" ", paths.Select((p, i) => $"{p}={(double.IsNaN(values[i]) ? "default" : TuneDimension.Format(values[i]))}"));

    /// <summary>A window's SLO target, as its days were judged (kept with the unit for merged shards).</summary>
    private static double Target(TuneUnit unit) => unit.TargetPercent;

    private static void Row(StringBuilder csv, params string[] fields) =>
        csv.Append(string.Join(",", fields.Select(f => f.Contains(',') || f.Contains('"') ? $"\"{f.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : f))).Append('\n');

    private static string F(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static JsonObject Figure(TuneFigure figure) => new()
    {
        ["dollars"] = Number(figure.Dollars),
        ["violationPercent"] = Number(figure.ViolationPercent),
        ["meetsSlo"] = figure.MeetsSlo,
        ["days"] = figure.Days,
        ["daysMet"] = figure.DaysMet,
        ["error"] = figure.Error,
    };

    private static JsonObject Values(IReadOnlyList<string> paths, IReadOnlyList<double> values)
    {
        var obj = new JsonObject();
        for (var i = 0; i < paths.Count; i++)
        {
            obj[paths[i]] = Number(values[i]);
        }

        return obj;
    }

    private static JsonValue Number(double value) => JsonValue.Create(Math.Round(value, 6));

    private static string Text(Instant instant) => InstantPattern.ExtendedIso.Format(instant);

    // ---- the windows of a shard, exactly ----

    /// <summary>A window of a shard, every number kept exactly.</summary>
    public static JsonObject Unit(TuneUnit unit) => new()
    {
        ["candidate"] = unit.Candidate,
        ["window"] = new JsonObject
        {
            ["index"] = unit.Window.Index,
            ["deploy"] = unit.Window.Deploy,
            ["trainDays"] = Longs(unit.Window.TrainDays),
            ["testDays"] = Longs(unit.Window.TestDays),
            ["dayStarts"] = new JsonArray([.. unit.Window.DayStarts.Select(d => (JsonNode)JsonValue.Create(Text(d))!)]),
        },
        ["targetPercent"] = Exact(unit.TargetPercent),
        ["search"] = unit.Search,
        ["evaluations"] = new JsonArray([.. unit.Evaluations.Select(e => (JsonNode)new JsonObject { ["values"] = Doubles(e.Values), ["days"] = e.Days, ["score"] = Score(e.Score) })]),
        ["pick"] = Doubles(unit.Pick),
        ["pickOptions"] = unit.PickOptions.DeepClone(),
        ["pickMetSlo"] = unit.PickMetSlo,
        ["pickTrain"] = Score(unit.PickTrain),
        ["pickTrainDays"] = Days(unit.PickTrainDays),
        ["pickTestDays"] = Days(unit.PickTestDays),
        ["baselineTrain"] = Score(unit.BaselineTrain),
        ["baselineTestDays"] = Days(unit.BaselineTestDays),
    };

    /// <summary>Reads back what <see cref="Unit(TuneUnit)"/> wrote.</summary>
    /// <exception cref="InvalidDataException">A field is missing or of the wrong kind.</exception>
    public static TuneUnit ReadUnit(JsonNode node)
    {
        try
        {
            var window = node["window"]!;
            return new TuneUnit
            {
                Candidate = node["candidate"]!.GetValue<int>(),
                Window = new TuneWindow(window["index"]!.GetValue<int>(), window["deploy"]!.GetValue<bool>(), ReadLongs(window["trainDays"]!), ReadLongs(window["testDays"]!),
                    window["dayStarts"]!.AsArray().Select(d => InstantPattern.ExtendedIso.Parse(d!.GetValue<string>()).GetValueOrThrow()).ToList()),
                TargetPercent = ReadExact(node["targetPercent"]!),
                Search = node["search"]!.GetValue<string>(),
                Evaluations = node["evaluations"]!.AsArray().Select(e => new TuneEvaluation(ReadDoubles(e!["values"]!), e["days"]!.GetValue<int>(), ReadScore(e["score"]!))).ToList(),
                Pick = ReadDoubles(node["pick"]!),
                PickOptions = node["pickOptions"]!.AsObject().DeepClone().AsObject(),
                PickMetSlo = node["pickMetSlo"]!.GetValue<bool>(),
                PickTrain = ReadScore(node["pickTrain"]!),
                PickTrainDays = ReadDays(node["pickTrainDays"]!),
                PickTestDays = ReadDays(node["pickTestDays"]!),
                BaselineTrain = ReadScore(node["baselineTrain"]!),
                BaselineTestDays = ReadDays(node["baselineTestDays"]!),
            };
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException or UnparsableValueException or KeyNotFoundException)
        {
            throw new InvalidDataException($"not a tune shard's window ({e.Message})", e);
        }
    }

    private static JsonArray Longs(IEnumerable<long> values) => new([.. values.Select(v => (JsonNode)JsonValue.Create(v))]);

    private static List<long> ReadLongs(JsonNode node) => node.AsArray().Select(v => v!.GetValue<long>()).ToList();

    private static JsonArray Doubles(IEnumerable<double> values) => new([.. values.Select(v => (JsonNode)Exact(v))]);

    private static List<double> ReadDoubles(JsonNode node) => node.AsArray().Select(v => ReadExact(v!)).ToList();

    /// <summary>A double as its shortest round-trip text: read back bit for bit.</summary>
    private static JsonValue Exact(double value) => JsonValue.Create(value.ToString("R", CultureInfo.InvariantCulture));

    private static double ReadExact(JsonNode node) => double.Parse(node.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture);

    private static JsonObject Score(TuneScore s) => new()
    {
        ["dollars"] = Exact(s.Dollars),
        ["costDollars"] = Exact(s.CostDollars),
        ["requests"] = s.Requests,
        ["violations"] = s.Violations,
        ["meetsSlo"] = s.MeetsSlo,
        ["days"] = s.Days,
        ["daysMet"] = s.DaysMet,
        ["error"] = s.Error,
    };

    private static TuneScore ReadScore(JsonNode n) => new(ReadExact(n["dollars"]!), ReadExact(n["costDollars"]!), n["requests"]!.GetValue<long>(), n["violations"]!.GetValue<long>(),
        n["meetsSlo"]!.GetValue<bool>(), n["error"]?.GetValue<string>())
    {
        Days = n["days"]!.GetValue<int>(),
        DaysMet = n["daysMet"]!.GetValue<int>(),
    };

    private static JsonArray Days(IEnumerable<TuneDay> days) => new([.. days.Select(d => (JsonNode)new JsonObject
    {
        ["start"] = Text(d.Start),
        ["dollars"] = Exact(d.Dollars),
        ["costDollars"] = Exact(d.CostDollars),
        ["requests"] = d.Requests,
        ["violations"] = d.Violations,
        ["meetsSlo"] = d.MeetsSlo,
        ["error"] = d.Error,
    })]);

    private static List<TuneDay> ReadDays(JsonNode node) => node.AsArray().Select(d => new TuneDay(InstantPattern.ExtendedIso.Parse(d!["start"]!.GetValue<string>()).GetValueOrThrow(),
        ReadExact(d["dollars"]!), ReadExact(d["costDollars"]!), d["requests"]!.GetValue<long>(), d["violations"]!.GetValue<long>(), d["meetsSlo"]!.GetValue<bool>(),
        d["error"]?.GetValue<string>())).ToList();
}
