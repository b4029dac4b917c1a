using System.Globalization;
using System.Text;
using System.Text.Json;
using Autoscale.Backtesting;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Traces;
using NodaTime.Text;

namespace Autoscale.Cli.Output;

/// <summary>The results of one backtest as JSON and CSV documents; byte-stable for the same inputs.</summary>
internal sealed class ResultDocument(string tracePath, TickTrace trace, ReplaySettings settings, IReadOnlyList<CandidateResult> results)
{
    private static readonly string[] CsvColumns =
    [
        "rank", "name", "policy", "requests", "served", "late", "dropped", "queuedAtEnd", "violations", "violationPercent",
        "meetsSlo", "waitP50Seconds", "waitP95Seconds", "waitP99Seconds", "waitMaxSeconds", "worstMinuteViolations",
        "dollars", "idleDollars", "loadingDollars", "costDollars", "coldStarts", "peakReplicas", "endReplicas", "onParetoFront", "error",
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
            json.WriteString("start", InstantPattern.ExtendedIso.Format(trace.Start));
            json.WriteString("end", InstantPattern.ExtendedIso.Format(trace.End));
            json.WriteNumber("ticks", trace.Length);
            json.WriteNumber("requests", trace.TotalRequests);
            json.WriteEndObject();
            json.WriteStartObject("slo");
            json.WriteNumber("maxWaitSeconds", settings.Slo.MaxWaitSeconds);
            json.WriteNumber("targetPercent", settings.Slo.TargetPercent);
            json.WriteEndObject();
            json.WriteStartArray("candidates");
            foreach (var r in results)
            {
                json.WriteStartObject();
                json.WriteString("name", r.Name);
                json.WriteString("policy", r.Policy);
                json.WriteNumber("rank", r.Rank);
                json.WriteNumber("requests", r.Requests);
                json.WriteNumber("served", r.Served);
                json.WriteNumber("late", r.Late);
                json.WriteNumber("dropped", r.Dropped);
                json.WriteNumber("queuedAtEnd", r.QueuedAtEnd);
                json.WriteNumber("violations", r.Violations);
                json.WriteNumber("violationPercent", Round(r.ViolationPercent));
                json.WriteBoolean("meetsSlo", r.MeetsSlo);
                json.WriteNumber("waitP50Seconds", r.WaitP50Seconds);
                json.WriteNumber("waitP95Seconds", r.WaitP95Seconds);
                json.WriteNumber("waitP99Seconds", r.WaitP99Seconds);
                json.WriteNumber("waitMaxSeconds", r.WaitMaxSeconds);
                json.WriteNumber("worstMinuteViolations", r.WorstMinuteViolations);
                json.WriteNumber("worstMinuteStartSeconds", r.WorstMinuteStartSeconds);
                json.WriteNumber("dollars", Round(r.Dollars));
                json.WriteNumber("idleDollars", Round(r.IdleDollars));
                json.WriteNumber("loadingDollars", Round(r.LoadingDollars));
                json.WriteNumber("costDollars", Round(r.CostDollars));
                json.WriteNumber("replicaSeconds", Round(r.ReplicaSeconds));
                json.WriteNumber("idleReplicaSeconds", Round(r.IdleReplicaSeconds));
                json.WriteNumber("coldStarts", r.ColdStarts);
                json.WriteNumber("peakReplicas", r.PeakReplicas);
                json.WriteNumber("endReplicas", r.EndReplicas);
                json.WriteBoolean("onParetoFront", r.OnParetoFront);
                if (r.Error is not null)
                {
                    json.WriteString("error", r.Error);
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
        var ci = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.Append(string.Join(',', CsvColumns)).Append('\n');
        foreach (var r in results)
        {
            string[] row =
            [
                r.Rank.ToString(ci), Quote(r.Name), Quote(r.Policy), r.Requests.ToString(ci), r.Served.ToString(ci), r.Late.ToString(ci),
                r.Dropped.ToString(ci), r.QueuedAtEnd.ToString(ci), r.Violations.ToString(ci), Round(r.ViolationPercent).ToString("R", ci),
                r.MeetsSlo ? "true" : "false", N(r.WaitP50Seconds), N(r.WaitP95Seconds), N(r.WaitP99Seconds), N(r.WaitMaxSeconds),
                r.WorstMinuteViolations.ToString(ci), N(Round(r.Dollars)), N(Round(r.IdleDollars)), N(Round(r.LoadingDollars)),
                N(Round(r.CostDollars)), r.ColdStarts.ToString(ci), r.PeakReplicas.ToString(ci), r.EndReplicas.ToString(ci),
                r.OnParetoFront ? "true" : "false", Quote(r.Error ?? ""),
            ];
            text.Append(string.Join(',', row)).Append('\n');
        }

        return text.ToString();

        static string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    }

    public async Task WriteFolderAsync(string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        await AtomicFile.WriteTextAsync(Path.Combine(directory, "results.json"), ToJson(), cancellationToken);
        await AtomicFile.WriteTextAsync(Path.Combine(directory, "results.csv"), ToCsv(), cancellationToken);
    }

    private static double Round(double value) => Math.Round(value, 6);

    private static string Quote(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
}
