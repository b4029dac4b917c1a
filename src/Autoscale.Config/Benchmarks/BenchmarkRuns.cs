using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Autoscale.Config.Benchmarks;

/// <summary>Latency figures of a run (seconds); null where the source has none.</summary>
public sealed record LatencyFigures(
    double? TtftMean, double? TtftP50, double? TtftP90, double? TtftP99,
    double? E2eMean, double? E2eP50, double? E2eP90, double? E2eP99,
    double? ItlMean)
{
    /// <summary>The figures by their names in results (<c>ttftMeanSeconds</c>, ...).</summary>
    public IEnumerable<(string Name, double? Value)> Named() =>
    [
        ("ttftMeanSeconds", TtftMean), ("ttftP50Seconds", TtftP50), ("ttftP90Seconds", TtftP90), ("ttftP99Seconds", TtftP99),
        ("e2eMeanSeconds", E2eMean), ("e2eP50Seconds", E2eP50), ("e2eP90Seconds", E2eP90), ("e2eP99Seconds", E2eP99),
        ("itlMeanSeconds", ItlMean),
    ];

    /// <summary>The figures of per-request latencies (percentiles interpolated linearly, as numpy's and the benchmarks' are).</summary>
    public static LatencyFigures Of(IReadOnlyList<double> ttft, IReadOnlyList<double> e2e, double? itlMean)
    {
        double? Mean(IReadOnlyList<double> v) => v.Count == 0 ? null : v.Average();
        double? P(IReadOnlyList<double> v, double q) => v.Count == 0 ? null : Percentile(v, q);
        return new(Mean(ttft), P(ttft, 50), P(ttft, 90), P(ttft, 99), Mean(e2e), P(e2e, 50), P(e2e, 90), P(e2e, 99), itlMean);
    }

    private static double Percentile(IReadOnlyList<double> values, double q)
    {
        var sorted = values.Order().ToArray();
        var at = q / 100 * (sorted.Length - 1);
        var low = (int)Math.Floor(at);
        var high = Math.Min(sorted.Length - 1, low + 1);
        return sorted[low] + ((at - low) * (sorted[high] - sorted[low]));
    }
}

/// <summary>One benchmark run of one server: the requests it sent (arrival times and token lengths, as recorded or drawn as the run's report describes them) and what it measured.</summary>
/// <param name="Name">The file (and stage) it came from.</param>
/// <param name="ArrivalNanos">When each request was sent, nanoseconds from the run's start, ascending.</param>
/// <param name="Input">Each request's prompt tokens.</param>
/// <param name="Output">Each request's output tokens.</param>
/// <param name="Measured">What the run measured.</param>
/// <param name="MaxConcurrency">The client's cap on requests in flight (closed loop), if any.</param>
/// <param name="Overloaded">Why the run cannot be compared (requests failed, the requested rate was not achieved); null when it can.</param>
public sealed record BenchmarkRun(string Name, long[] ArrivalNanos, int[] Input, int[] Output, LatencyFigures Measured, int? MaxConcurrency, string? Overloaded);

/// <summary>
/// Reads benchmark results: vLLM's <c>benchmark_serving.py --save-result</c> JSON (per-request <c>ttfts</c>, <c>itls</c>,
/// <c>input_lens</c>, <c>output_lens</c> with <c>--save-detailed</c>, else the summary figures), and inference-perf's
/// report folders (<c>config.yaml</c> with its load stages, <c>stage_N_lifecycle_metrics.json</c> each; or
/// <c>summary_lifecycle_metrics.json</c> for one stage). A file that is neither is a <see cref="FormatException"/> saying what was expected.
/// </summary>
public static class BenchmarkRuns
{
    private const string Expected = "expected vLLM's benchmark_serving --save-result JSON (ttfts or mean_ttft_ms) or an inference-perf report folder (config.yaml and stage_N_lifecycle_metrics.json)";

    /// <summary>The runs of <paramref name="path"/> (a file or an inference-perf folder), with arrivals and token lengths drawn from <paramref name="seed"/> where the report gives only their distribution.</summary>
    public static List<BenchmarkRun> Read(string path, long seed = 1)
    {
        if (Directory.Exists(path))
        {
            return InferencePerf(path, seed);
        }

        var text = Autoscale.Shared.BoundedFile.ReadText(path, 256 << 20);
        return [Vllm(path, text, seed)];
    }

