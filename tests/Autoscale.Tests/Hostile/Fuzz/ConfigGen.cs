using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace Autoscale.Tests.Hostile.Fuzz;

/// <summary>
/// Backtest configs, mostly valid and sometimes hostile: every section and option the options reference lists,
/// with values drawn from each option's documented range (its bounds included), then a few objects mutated (a
/// value replaced by a hostile one, a key added, given twice or in another case, a required key dropped) and
/// now and then the text itself damaged (cut short, invalid UTF-8, a byte-order mark, a comment).
/// </summary>
internal static class ConfigGen
{
    /// <summary>Values no option takes, or takes only at its edge.</summary>
    private static readonly string[] Hostile =
    [
        "1e308", "-1e308", "-1", "0", "-0", "1e-320", "0.5", "9223372036854775807", "18446744073709551616", "-9223372036854775809",
        "\"1\"", "\"\"", "\"\\ud800\"", "\"\\u0000\"", "null", "true", "[]", "{}", "[1e308]", "{ \"a\": 1 }", "2147483648", "4294967297",
    ];

    private static readonly string[] Names = ["\"a\"", "\"b\"", "\"warm pool\"", "\"名前 ü\"", "\"c\"", "\"d\"", "\"e\""];

    public static Gen<byte[]> Config =>
        from slo in Mutated(Members(OptionsTable.Rows("slo")))
        from replica in Mutated(Members(OptionsTable.Rows("replica")))
        from engine in Optional(Members(OptionsTable.Rows("engine")))
        from billing in Optional(Members(OptionsTable.Rows("billing")))
        from report in Optional(Members(OptionsTable.Rows("report")))
        from count in Gen.Frequency((1, Gen.Constant(0)), (40, Gen.Choose(1, 3)))
        from candidates in Gen.ListOf(Candidate, count)
        from top in Mutated(Gen.Constant(Present(("slo", Render(slo)), ("replica", Render(replica)), ("engine", engine), ("billing", billing), ("report", report), ("candidates", "[ " + string.Join(", ", candidates) + " ]"))))
        from bytes in Damaged(Encoding.UTF8.GetBytes(Render(top)))
        select bytes;

    private static Gen<string> Candidate =>
        from policy in Gen.Frequency((60, Gen.Elements(SinglePolicies)), (1, Gen.Constant("no-such-policy")))
        from name in Gen.Elements(Names)
        from options in Gen.Frequency((1, Gen.Constant<string?>(null)), (6, PolicyOptions(policy).Select(o => (string?)o)))
        from sweep in Gen.Frequency((10, Gen.Constant<string?>(null)), (1, Sweep(policy).Select(s => (string?)s)))
        from loadTime in LoadTime
        from rest in Members(OptionsTable.Rows("candidates[]").Where(r => r.Name is "decisionIntervalSeconds" or "metricsDelaySeconds"))
        from members in Mutated(Gen.Constant(Present([("name", name), ("policy", Quote(policy)), ("options", options), ("sweep", sweep), ("loadTime", loadTime), .. rest.Select(m => ((string, string?))m)])))
        select Render(members);

    private static Gen<string> LoadTime => Gen.Frequency(
        (4, Object("load:fixedSeconds")),
        (2, Object("load:fixed")),
        (3, Object("load:phased")),
        (1, Object("load:empirical")));

    private static Gen<string> PolicyOptions(string policy) =>
        policy == "max"
            ? from count in Gen.Frequency((1, Gen.Constant(0)), (20, Gen.Choose(1, 3)))
              from inner in Gen.ListOf(
                  from p in Gen.Elements(SinglePolicies.Where(p => p != "max").ToArray())
                  from o in Object(p)
                  select $"{{ \"policy\": {Quote(p)}, \"options\": {o} }}", count)
              select $"{{ \"policies\": [ {string.Join(", ", inner)} ] }}"
            : Object(policy);

