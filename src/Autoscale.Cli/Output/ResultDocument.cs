using System.Globalization;
using System.Text;
using System.Text.Json;
using Autoscale.Backtesting;
using Autoscale.Backtesting.Engine;
using NodaTime.Text;

namespace Autoscale.Cli.Output;

/// <summary>The results of one backtest as JSON and CSV documents; byte-stable for the same inputs.</summary>
internal sealed class ResultDocument(string tracePath, NodaTime.Instant start, NodaTime.Instant end, long ticks, long requests, ReplaySettings settings, IReadOnlyList<CandidateResult> results)
{
    // One list of fields, in document order, for both the JSON objects and the CSV columns.
    private static readonly (string Name, Func<CandidateResult, object?> Value)[] Fields =
    [
        ("rank", r => r.Rank),
        ("name", r => r.Name),
        ("policy", r => r.Policy),
        ("requests", r => r.Requests),
        ("served", r => r.Served),
        ("late", r => r.Late),
        ("dropped", r => r.Dropped),
        ("queuedAtEnd", r => r.QueuedAtEnd),
        ("violations", r => r.Violations),
        ("violationPercent", r => Round(r.ViolationPercent)),
        ("meetsSlo", r => r.MeetsSlo),
        ("waitP50Seconds", r => r.WaitP50Seconds),
        ("waitP95Seconds", r => r.WaitP95Seconds),
        ("waitP99Seconds", r => r.WaitP99Seconds),
        ("waitMaxSeconds", r => r.WaitMaxSeconds),
        ("worstMinuteViolations", r => r.WorstMinuteViolations),
        ("worstMinuteStartSeconds", r => r.WorstMinuteStartSeconds),
        ("dollars", r => Round(r.Dollars)),
        ("idleDollars", r => Round(r.IdleDollars)),
        ("loadingDollars", r => Round(r.LoadingDollars)),
        ("costDollars", r => Round(r.CostDollars)),
        ("holdDollars", r => Round(r.HoldDollars)),
        ("replicaSeconds", r => Round(r.ReplicaSeconds)),
        ("idleReplicaSeconds", r => Round(r.IdleReplicaSeconds)),
        ("coldStarts", r => r.ColdStarts),
        ("peakReplicas", r => r.PeakReplicas),
        ("endReplicas", r => r.EndReplicas),
        ("onParetoFront", r => r.OnParetoFront),
        ("policyMetrics", r => r.PolicyMetrics.Count == 0 ? null : r.PolicyMetrics),
        ("loadMetrics", r => r.LoadMetrics.Count == 0 ? null : r.LoadMetrics),
        ("error", r => r.Error),
    ];

    public IReadOnlyList<CandidateResult> Results => results;

    public ReplaySettings Settings => settings;

    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("trace");
            json.WriteString("file", tracePath);
            json.WriteString("start", InstantPattern.ExtendedIso.Format(start));
            json.WriteString("end", InstantPattern.ExtendedIso.Format(end));
            json.WriteNumber("ticks", ticks);
            json.WriteNumber("requests", requests);
            json.WriteEndObject();
            json.WriteStartObject("slo");
            json.WriteNumber("maxWaitSeconds", settings.Slo.MaxWaitSeconds);
            json.WriteNumber("targetPercent", settings.Slo.TargetPercent);
            json.WriteEndObject();
            json.WriteStartArray("candidates");
            foreach (var r in results)
            {
                json.WriteStartObject();
                foreach (var (name, value) in Fields)
                {
                    WriteJson(json, name, value(r));
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    public string ToCsv()
    {
        var text = new StringBuilder();
        text.AppendJoin(',', Fields.Select(f => f.Name)).Append('\n');
        foreach (var r in results)
        {
            text.AppendJoin(',', Fields.Select(f => CsvValue(f.Value(r)))).Append('\n');
        }

        return text.ToString();
    }

    public async Task WriteFolderAsync(string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        await AtomicFile.WriteTextAsync(Path.Combine(directory, "results.json"), ToJson(), cancellationToken);
        await AtomicFile.WriteTextAsync(Path.Combine(directory, "results.csv"), ToCsv(), cancellationToken);
    }

    private static double Round(double value) => Math.Round(value, 6);

    private static void WriteJson(Utf8JsonWriter json, string name, object? value)
    {
        switch (value)
        {
            case null:
                break; // absent fields (no error) are left out
            case string s:
                json.WriteString(name, s);
                break;
            case bool b:
                json.WriteBoolean(name, b);
                break;
            case int i:
                json.WriteNumber(name, i);
                break;
            case long l:
                json.WriteNumber(name, l);
                break;
            case double d:
                json.WriteNumber(name, d);
                break;
            case IReadOnlyDictionary<string, double> metrics:
                json.WriteStartObject(name);
                foreach (var (key, number) in metrics)
                {
                    json.WriteNumber(key, number);
                }

                json.WriteEndObject();
                break;
            default:
                throw new InvalidOperationException($"field {name} has an unexpected type {value.GetType().Name}");
        }
    }

    private static string CsvValue(object? value) => value switch
    {
        null => "",
        string s => Quote(s),
        bool b => b ? "true" : "false",
        IReadOnlyDictionary<string, double> metrics => Quote(string.Join(";", metrics.Select(m => $"{m.Key}={m.Value.ToString("R", CultureInfo.InvariantCulture)}"))),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => Quote(value.ToString() ?? ""),
    };

    private static string Quote(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
}