    private static JsonObject ParseJson(string path, string text)
    {
        // Python writes an infinite rate as Infinity (and a missing figure as NaN), which JSON has not.
        var json = Regex.Replace(text, @"(?<=[:\[,]\s*)(-?Infinity|NaN)(?=\s*[,}\]])", "\"$1\"");
        try
        {
            return JsonNode.Parse(json) as JsonObject ?? throw new FormatException($"{path}: is not a JSON object ({Expected})");
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path}: is not JSON ({e.Message.Split('.')[0]}; {Expected})");
        }
    }

    private static double? Number(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        JsonValue v when v.TryGetValue<string>(out var s) && s is "Infinity" or "inf" => double.PositiveInfinity,
        JsonValue v when v.TryGetValue<string>(out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };

    private static BenchmarkRun Vllm(string path, string text, long seed)
    {
        var root = ParseJson(path, text);
        if (!root.ContainsKey("ttfts") && !root.ContainsKey("mean_ttft_ms"))
        {
            throw new FormatException($"{path}: has neither ttfts nor mean_ttft_ms ({Expected})");
        }

        var name = Path.GetFileName(path);
        var inputs = (root["input_lens"] as JsonArray)?.Select(n => (int)(Number(n) ?? 0)).ToArray();
        var outputs = (root["output_lens"] as JsonArray)?.Select(n => (int)(Number(n) ?? 0)).ToArray();
        var completed = (int)(Number(root["completed"]) ?? inputs?.Length ?? 0);
        var count = inputs?.Length ?? (int)(Number(root["num_prompts"]) ?? completed);
        if (count <= 0)
        {
            throw new FormatException($"{path}: holds no request (num_prompts, completed or input_lens)");
        }

        var rate = Number(root["request_rate"]) ?? double.PositiveInfinity;
        var burstiness = Number(root["burstiness"]) ?? 1;
        var cap = Number(root["max_concurrency"]) is { } c && c > 0 ? (int?)c : null;
        if (inputs is null || outputs is null || inputs.Length != count || outputs.Length != count)
        {
            var meanIn = (Number(root["total_input_tokens"]) ?? 0) / Math.Max(1, completed);
            var meanOut = (Number(root["total_output_tokens"]) ?? 0) / Math.Max(1, completed);
            inputs = Enumerable.Repeat((int)Math.Max(1, Math.Round(meanIn)), count).ToArray();
            outputs = Enumerable.Repeat((int)Math.Max(1, Math.Round(meanOut)), count).ToArray();
        }

        LatencyFigures measured;
        string? overloaded = null;
        var errors = (root["errors"] as JsonArray)?.Count(e => e is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0) ?? 0;
        if (root["ttfts"] is JsonArray ttfts && ttfts.Count == count)
        {
            var itls = root["itls"] as JsonArray;
            var (ttft, e2e, gaps) = (new List<double>(), new List<double>(), new List<double>());
            for (var i = 0; i < count; i++)
            {
                if (Number(ttfts[i]) is not { } first || first <= 0)
                {
                    continue;
                }

                var tokenGaps = (itls?[i] as JsonArray)?.Select(Number).OfType<double>().ToList() ?? [];
                ttft.Add(first);
                e2e.Add(first + tokenGaps.Sum());
                gaps.AddRange(tokenGaps);
            }

            measured = LatencyFigures.Of(ttft, e2e, gaps.Count > 0 ? gaps.Average() : Number(root["mean_itl_ms"]) / 1e3);
        }
        else
        {
            double? Ms(string key) => Number(root[key]) / 1e3;
            measured = new LatencyFigures(Ms("mean_ttft_ms"), Ms("median_ttft_ms"), Ms("p90_ttft_ms"), Ms("p99_ttft_ms"),
                Ms("mean_e2el_ms"), Ms("median_e2el_ms"), Ms("p90_e2el_ms"), Ms("p99_e2el_ms"), Ms("mean_itl_ms"));
        }

        if (errors > 0 || completed < count)
        {
            overloaded = $"{Math.Max(errors, count - completed)} of {count} requests failed";
        }
        else if (double.IsFinite(rate) && cap is null && Number(root["request_throughput"]) is { } achieved && achieved < 0.9 * rate
                 && Number(root["duration"]) is { } duration && duration > 1.5 * count / rate)
        {
            overloaded = string.Create(CultureInfo.InvariantCulture, $"achieved {achieved:0.##} req/s of the {rate:0.##} requested");
        }

        return new BenchmarkRun(name, Arrivals(count, rate, burstiness, poisson: true, seed), inputs, outputs, measured, cap, overloaded);
    }

    /// <summary>Send times: all at once for an infinite rate; gamma-distributed gaps (shape = burstiness; 1 is Poisson) or even ones, as the benchmark draws them.</summary>
    private static long[] Arrivals(int count, double rate, double burstiness, bool poisson, long seed)
    {
        var arrivals = new long[count];
        if (!double.IsFinite(rate) || rate <= 0)
        {
            return arrivals;
        }

        var random = new Random(unchecked((int)seed));
        var gamma = new MathNet.Numerics.Distributions.Gamma(burstiness, burstiness * rate, random);
        var t = 0.0;
        for (var i = 0; i < count; i++)
        {
            arrivals[i] = (long)Math.Round(t * 1e9);
            t += poisson ? gamma.Sample() : 1 / rate;
        }

        return arrivals;
    }

    private static List<BenchmarkRun> InferencePerf(string folder, long seed)
    {
        var configFile = Path.Combine(folder, "config.yaml");
        JsonObject? config = null;
        if (File.Exists(configFile))
        {
            config = Manifests.YamlTree.Read(configFile, Autoscale.Shared.BoundedFile.ReadText(configFile, 1 << 20)) as JsonObject;
        }

        var stageFiles = Directory.GetFiles(folder, "stage_*_lifecycle_metrics.json")
            .Select(f => (File: f, Index: int.TryParse(Path.GetFileName(f).Split('_')[1], NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : -1))
            .Where(f => f.Index >= 0).OrderBy(f => f.Index).ToList();
        if (stageFiles.Count == 0 && File.Exists(Path.Combine(folder, "summary_lifecycle_metrics.json")))
        {
            stageFiles.Add((Path.Combine(folder, "summary_lifecycle_metrics.json"), 0));
        }

        if (stageFiles.Count == 0)
        {
            throw new FormatException($"{folder}: holds no stage_N_lifecycle_metrics.json ({Expected})");
        }

        var stages = config?["load"]?["stages"] as JsonArray;
        var poisson = (config?["load"]?["type"] as JsonValue)?.ToString() == "poisson";
        var runs = new List<BenchmarkRun>();
        foreach (var (file, index) in stageFiles)
        {
            var root = ParseJson(file, Autoscale.Shared.BoundedFile.ReadText(file, 64 << 20));
            var successes = root["successes"] ?? throw new FormatException($"{file}: has no successes ({Expected})");
            var latency = successes["latency"];
            var stage = stages is not null && index < stages.Count ? stages[index] : null;
            var rate = Number(stage?["rate"]) ?? Number(root["load_summary"]?["requested_rate"]) ?? Number(successes["throughput"]?["requests_per_sec"]) ?? 0;
            var duration = Number(stage?["duration"]);
            var count = duration is { } d && rate > 0 ? (int)Math.Round(rate * d) : (int)(Number(root["load_summary"]?["count"]) ?? Number(successes["count"]) ?? 0);
            if (count <= 0 || !(rate > 0))
            {
                throw new FormatException($"{file}: gives no request rate and count (config.yaml's load.stages, or load_summary)");
            }

            var random = new Random(unchecked((int)(seed + index)));
            var inputs = Draw(successes["prompt_len"], count, random);
            var outputs = Draw(successes["output_len"], count, random);
            LatencyFigures Figures()
            {
                double? F(string metric, string stat) => Number(latency?[metric]?[stat]);
                return new LatencyFigures(F("time_to_first_token", "mean"), F("time_to_first_token", "median"), F("time_to_first_token", "p90"), F("time_to_first_token", "p99"),
                    F("request_latency", "mean"), F("request_latency", "median"), F("request_latency", "p90"), F("request_latency", "p99"),
                    F("inter_token_latency", "mean") ?? F("time_per_output_token", "mean"));
            }

            string? overloaded = null;
            var failures = Number(root["failures"]?["count"]) ?? 0;
            if (failures > 0)
            {
                overloaded = string.Create(CultureInfo.InvariantCulture, $"{failures:0} requests failed");
            }
            else if (Number(root["load_summary"]?["achieved_rate"]) is { } achieved && achieved < 0.95 * rate)
            {
                overloaded = string.Create(CultureInfo.InvariantCulture, $"achieved {achieved:0.##} req/s of the {rate:0.##} requested");
            }

            runs.Add(new BenchmarkRun($"{Path.GetFileName(Path.TrimEndingDirectorySeparator(folder))}/stage_{index}", Arrivals(count, rate, 1, poisson, seed + index), inputs, outputs, Figures(), null, overloaded));
        }

        return runs;
    }

    /// <summary>Token lengths drawn from a report's distribution: linearly between its quantiles (min, p0.1 ... p99.9, max), or its mean alone.</summary>
    private static int[] Draw(JsonNode? stats, int count, Random random)
    {
        (double Q, string Key)[] keys = [(0, "min"), (0.001, "p0.1"), (0.01, "p1"), (0.05, "p5"), (0.1, "p10"), (0.25, "p25"), (0.5, "median"), (0.5, "p50"), (0.75, "p75"), (0.9, "p90"), (0.95, "p95"), (0.99, "p99"), (0.999, "p99.9"), (1, "max")];
        var points = keys.Select(k => (k.Q, Value: Number(stats?[k.Key]))).Where(p => p.Value is not null).Select(p => (p.Q, V: p.Value!.Value)).DistinctBy(p => p.Q).OrderBy(p => p.Q).ToList();
        var mean = Number(stats?["mean"]);
        var result = new int[count];
        for (var i = 0; i < count; i++)
        {
            double value;
            if (points.Count >= 2 && points[0].Q == 0 && points[^1].Q == 1)
            {
                var u = random.NextDouble();
                var k = 1;
                while (k < points.Count - 1 && points[k].Q < u)
                {
                    k++;
                }

                var (q0, v0) = points[k - 1];
                var (q1, v1) = points[k];
                value = q1 > q0 ? v0 + ((u - q0) / (q1 - q0) * (v1 - v0)) : v1;
            }
            else
            {
                value = mean ?? throw new FormatException("the report gives no token lengths (prompt_len and output_len)");
            }

            result[i] = (int)Math.Max(1, Math.Round(value));
        }

        return result;
    }
}