    /// <summary>A sweep of one numeric option: a short list, or a range (now and then a huge or degenerate one).</summary>
    private static Gen<string> Sweep(string policy)
    {
        var numeric = OptionsTable.Rows(policy).Where(r => r.Type is "integer" or "number" or "duration").Select(r => r.Name).DefaultIfEmpty("bogus").ToArray();
        return from option in Gen.Elements(numeric)
               from form in Gen.Elements(
                   "[0, 1, 2]", "[1, 3]", "[]", "[1, 1]", "{ \"from\": 0, \"to\": 4 }", "{ \"from\": 0, \"to\": 6, \"step\": 2 }",
                   "{ \"from\": 0, \"to\": 1e9 }", "{ \"from\": 0, \"to\": 20, \"step\": 1e-9 }", "{ \"from\": 5, \"to\": 1 }", "{ \"from\": 0, \"to\": 4, \"step\": 0 }",
                   "{ \"from\": 0, \"to\": 4, \"step\": -1 }", "\"x\"")
               from second in Gen.Frequency((4, Gen.Constant("")), (1, Gen.Elements(numeric).Select(o => $", {Quote(o)}: [1, 2]")))
               select $"{{ {Quote(option)}: {form}{second} }}";
    }

    /// <summary>An object of <paramref name="section"/>'s options, mutated now and then.</summary>
    private static Gen<string> Object(string section) => Mutated(Members(OptionsTable.Rows(section), section)).Select(Render);

    private static Gen<string?> Optional(Gen<List<(string Key, string Value)>> members) =>
        Gen.Frequency((1, Gen.Constant<string?>(null)), (2, Mutated(members).Select(m => (string?)Render(m))));

    private static Gen<List<(string Key, string Value)>> Members(IEnumerable<OptionRow> rows, string section = "", bool nested = false) =>
        Gen.CollectToList(rows.Select(row =>
                Gen.Frequency(
                    (Required(row) ? 1 : (Rare(row) && !nested) || Pooled(row) ? 400 : 3, Gen.Constant<(string, string)?>(null)),
                    (Required(row) ? 150 : 2, (nested ? NestedValue(row, section) : Value(row, section)).Select(v => ((string, string)?)(row.Name, v))))))
            .Select(members => members.Where(m => m is not null).Select(m => m!.Value).ToList());

    /// <summary>
    /// A section of docs/options.md with every nested object and list of objects written out from its own table (the
    /// serving profile's step times and tokens, a cluster's node pools and their stockouts), mutated now and then.
    /// </summary>
    public static Gen<string> Section(string section) => Mutated(Members(OptionsTable.Rows(section), section, nested: true)).Select(Render);

    private static Gen<string> NestedValue(OptionRow row, string section) => row.Type switch
    {
        "object" when OptionsTable.Sections.ContainsKey(row.Name) => Section(row.Name),
        "list of objects" when OptionsTable.Sections.ContainsKey(row.Name + "[]") =>
            from count in Gen.Choose(1, 2)
            from items in Gen.ListOf(Section(row.Name + "[]"), count)
            select "[ " + string.Join(", ", items) + " ]",
        "list of list of number" => Gen.Elements("[[1, 1], [40, 2]]", "[[3, 1]]", "[]", "[[0, 1]]"),
        _ => Value(row, section),
    };

    /// <summary>
    /// Required by the reference, or by the count model these configs replay: its capacity and its queue-wait SLO
    /// (a serving profile may take their place; serving configs are fuzzed apart).
    /// </summary>
    private static bool Required(OptionRow row) => row.Required || row.Name is "capacityRps" or "maxWaitSeconds" or "stepSeconds" or "base";

    /// <summary>
    /// Seldom given: the serving profile and its SLOs (refused without it), and lists of objects this generator only
    /// writes as <c>{}</c> (an HPA's metrics, a ScaledObject's triggers), so that most configs can succeed.
    /// </summary>
    private static bool Rare(OptionRow row) =>
        row.Name is "serving" or "maxTtftSeconds" or "maxTpotSeconds" or "maxE2eSeconds" or "hardware"
        || (row.Type == "list of objects" && row.Name is not ("schedule" or "policies"));

    /// <summary>
    /// Disaggregated pools (a serving profile's <c>disaggregation</c>, a candidate's <c>policies</c>) are seldom given, in
    /// nested sections too: they change what a config must hold, and are fuzzed by the tests of their own bad input.
    /// </summary>
    private static bool Pooled(OptionRow row) => row.Name is "disaggregation" || (row.Name is "policies" && row.Type == "object");

    /// <summary>The built-in policies a candidate names alone: all but those that scale one pool of a disaggregated fleet.</summary>
    private static string[] SinglePolicies => [.. OptionsTable.Policies.Where(p => p is not ("pd-ratio" or "dynamo-sla"))];

