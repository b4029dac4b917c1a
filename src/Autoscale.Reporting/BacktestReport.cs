using System.Globalization;
using System.Text;
using System.Text.Json;
using Autoscale.Shared;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.Results;
using NodaTime.Text;

namespace Autoscale.Reporting;

/// <summary>What a report says about the trace a backtest replayed.</summary>
/// <param name="File">The trace file as the user named it.</param>
/// <param name="Start">The instant tick 0 began.</param>
/// <param name="End">The instant the last tick ended.</param>
/// <param name="Ticks">Ticks replayed.</param>
/// <param name="Requests">Requests in the trace.</param>
/// <param name="Tokens">Input plus output tokens, when the trace has them.</param>
public sealed record TraceInfo(string File, NodaTime.Instant Start, NodaTime.Instant End, long Ticks, long Requests, long? Tokens = null);

/// <summary>
/// The results of one backtest as documents: JSON, CSV, a self-contained HTML report with PNG plots.
/// Same inputs, same bytes.
/// </summary>
public sealed class BacktestReport(TraceInfo trace, ReplaySettings settings, IReadOnlyList<CandidateResult> results,
    IReadOnlyList<SweepAnalysis>? sweeps = null, IReadOnlyList<SeedSpread>? seeds = null, string timeZone = "UTC", IReadOnlyList<string>? warnings = null)
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
        ("worstHourViolations", r => r.WorstHourViolations),
        ("worstHourStartSeconds", r => r.WorstHourStartSeconds),
        ("breachMinutes", r => r.BreachMinutes),
        ("breachMinutesPercent", r => Round(r.BreachMinutesPercent)),
        ("longestBreachMinutes", r => r.LongestBreachMinutes),
        ("errorBudgetBurn", r => double.IsFinite(r.ErrorBudgetBurn) ? Round(r.ErrorBudgetBurn) : null),
        ("dollars", r => Round(r.Dollars)),
        ("dollarsPerHour", r => Round(r.DollarsPerHour)),
        ("idleDollars", r => Round(r.IdleDollars)),
        ("loadingDollars", r => Round(r.LoadingDollars)),
        ("costDollars", r => Round(r.CostDollars)),
        ("holdDollars", r => Round(r.HoldDollars)),
        ("roundingDollars", r => Round(r.RoundingDollars)),
        ("dollarsPer1000Requests", r => Round(r.DollarsPer1000Requests)),
        ("replicaSeconds", r => Round(r.ReplicaSeconds)),
        ("idleReplicaSeconds", r => Round(r.IdleReplicaSeconds)),
        ("coldStarts", r => r.ColdStarts),
        ("capacityLagMaxSeconds", r => Round(r.CapacityLagMaxSeconds)),
        ("capacityLagMeanSeconds", r => Round(r.CapacityLagMeanSeconds)),
        ("scaleActions", r => r.ScaleActions),
        ("flaps", r => r.Flaps),
        ("peakReplicas", r => r.PeakReplicas),
        ("endReplicas", r => r.EndReplicas),
        ("onParetoFront", r => r.OnParetoFront),
        ("policyMetrics", r => r.PolicyMetrics.Count == 0 ? null : r.PolicyMetrics),
        ("loadMetrics", r => r.LoadMetrics.Count == 0 ? null : r.LoadMetrics),
        ("warnings", r => r.Warnings.Count == 0 ? null : r.Warnings),
        ("error", r => r.Error),
    ];

    // With a serving profile, after dollarsPer1000Requests; a dropped request's infinite latency is written as null.
    private static readonly (string Name, Func<CandidateResult, object?> Value)[] ServingFields =
    [
        ("ttftP50Seconds", r => Finite(r.Serving?.TtftP50Seconds)),
        ("ttftP90Seconds", r => Finite(r.Serving?.TtftP90Seconds)),
        ("ttftP99Seconds", r => Finite(r.Serving?.TtftP99Seconds)),
        ("tpotP50Seconds", r => Finite(r.Serving?.TpotP50Seconds)),
        ("tpotP99Seconds", r => Finite(r.Serving?.TpotP99Seconds)),
        ("e2eP50Seconds", r => Finite(r.Serving?.E2eP50Seconds)),
        ("e2eP99Seconds", r => Finite(r.Serving?.E2eP99Seconds)),
        ("ttftMeanSeconds", r => Finite(r.Serving?.TtftMeanSeconds)),
        ("tpotMeanSeconds", r => Finite(r.Serving?.TpotMeanSeconds)),
        ("e2eMeanSeconds", r => Finite(r.Serving?.E2eMeanSeconds)),
        ("goodputRps", r => Finite(r.Serving?.GoodputRps)),
        ("inputTokensPerSecond", r => Finite(r.Serving?.InputTokensPerSecond)),
        ("outputTokensPerSecond", r => Finite(r.Serving?.OutputTokensPerSecond)),
        ("kvCacheUtilization", r => Finite(r.Serving?.KvCacheUtilization)),
        ("dollarsPerMillionTokens", r => Finite(r.Serving?.DollarsPerMillionTokens)),
        ("preemptions", r => r.Serving?.Preemptions),
        ("nominalCapacityRps", r => Finite(r.Serving?.NominalCapacityRps)),
    ];

    // With prefix caching on a trace with prefix columns, after the serving fields.
    private static readonly (string Name, Func<CandidateResult, object?> Value)[] PrefixFields =
    [
        ("prefixCacheHitRate", r => Finite(r.Serving?.PrefixCacheHitRate)),
    ];

    // On a cluster, after the serving fields (or dollarsPer1000Requests); dollars are then node dollars.
    private static readonly (string Name, Func<CandidateResult, object?> Value)[] ClusterFields =
    [
        ("nodeDollars", r => Finite(r.Cluster?.NodeDollars)),
        ("idleGpuDollars", r => Finite(r.Cluster?.IdleGpuDollars)),
        ("replicaGpuDollars", r => Finite(r.Cluster?.ReplicaDollars)),
        ("onDemandDollars", r => Finite(r.Cluster?.OnDemandDollars)),
        ("spotDollars", r => Finite(r.Cluster?.SpotDollars)),
        ("committedDollars", r => Finite(r.Cluster?.CommittedDollars)),
        ("warmNodeDollars", r => Finite(r.Cluster?.WarmNodeDollars)),
        ("provisionWaitP50Seconds", r => Finite(r.Cluster?.ProvisionWaitP50Seconds)),
        ("provisionWaitP99Seconds", r => Finite(r.Cluster?.ProvisionWaitP99Seconds)),
        ("provisionWaitMaxSeconds", r => Finite(r.Cluster?.ProvisionWaitMaxSeconds)),
        ("pendingSeconds", r => Finite(r.Cluster?.PendingSeconds)),
        ("unplacedReplicas", r => r.Cluster?.UnplacedReplicas),
        ("nodePreemptions", r => r.Cluster?.Preemptions),
        ("preemptedReplicas", r => r.Cluster?.PreemptedReplicas),
        ("crashes", r => r.Cluster?.Crashes),
        ("requestsLost", r => r.Cluster?.RequestsLost),
        ("requestsRetried", r => r.Cluster?.RequestsRetried),
        ("stockoutMinutes", r => Finite(r.Cluster?.StockoutMinutes)),
        ("provisionFailures", r => r.Cluster?.ProvisionFailures),
        ("peakNodes", r => r.Cluster?.PeakNodes),
        ("poolDollars", r => r.Cluster is { } c ? c.Pools.ToDictionary(p => p.Name, p => Round(p.Dollars), StringComparer.Ordinal) : null),
    ];

    private (string Name, Func<CandidateResult, object?> Value)[] ActiveFields
    {
        get
        {
            (string Name, Func<CandidateResult, object?> Value)[] extra =
            [
                .. results.Any(r => r.Serving is not null) ? ServingFields : [],
                .. results.Any(r => r.Serving?.PrefixCacheHitRate is not null) ? PrefixFields : [],
                .. results.Any(r => r.Cluster is not null) ? ClusterFields : [],
            ];
            return extra.Length == 0
                ? Fields
                : [.. Fields.TakeWhile(f => f.Name != "replicaSeconds"), .. extra, .. Fields.SkipWhile(f => f.Name != "replicaSeconds")];
        }
    }

    private static object? Finite(double? value) => value is { } v && double.IsFinite(v) ? Round(v) : null;

    /// <summary>The results in rank order.</summary>
    public IReadOnlyList<CandidateResult> Results => results;

    /// <summary>The settings every candidate shared.</summary>
    public ReplaySettings Settings => settings;

    /// <summary>The trace.</summary>
    public TraceInfo Trace => trace;

    /// <summary>The sweeps, each with its knee.</summary>
    public IReadOnlyList<SweepAnalysis> Sweeps => sweeps ?? [];

    /// <summary>The spread over seeds, when the backtest ran several.</summary>
    public IReadOnlyList<SeedSpread> SeedSpreads => seeds ?? [];

    /// <summary>The IANA time zone the report shows times in.</summary>
    public string TimeZone => timeZone;

    /// <summary>
    /// Everything a user should know about the run: each candidate's warnings (<c>name: warning</c>, in rank order)
    /// and the run's own (<c>--seeds</c> with nothing random, say).
    /// </summary>
    public IReadOnlyList<string> Warnings { get; } =
        [.. results.Where(r => !r.Failed).SelectMany(r => r.Warnings.Select(w => $"{r.Name}: {w}")), .. warnings ?? []];

    /// <summary>The results as one JSON object: trace, SLO, candidates in rank order, sweeps, seed spread.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("trace");
            json.WriteString("file", trace.File);
            json.WriteString("start", InstantPattern.ExtendedIso.Format(trace.Start));
            json.WriteString("end", InstantPattern.ExtendedIso.Format(trace.End));
            json.WriteNumber("ticks", trace.Ticks);
            json.WriteNumber("requests", trace.Requests);
            json.WriteNumber("spanSeconds", (trace.End - trace.Start).TotalSeconds);
            json.WriteString("timeZone", timeZone);
            if (trace.Tokens is { } tokens)
            {
                json.WriteNumber("tokens", tokens);
            }

            json.WriteEndObject();
            json.WriteStartObject("slo");
            WriteOptional(json, "maxWaitSeconds", settings.Slo.MaxWait?.TotalSeconds);
            WriteOptional(json, "maxTtftSeconds", settings.Slo.MaxTtft?.TotalSeconds);
            WriteOptional(json, "maxTpotSeconds", settings.Slo.MaxTpot?.TotalSeconds);
            WriteOptional(json, "maxE2eSeconds", settings.Slo.MaxE2e?.TotalSeconds);
            json.WriteNumber("targetPercent", settings.Slo.TargetPercent);
            json.WriteEndObject();
            json.WriteStartArray("candidates");
            foreach (var r in results)
            {
                json.WriteStartObject();
                foreach (var (name, value) in ActiveFields)
                {
                    WriteJson(json, name, value(r));
                }

                if (r.Pools is { } pools)
                {
                    // A disaggregated fleet: each pool's own result beside the totals, with the same fields.
                    json.WriteStartObject("pools");
                    foreach (var (pool, result) in new[] { ("prefill", pools.Prefill), ("decode", pools.Decode) })
                    {
                        json.WriteStartObject(pool);
                        foreach (var (name, value) in ActiveFields)
                        {
                            WriteJson(json, name, value(result));
                        }

                        json.WriteEndObject();
                    }

                    json.WriteEndObject();
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            WriteSweeps(json);
            WriteSeeds(json);
            json.WriteStartArray("warnings");
            foreach (var warning in Warnings)
            {
                json.WriteStringValue(warning);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>The results as CSV, one row per candidate in rank order.</summary>
    public string ToCsv()
    {
        var text = new StringBuilder();
        var fields = ActiveFields;

        // With a disaggregated fleet, each pool's fields follow the totals (empty for a candidate of one fleet).
        var pooled = results.Any(r => r.Pools is not null)
            ? fields.Select(f => ($"pools.prefill.{f.Name}", (Func<CandidateResult, object?>)(r => r.Pools is { } p ? f.Value(p.Prefill) : null)))
                .Concat(fields.Select(f => ($"pools.decode.{f.Name}", (Func<CandidateResult, object?>)(r => r.Pools is { } p ? f.Value(p.Decode) : null)))).ToArray()
            : [];
        fields = [.. fields, .. pooled];
        text.AppendJoin(',', fields.Select(f => f.Name)).Append('\n');
        foreach (var r in results)
        {
            text.AppendJoin(',', fields.Select(f => CsvValue(f.Value(r)))).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Dollars per million tokens of a candidate, when the trace has tokens.</summary>
    public double? DollarsPerMillionTokens(CandidateResult r) => trace.Tokens is > 0 and var t ? r.Dollars / t * 1e6 : null;

    /// <summary>
    /// Writes results.json, results.csv, the PNG plots and report.html into <paramref name="directory"/>.
    /// Everything is written beside the folder first and moved into place at the end, so a failure
    /// leaves no half-written report.
    /// </summary>
    public Task WriteFolderAsync(string directory, CancellationToken cancellationToken = default) =>
        ReportFolder.WriteAsync(directory, async (staging, token) =>
        {
            await File.WriteAllTextAsync(Path.Combine(staging, "results.json"), ToJson(), token).ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.Combine(staging, "results.csv"), ToCsv(), token).ConfigureAwait(false);
            var plots = ReportPlots.Write(this, staging);
            token.ThrowIfCancellationRequested();
            await File.WriteAllTextAsync(Path.Combine(staging, "report.html"), ReportHtml.Render(this, plots), token).ConfigureAwait(false);
        }, IsReportFile, cancellationToken);

    /// <summary>Whether a file name is one a report writes: report.html, results.json/csv and its plots.</summary>
    public static bool IsReportFile(string name) =>
        name is "report.html" or "results.json" or "results.csv" or "pareto.png"
        || (name.EndsWith(".png", StringComparison.Ordinal) && (name.StartsWith("timeline-", StringComparison.Ordinal) || name.StartsWith("sweep-", StringComparison.Ordinal)));

    private void WriteSweeps(Utf8JsonWriter json)
    {
        if (Sweeps.Count == 0)
        {
            return;
        }

        json.WriteStartArray("sweeps");
        foreach (var sweep in Sweeps)
        {
            json.WriteStartObject();
            json.WriteString("name", sweep.Group);
            if (sweep.Knee is { } knee)
            {
                json.WriteString("knee", knee.Value);
                json.WriteString("kneeCandidate", knee.Result.Name);
            }
            else
            {
                json.WriteNull("knee");
            }

            if (sweep.FirstWithoutViolations is { } clean)
            {
                json.WriteString("firstWithoutViolations", clean.Value);
            }

            json.WriteStartArray("rows");
            foreach (var row in sweep.Rows)
            {
                json.WriteStartObject();
                json.WriteString("value", row.Value);
                json.WriteNumber("violationPercent", Round(row.Result.ViolationPercent));
                json.WriteNumber("idleDollars", Round(row.Result.IdleDollars));
                json.WriteNumber("dollars", Round(row.Result.Dollars));
                json.WriteBoolean("meetsSlo", row.Result.MeetsSlo);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private void WriteSeeds(Utf8JsonWriter json)
    {
        if (SeedSpreads.Count == 0)
        {
            return;
        }

        json.WriteStartArray("seedSpread");
        foreach (var s in SeedSpreads)
        {
            json.WriteStartObject();
            json.WriteString("name", s.Name);
            json.WriteNumber("seeds", s.Seeds);
            json.WriteNumber("meetsSloRuns", s.MeetsSloRuns);
            foreach (var (label, spread) in new[] { ("violationPercent", s.ViolationPercent), ("dollars", s.Dollars) })
            {
                json.WriteStartObject(label);
                json.WriteNumber("min", Round(spread.Min));
                json.WriteNumber("mean", Round(spread.Mean));
                json.WriteNumber("max", Round(spread.Max));
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    internal static double Round(double value) => Math.Round(value, 6);

    private static void WriteOptional(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
    }

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
            case IReadOnlyList<string> list:
                json.WriteStartArray(name);
                foreach (var item in list)
                {
                    json.WriteStringValue(item);
                }

                json.WriteEndArray();
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
        IReadOnlyList<string> list => Quote(string.Join(" | ", list)),
        IReadOnlyDictionary<string, double> metrics => Quote(string.Join(";", metrics.Select(m => $"{m.Key}={m.Value.ToString("R", CultureInfo.InvariantCulture)}"))),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => Quote(value.ToString() ?? ""),
    };

    private static string Quote(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
}