    private static Gen<string> Value(OptionRow row, string section) => row.Type switch
    {
        // Whole seconds where the engine counts whole ticks; now and then a fraction, refused with a 1 s tick.
        "duration" when row.Name is "decisionIntervalSeconds" or "metricsDelaySeconds" =>
            Gen.Frequency((12, Gen.Elements("1", "5", "15", "60", "\"15s\"", "\"1m\"")), (1, Gen.Elements("0.5", "0.001", "1e9", "\"500ms\"", "\"soon\""))),
        // A duration as seconds mostly, now and then with a unit or in ISO-8601 (the same value), or no duration at all.
        "duration" => Gen.Frequency(
            (10, Numbers(row, [0, 0.001, 0.5, 1, 2, 5, 15, 25, 30, 60, 99, 300, 3600])),
            (2, Gen.Elements("\"90s\"", "\"5m\"", "\"250ms\"", "\"PT30S\"", "\"00:01:00\"")),
            (1, Gen.Elements("\"ten\"", "\"-5s\"", "\"1e400s\"", "\"P1000000D\""))),
        "number" => Numbers(row, [0, 0.001, 0.5, 1, 2, 5, 15, 25, 30, 60, 99, 300, 3600]),
        "integer" => Numbers(row, [0, 1, 2, 3, 8, 40]),
        "boolean" => Gen.Elements("true", "false"),
        "string" => Text(row.Name, section),
        "object" when row.Name is "jitter" or "cache" => Object(row.Name),
        "list of objects" when row.Name == "schedule" =>
            from count in Gen.Choose(0, 3)
            from windows in Gen.ListOf(Object("schedule[]"), count)
            select "[ " + string.Join(", ", windows) + " ]",
        var type when type.StartsWith("one of", StringComparison.Ordinal) => OneOf(type.Split('`').Where((_, i) => i % 2 == 1).ToArray()),
        _ => Gen.Constant("{}"),
    };

    /// <summary>One of the listed values (the serving profile's metrics seldom: these configs replay the count model), or none of them.</summary>
    private static Gen<string> OneOf(string[] values)
    {
        string[] serving = ["waitingPerReplica", "runningPerReplica", "kvCacheUtilization", "ttftP95Seconds"];
        var plain = values.Where(v => !serving.Contains(v)).Select(Quote).Append("\"neither\"").ToArray();
        var rare = values.Where(serving.Contains).Select(Quote).ToArray();
        return rare.Length == 0 ? Gen.Elements(plain) : Gen.Frequency((8, Gen.Elements(plain)), (1, Gen.Elements(rare)));
    }

    /// <summary>Values in the option's range: mostly everyday ones, sometimes its bounds exactly.</summary>
    private static Gen<string> Numbers(OptionRow row, double[] everyday)
    {
        var (low, lowIn, high, highIn) = row.Bounds;
        var inRange = everyday.Where(row.Admits).ToList();
        var edges = new[] { lowIn ? low : null, highIn ? high : null }.OfType<double>().ToList();
        var all = inRange.Count > 0 ? inRange : edges.Count > 0 ? edges : [1];
        var text = (double v) => v.ToString("R", CultureInfo.InvariantCulture);
        return edges.Count == 0
            ? Gen.Elements(all.Select(text).ToArray())
            : Gen.Frequency((6, Gen.Elements(all.Select(text).ToArray())), (1, Gen.Elements(edges.Select(text).ToArray())));
    }

    private static Gen<string> Text(string name, string section) => name switch
    {
        "model" when section == "hardware" => Gen.Frequency((12, Gen.Elements("\"llama-3.1-8b\"", "\"Qwen/Qwen3-14B\"", "\"mixtral-8x7b\"", "\"Llama-2-7b-hf\"")), (1, Gen.Elements("\"gpt-17\"", "\"config.json\""))),
        "gpu" => Gen.Frequency((12, Gen.Elements("\"H100-SXM\"", "\"a100-80gb\"", "\"H200\"", "\"b200\"")), (1, Gen.Elements("\"tpu-v5\"", "\"\""))),
        "dtype" => Gen.Frequency((12, Gen.Elements("\"bf16\"", "\"fp8\"")), (1, Gen.Constant("\"int4\""))),
        "name" when section == "calibration" => Gen.Frequency((12, Gen.Elements("\"blis-trained-physics\"", "\"splitwise-2023\"", "\"vidur-2024-prefill\"")), (1, Gen.Constant("\"mine\""))),
        "model" => Gen.Constant(Quote(section.Replace("load:", "", StringComparison.Ordinal))),
        "timeZone" => Gen.Frequency((12, Gen.Elements("\"UTC\"", "\"Europe/Berlin\"", "\"America/New_York\"", "\"Asia/Kolkata\"", "\"Pacific/Chatham\"")), (1, Gen.Elements("\"Mars/Olympus\"", "\"\""))),
        "days" => Gen.Frequency((12, Gen.Elements("\"*\"", "\"Mon-Fri\"", "\"Sat,Sun\"", "\"Fri-Mon\"")), (1, Gen.Elements("\"Funday\"", "\"\""))),
        "from" or "to" => Gen.Frequency((12, Gen.Elements("\"00:00\"", "\"08:30\"", "\"18:00\"", "\"24:00\"")), (1, Gen.Elements("\"25:61\"", "\"8\""))),
        "distribution" => Gen.Frequency((12, Gen.Constant("\"lognormal\"")), (1, Gen.Constant("\"normal\""))),
        "file" => Gen.Frequency((12, Gen.Constant("\"loads.csv\"")), (1, Gen.Elements("\"missing.csv\"", "\".\""))),
        "column" => Gen.Frequency((12, Gen.Constant("\"seconds\"")), (1, Gen.Constant("\"secs\""))),
        "fit" => Gen.Frequency((12, Gen.Elements("\"none\"", "\"lognormal\"")), (1, Gen.Constant("\"gamma\""))),
        "serving" => Gen.Frequency((12, Gen.Constant("\"request\"")), (1, Gen.Elements("\"fluid\"", "\"tokens\""))),
        _ => Gen.Elements("\"x\"", "\"\""),
    };

    /// <summary>Mostly the members as they are; now and then one replaced, added, given twice or dropped.</summary>
    private static Gen<List<(string Key, string Value)>> Mutated(Gen<List<(string Key, string Value)>> members) =>
        members.SelectMany(m => Gen.Frequency(
            (150, Gen.Constant(m)),
            (1, from i in Gen.Choose(0, Math.Max(0, m.Count - 1)) from h in Gen.Elements(Hostile) select m.Count == 0 ? [("bogus", h)] : m.Select((x, j) => j == i ? (x.Key, h) : x).ToList()),
            (1, from k in Gen.Elements("bogus", "Slo", "MAXWAITSECONDS", "x y", "") from h in Gen.Elements(Hostile) select m.Append((k, h)).ToList()),
            (1, from i in Gen.Choose(0, Math.Max(0, m.Count - 1)) from upper in Gen.Elements(true, false)
                select m.Count == 0 ? m : m.Append((upper ? m[i].Key.ToUpperInvariant() : m[i].Key, m[i].Value)).ToList()),
            (1, from i in Gen.Choose(0, Math.Max(0, m.Count - 1)) select m.Where((_, j) => j != i).ToList())));

    /// <summary>Mostly the text as it is; now and then cut short, with a byte that begins no character, a byte-order mark or a comment.</summary>
    private static Gen<byte[]> Damaged(byte[] text) => Gen.Frequency(
        (60, Gen.Constant(text)),
        (1, Gen.Choose(0, text.Length - 1).Select(at => text[..at])),
        (1, from at in Gen.Choose(0, text.Length) from b in Gen.Elements<byte>(0xFF, 0xC3, 0x80, 0xED) select (byte[])[.. text[..at], b, .. text[at..]]),
        (1, Gen.Constant((byte[])[0xEF, 0xBB, 0xBF, .. text])),
        (1, Gen.Constant((byte[])[.. "// a comment\n"u8, .. text])));

    private static List<(string Key, string Value)> Present(params (string Key, string? Value)[] members) =>
        members.Where(m => m.Value is not null).Select(m => (m.Key, m.Value!)).ToList();

    private static string Render(List<(string Key, string Value)> members) =>
        "{ " + string.Join(", ", members.Select(m => $"{Quote(m.Key)}: {m.Value}")) + " }";

    private static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text);
}
