using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Tests.Hostile.Fuzz;

namespace Autoscale.Tests.Hostile;

/// <summary>
/// The third hostile round's examples (serving, cluster, import, export, fit, merge and live), each run through the
/// built command as its own process under the fuzzing suite's heap and time limits: one clean <c>error:</c> line and
/// exit 2, or figures that can be true; never an internal error, a hang or a file left behind.
/// </summary>
[Trait("Category", "Slow")]
public sealed class HostileRound3Tests
{
    private static readonly string ServingProfile = """
        "serving": { "stepSeconds": { "base": 0.02, "perPrefillToken": 0.0001, "perDecodeToken": 0.0004 },
                     "maxSequences": 64, "maxBatchedTokens": 4096, "kvCacheTokens": 300000, "routing": "least-loaded",
                     "tokens": { "input": { "median": 500, "sigma": 1.0 }, "output": { "median": 150, "sigma": 0.8 } } }
        """;

    private static string ServingConfig(string candidates, string extra = "", string routing = "least-loaded", string slo = "\"maxTtftSeconds\": 2, \"maxTpotSeconds\": 0.1") =>
        $$"""
        { "slo": { {{slo}}, "targetPercent": 99.0 },
          "replica": { "gpus": 2, "dollarsPerGpuHour": 3.0, {{ServingProfile.Replace("least-loaded", routing, StringComparison.Ordinal)}} }{{extra}},
          "candidates": [ {{candidates}} ] }
        """;

    private static string Fixed(int replicas, string name = "") =>
        $$"""{ "name": "{{(name.Length > 0 ? name : $"fixed {replicas}")}}", "policy": "fixed", "options": { "replicas": {{replicas}} }, "loadTime": { "fixedSeconds": 90 } }""";

    private static string Trace(string name) => Path.Combine(TestPaths.Traces, name + ".parquet");

    /// <summary>Runs the built command and expects one clean error line, which it returns.</summary>
    private static async Task<string> Refused(params string[] args)
    {
        var run = await FuzzCli.RunAsync(args);
        Assert.False(FuzzCli.Judge(run, string.Join(' ', args)), $"expected a refusal: {run.Out}");
        return run.Err.Trim();
    }

    /// <summary>Runs a backtest through the built command, expects success, checks the result invariants and returns the candidates by name.</summary>
    private static async Task<Dictionary<string, JsonElement>> Backtest(string trace, string config, params string[] more)
    {
        using var dir = new TempFolder();
        var file = dir.Write("config.json", config);
        var run = await FuzzCli.RunAsync(["backtest", "--trace", trace, "--config", file, "--format", "json", .. more]);
        Assert.True(FuzzCli.Judge(run, config), run.Err);
        FuzzCli.CheckBacktest(run, config, null);
        using var json = JsonDocument.Parse(run.Out);
        return json.RootElement.GetProperty("candidates").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.Clone());
    }

    /// <summary>A command other than backtest that succeeded: exit 0, no error line (its notes on standard error may say "error" as in "RMS error").</summary>
    private static void Succeeded(FuzzRun run)
    {
        Assert.False(run.TimedOut, $"{run.Command}: a hang");
        Assert.True(run.Exit == 0 && !run.Err.Contains("error:", StringComparison.Ordinal), $"{run.Command}: exit {run.Exit}: {run.Err}");
    }

    private static double? Number(JsonElement candidate, string field) =>
        candidate.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    // ---- serving results that cannot be true --------------------------------------------------------------------

    [Fact]
    public async Task A_fleet_that_served_nothing_has_no_time_per_token_nor_cost_per_token_and_its_requests_waited()
    {
        var r = (await Backtest(Trace("azure-llm-code-2023"), ServingConfig(Fixed(0))))["fixed 0"];

        Assert.Equal(0, Number(r, "served"));
        Assert.Null(Number(r, "tpotP50Seconds"));
        Assert.Null(Number(r, "tpotP99Seconds"));
        Assert.Null(Number(r, "dollarsPerMillionTokens"));
        Assert.Null(Number(r, "ttftP99Seconds"));

        // The requests waited at the gateway until they were dropped: from their arrival to the end of the drain.
        Assert.True(Number(r, "waitP50Seconds") > 1000, $"waitP50Seconds {Number(r, "waitP50Seconds")}");
        Assert.True(Number(r, "waitMaxSeconds") >= Number(r, "waitP99Seconds"));
    }

    [Fact]
    public async Task The_worst_hour_never_holds_more_violations_than_the_run_and_kv_use_stays_a_share()
    {
        // One replica far behind: many requests are served in the drain after the trace.
        var r = (await Backtest(Trace("azure-llm-code-2023"), ServingConfig(Fixed(1))))["fixed 1"];

        Assert.True(Number(r, "worstHourViolations") <= Number(r, "violations"), $"worst hour {Number(r, "worstHourViolations")} > {Number(r, "violations")}");
        Assert.InRange(Number(r, "kvCacheUtilization")!.Value, 0, 1);
    }

    [Fact]
    public async Task Requests_of_no_tokens_take_at_least_one_step_to_their_first_token()
    {
        using var dir = new TempFolder();
        var log = new StringBuilder();
        for (var i = 0; i < 300; i++)
        {
            log.Append(CultureInfo.InvariantCulture, $"{{\"t_ms\": {i * 100}, \"input_tokens\": 0, \"output_tokens\": {(i % 2 == 0 ? 0 : 5)}}}\n");
        }

        var trace = dir.File("zero.parquet");
        var import = await FuzzCli.RunAsync("trace", "import", dir.Write("zero.jsonl", log.ToString()), "--out", trace, "--timestamp-field", "t_ms", "--timestamp-unit", "ms", "--start", "2026-03-02T09:00:00Z");
        Assert.True(FuzzCli.Judge(import, "zero tokens"), import.Err);

        foreach (var engine in new[] { "request", "fluid" })
        {
            var r = (await Backtest(trace, ServingConfig(Fixed(1), $", \"engine\": {{ \"serving\": \"{engine}\" }}")))["fixed 1"];
            Assert.True(Number(r, "ttftP50Seconds") >= 0.02, $"{engine}: TTFT p50 {Number(r, "ttftP50Seconds")} is below one step (0.02 s)");
            Assert.True(Number(r, "e2eP50Seconds") >= 0.02, $"{engine}: E2E p50 {Number(r, "e2eP50Seconds")}");
        }
    }

    [Fact]
    public async Task A_fixed_token_count_past_the_longest_request_is_refused_not_capped()
    {
        using var dir = new TempFolder();
        var config = ServingConfig(Fixed(2)).Replace("{ \"median\": 500, \"sigma\": 1.0 }", "{ \"fixed\": 100000000 }", StringComparison.Ordinal);

        var line = await Refused("backtest", "--trace", Trace("azure-llm-code-2023"), "--config", dir.Write("c.json", config));

        Assert.Contains("replica.serving", line, StringComparison.Ordinal);
        Assert.Contains("tokens.input: fixed (100000000) must be below maxModelLen (131072)", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pool_stocked_out_for_the_whole_trace_costs_nothing_and_starts_nothing()
    {
        const string cluster = """
            , "cluster": { "nodePools": [ { "name": "od", "gpusPerNode": 8, "dollarsPerNodeHour": 24.0, "provisionSeconds": 240,
                "stockouts": { "windows": [ { "from": "2023-11-16T00:00:00Z", "to": "2023-11-17T00:00:00Z" } ] } } ] }
            """;
        var reactive = """{ "name": "reactive", "policy": "reactive", "options": { "minReplicas": 1, "maxReplicas": 200 }, "loadTime": { "fixedSeconds": 90 }, "decisionIntervalSeconds": 15 }""";
        foreach (var (name, config) in new[]
        {
            ("serving", ServingConfig(reactive, cluster + ", \"engine\": { \"maxReplicas\": 200 }")),
            ("count", $"{{ \"slo\": {{ \"maxWaitSeconds\": 2 }}, \"replica\": {{ \"capacityRps\": 30, \"gpus\": 2, \"dollarsPerGpuHour\": 3.0 }}{cluster}, \"engine\": {{ \"maxReplicas\": 200 }}, \"candidates\": [ {reactive} ] }}"),
        })
        {
            var r = (await Backtest(Trace("azure-llm-code-2023"), config))["reactive"];
            Assert.True((Number(r, "dollars"), Number(r, "loadingDollars"), Number(r, "idleDollars")) == (0, 0, 0), $"{name}: {r}");
            Assert.True((Number(r, "coldStarts"), Number(r, "peakReplicas"), Number(r, "replicaSeconds")) == (0, 0, 0), $"{name}: {r}");
        }
    }

    [Fact]
    public async Task The_fluid_replay_agrees_on_an_idle_fleet_behind_a_shared_queue()
    {
        // 100 replicas for 2.6 requests a second: decoding once waited for the next half-second sub-step, and short outputs
        // showed a time per token of tenths of seconds (6.5 % violations against 0.1 %).
        var config = ServingConfig(Fixed(100), routing: "shared-queue");
        var request = (await Backtest(Trace("azure-llm-code-2023"), config))["fixed 100"];
        var fluid = (await Backtest(Trace("azure-llm-code-2023"), config.Replace("\"candidates\"", "\"engine\": { \"serving\": \"fluid\" }, \"candidates\"", StringComparison.Ordinal)))["fixed 100"];

        var (r, f) = (Number(request, "violationPercent")!.Value, Number(fluid, "violationPercent")!.Value);
        Assert.True(Math.Abs(r - f) <= Math.Max(0.2, 0.1 * r), $"violations: request {r} %, fluid {f} %");
        Assert.True(Number(fluid, "tpotP99Seconds") < 0.05, $"fluid TPOT p99 {Number(fluid, "tpotP99Seconds")}");
    }

    [Fact]
    public async Task A_request_level_replay_past_its_bound_is_refused_before_it_starts()
    {
        var config = ServingConfig(Fixed(8));
        using var dir = new TempFolder();
        var watch = Stopwatch.StartNew();

        var line = await Refused("backtest", "--trace", Trace("servegen-m-large-14d"), "--config", dir.Write("c.json", config));

        Assert.Contains("requests are more than engine.maxRequests (20,000,000) for a request-by-request replay", line, StringComparison.Ordinal);
        Assert.Contains("\"fluid\"", line, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
    }

    [Theory]
    [InlineData("least-loaded", "request")]
    [InlineData("round-robin", "request")]
    [InlineData("shared-queue", "request")]
    [InlineData("shared-queue", "fluid")]
    public async Task Idle_replicas_cost_a_serving_replay_nothing_per_step(string routing, string engine)
    {
        // 100,000 replicas for 2.6 requests a second: once 17.6 s request by request (every replica looked at for every
        // request and every tick), now a few seconds, most of them the process's start.
        var config = ServingConfig(Fixed(100_000), $", \"engine\": {{ \"maxReplicas\": 100000, \"serving\": \"{engine}\" }}", routing);
        var watch = Stopwatch.StartNew();

        var r = (await Backtest(Trace("azure-llm-code-2023"), config))["fixed 100000"];

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"{routing}, {engine}: took {watch.Elapsed}");
        Assert.True(Number(r, "violationPercent") < 0.2, $"{routing}, {engine}: {Number(r, "violationPercent")} % violations");
        Assert.Equal(100_000, Number(r, "peakReplicas"));
    }

    [Fact]
    public async Task An_hour_of_965_billion_requests_is_refused_request_by_request_not_drawn_one_by_one()
    {
        using var dir = new TempFolder();
        var trace = dir.File("huge.parquet");
        var synth = await FuzzCli.RunAsync("trace", "synth", "--out", trace, "--duration", "1h", "--mean-rps", "268000000");
        Assert.True(synth.Exit == 0, synth.Err);

        var line = await Refused("backtest", "--trace", trace, "--config", dir.Write("c.json", ServingConfig(Fixed(8))));

        Assert.Contains("964,800,243,867 requests are more than engine.maxRequests (20,000,000)", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_report_folder_in_the_process_tree_is_called_so()
    {
        var line = await Refused("backtest", "--trace", TestPaths.TextbookTrace, "--config", Path.Combine(TestPaths.Examples, "textbook.json"), "--out", "/proc/self/status");

        Assert.Equal("error: /proc/self/status is in the system's device or process trees, not a folder to write the report into", line);
    }

    [Fact]
    public async Task Live_replay_of_a_serving_config_replays_requests_not_the_count_model()
    {
        // Refused until issue 35 gave the live loop the serving replay's world; now it prints the backtest's figures.
        using var dir = new TempFolder();
        var config = dir.Write("c.json", ServingConfig(Fixed(3)));

        var live = await FuzzCli.RunAsync("live", "--replay", Trace("azure-llm-code-2023"), "--config", config, "--candidate", "fixed 3", "--format", "csv");
        var backtest = await FuzzCli.RunAsync("backtest", "--trace", Trace("azure-llm-code-2023"), "--config", config, "--format", "csv");

        Assert.True(live.Exit == 0, live.Err);
        Assert.Equal(backtest.Out, live.Out);
        Assert.Contains("ttft", live.Out.Split('\n')[0], StringComparison.OrdinalIgnoreCase);
    }

    // ---- silent or misleading configs ---------------------------------------------------------------------------

    [Theory]
    [InlineData("fluid without a profile", "{ \"slo\": { \"maxWaitSeconds\": 2 }, \"replica\": { \"capacityRps\": 30 }, \"engine\": { \"serving\": \"fluid\" }, \"candidates\": [ { \"name\": \"x\", \"policy\": \"fixed\", \"loadTime\": { \"fixedSeconds\": 1 } } ] }", "engine.serving: \"fluid\" replays a serving profile")]
    [InlineData("keda on kv use without a profile", "{ \"slo\": { \"maxWaitSeconds\": 2 }, \"replica\": { \"capacityRps\": 30 }, \"candidates\": [ { \"name\": \"k\", \"policy\": \"keda\", \"options\": { \"maxReplicaCount\": 10, \"triggers\": [ { \"type\": \"prometheus\", \"signal\": \"kvCacheUtilization\", \"metadata\": { \"threshold\": \"0.7\" } } ] }, \"loadTime\": { \"fixedSeconds\": 1 } } ] }", "candidates[0].options")]
    [InlineData("an integer past its type", "{ \"slo\": { \"maxWaitSeconds\": 2 }, \"replica\": { \"capacityRps\": 30 }, \"candidates\": [ { \"name\": \"x\", \"policy\": \"fixed\", \"options\": { \"replicas\": 2147483648 }, \"loadTime\": { \"fixedSeconds\": 1 } } ] }", "candidates[0].options.replicas: must be a whole number from -2147483648 to 2147483647 (was 2147483648)")]
    public async Task A_config_that_would_be_ignored_or_fail_later_is_refused_at_once(string what, string config, string expected)
    {
        using var dir = new TempFolder();

        var line = await Refused("backtest", "--trace", TestPaths.TextbookTrace, "--config", dir.Write("c.json", config));

        Assert.True(line.Contains(expected, StringComparison.Ordinal), $"{what}: {line}");
        Assert.DoesNotContain("not the number", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_shapes_own_tokens_are_refused_not_ignored()
    {
        using var dir = new TempFolder();
        var shapes = ", \"replicas\": { \"big\": { \"gpus\": 4, \"serving\": { \"stepSeconds\": { \"base\": 0.01 }, \"tokens\": { \"input\": { \"fixed\": 10 } } } } }";

        var line = await Refused("backtest", "--trace", Trace("azure-llm-code-2023"), "--config", dir.Write("c.json", ServingConfig(Fixed(2), shapes)));

        Assert.Contains("replicas.big.serving.tokens: every candidate replays the same requests", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_list_is_called_a_list()
    {
        using var dir = new TempFolder();
        var config = "{ \"slo\": { \"maxWaitSeconds\": 2 }, \"replica\": { \"capacityRps\": 30 }, \"candidates\": { \"name\": \"x\" } }";

        var line = await Refused("backtest", "--trace", TestPaths.TextbookTrace, "--config", dir.Write("c.json", config));

        Assert.DoesNotContain("array", line, StringComparison.Ordinal);
    }

    // ---- manifests ------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    [InlineData("1e400")]
    public async Task A_knative_annotation_that_is_no_finite_number_is_one_line(string value)
    {
        using var dir = new TempFolder();
        var manifest = dir.Write("ksvc.yaml", $$"""
            apiVersion: serving.knative.dev/v1
            kind: Service
            metadata:
              name: llm
            spec:
              template:
                metadata:
                  annotations:
                    autoscaling.knative.dev/target-utilization-percentage: "{{value}}"
                spec:
                  containerConcurrency: 8
            """);

        var line = await Refused("policy", "import", manifest);
        Assert.EndsWith($"autoscaling.knative.dev/target-utilization-percentage: must be a finite number (was \"{value}\")", line, StringComparison.Ordinal);

        var config = dir.Write("c.json", $$"""{ "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 30 }, "candidates": [ { "name": "k", "policyFrom": "ksvc.yaml", "loadTime": { "fixedSeconds": 1 } } ] }""");
        Assert.Contains("must be a finite number", await Refused("backtest", "--trace", TestPaths.TextbookTrace, "--config", config), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("policy", "import")]
    [InlineData("serving", "fit", "--benchmark")]
    [InlineData("backtest", "--trace", "TRACE", "--config")]
    [InlineData("merge")]
    public async Task A_device_given_as_a_file_is_refused_at_the_size_limit_not_read_whole(params string[] command)
    {
        foreach (var device in new[] { "/dev/zero", "/dev/urandom" })
        {
            var args = command.Select(a => a == "TRACE" ? TestPaths.TextbookTrace : a).Append(device).ToArray();
            var line = await Refused(args);
            Assert.StartsWith($"error: {device}: ", line, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_symbolic_link_loop_is_called_one()
    {
        using var dir = new TempFolder();
        File.CreateSymbolicLink(dir.File("a"), dir.File("b"));
        File.CreateSymbolicLink(dir.File("b"), dir.File("a"));

        Assert.EndsWith("is a symbolic link that loops back on itself", await Refused("policy", "import", dir.File("a")), StringComparison.Ordinal);
        Assert.EndsWith("is a symbolic link that loops back on itself", await Refused("serving", "fit", "--benchmark", dir.File("a")), StringComparison.Ordinal);
        Assert.Contains("is a symbolic link to no folder", await Refused("backtest", "--trace", TestPaths.TextbookTrace, "--config", Path.Combine(TestPaths.Examples, "textbook.json"), "--out", dir.File("a")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_metric_mapped_twice_is_refused()
    {
        var line = await Refused("policy", "import", Path.Combine(TestPaths.Examples, "manifests", "hpa-vllm.yaml"), "--metric-map", "a=inFlight", "--metric-map", "a=queue");

        Assert.Equal("error: --metric-map: \"a\" is mapped twice (to inFlight and to queue); map each metric once", line);
    }

    [Theory]
    [InlineData("hpa")]
    [InlineData("keda")]
    [InlineData("knative")]
    [InlineData("ray-serve")]
    public async Task A_name_with_line_breaks_cannot_add_a_field_or_a_document_to_an_export(string kind)
    {
        using var dir = new TempFolder();
        const string name = "evil\"\nkind: Secret\n---\nkind: ConfigMap\u2028x";
        var config = new JsonObject
        {
            ["slo"] = new JsonObject { ["maxWaitSeconds"] = 2 },
            ["replica"] = new JsonObject { ["capacityRps"] = 30 },
            ["candidates"] = new JsonArray(new JsonObject
            {
                ["name"] = name,
                ["policy"] = kind == "knative" ? "knative" : "reactive",
                ["options"] = kind == "knative" ? new JsonObject { ["containerConcurrency"] = 8 } : new JsonObject { ["minReplicas"] = 1, ["maxReplicas"] = 10 },
                ["loadTime"] = new JsonObject { ["fixedSeconds"] = 1 },
            }),
        };

        var run = await FuzzCli.RunAsync("policy", "export", "--config", dir.Write("c.json", config.ToJsonString()), "--candidate", name, "--as", kind);

        Assert.True(FuzzCli.Judge(run, name), run.Err);
        var lines = run.Out.Split('\n');
        Assert.DoesNotContain(lines, l => l.StartsWith("kind: Secret", StringComparison.Ordinal) || l.StartsWith("kind: ConfigMap", StringComparison.Ordinal) || l == "---");
        Assert.DoesNotContain('\u2028', run.Out);
        Assert.Contains("\\u000akind: Secret\\u000a---\\u000akind: ConfigMap\\u2028x", run.Out, StringComparison.Ordinal);
    }

    // ---- serving fit --------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Serving_fit_on_thirty_thousand_rows_runs_in_bounded_memory()
    {
        using var dir = new TempFolder();
        var rows = new StringBuilder("prefill_tokens,decode_tokens,step_ms\n");
        var random = new Random(3);
        for (var i = 0; i < 30_000; i++)
        {
            var (p, d) = (random.Next(0, 4096), random.Next(1, 128));
            rows.Append(CultureInfo.InvariantCulture, $"{p},{d},{(20 + (0.1 * p) + (0.4 * d)) * (1 + (0.01 * (random.NextDouble() - 0.5))):F4}\n");
        }

        var run = await FuzzCli.RunAsync("serving", "fit", "--benchmark", dir.Write("steps.csv", rows.ToString()));

        Succeeded(run);
        var fit = JsonNode.Parse(run.Out)!["stepSeconds"]!;
        Assert.Equal(0.02, fit["base"]!.GetValue<double>(), 0.001);
        Assert.Equal(0.0001, fit["perPrefillToken"]!.GetValue<double>(), 0.00001);
        Assert.Equal(0.0004, fit["perDecodeToken"]!.GetValue<double>(), 0.00005);
    }

    [Theory]
    [InlineData("prefill_tokens,decode_tokens,step_seconds\n10,2,1e308\n20,3,1e308\n30,1,1e308\n", "is out of range (the step's time must be in (0, 86400] s)")]
    [InlineData("prefill_tokens,decode_tokens,step_seconds,step_ms\n10,2,0.1,100\n20,3,0.2,200\n30,1,0.3,300\n", "columns step_seconds and step_ms say the same thing; keep one")]
    [InlineData("prefill_tokens,decode_tokens,step_ms\n1e300,2,5\n20,3,6\n30,1,7\n", "row 2, column prefill_tokens: 1e300 is out of range")]
    [InlineData("prefill_tokens,decode_tokens,step_seconds\n1000000,2,50000\n2000000,3,86000\n3000000,1,80000\n4000000,9,86000\n", "above the 60 s a serving profile takes")]
    public async Task Serving_fit_refuses_what_no_profile_can_hold(string csv, string expected)
    {
        using var dir = new TempFolder();

        var line = await Refused("serving", "fit", "--benchmark", dir.Write("b.csv", csv));

        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serving_fit_on_times_that_do_not_vary_says_r_squared_is_undefined()
    {
        using var dir = new TempFolder();
        var run = await FuzzCli.RunAsync("serving", "fit", "--benchmark", dir.Write("b.csv", "prefill_tokens,decode_tokens,step_ms\n10,2,20\n200,3,20\n30,40,20\n400,5,20\n"));

        Succeeded(run);
        Assert.Contains("R² undefined (the measured times do not vary)", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_huge_bad_cell_is_not_echoed_whole()
    {
        using var dir = new TempFolder();
        var cell = new string('x', 5_000_000);

        var line = await Refused("serving", "fit", "--benchmark", dir.Write("b.csv", $"prefill_tokens,decode_tokens,step_ms\n10,2,{cell}\n"));

        Assert.True(line.Length < 400, $"{line.Length} characters");
        Assert.Contains("line 2: is longer than 65,536 characters", line, StringComparison.Ordinal);
    }

    // ---- merge ------------------------------------------------------------------------------------------------------

    public static TheoryData<string, string> Tampered => new()
    {
        { "late 99999", "its violations do not add up" },
        { "dollars -5", "dollars (-5) is negative or not a finite number" },
        { "meetsSlo at 100 %", "meetsSlo is true, but 12804 violations of 12804 requests miss the 99 % target" },
        { "dollars NaN", "dollars (NaN) is negative or not a finite number" },
        { "dollars 1e400", "is negative or not a finite number" },
        { "timeline an object", "not a partial-results file" },
        { "requests 5", "5 requests, but the trace has 12804" },
    };

    [Theory]
    [MemberData(nameof(Tampered))]
    public async Task Merge_refuses_a_part_whose_figures_cannot_be_true(string tamper, string expected)
    {
        using var dir = new TempFolder();
        var made = await FuzzCli.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", Path.Combine(TestPaths.Examples, "textbook.json"), "--shard", "0/1", "--out", dir.File("parts"));
        Assert.True(FuzzCli.Judge(made, "shard"), made.Err);
        var text = await File.ReadAllTextAsync(dir.File("parts/shard-0-of-1.json"));
        var part = JsonNode.Parse(text)!;
        var first = part["results"]![0]!;
        switch (tamper)
        {
            case "late 99999": first["late"] = 99_999; break;
            case "dollars -5": first["dollars"] = -5; break;
            case "meetsSlo at 100 %": first["late"] = first["requests"]!.GetValue<long>(); first["served"] = first["requests"]!.GetValue<long>(); first["meetsSlo"] = true; break;
            case "dollars NaN": first["dollars"] = "NaN"; break;
            case "timeline an object": first["timeline"] = new JsonObject { ["points"] = new JsonObject { ["a"] = 1 } }; break;
            case "requests 5": first["requests"] = 5; first["served"] = 5; break;
        }

        var tampered = tamper == "dollars 1e400"
            ? System.Text.RegularExpressions.Regex.Replace(text, "\"dollars\":[^,]*", "\"dollars\":1e400", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(5))
            : part.ToJsonString();

        var line = await Refused("merge", dir.Write("shard-0-of-1.json", tampered));

        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    // ---- hangs and leftovers ---------------------------------------------------------------------------------------

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task A_serving_replay_of_endless_steps_ends_within_a_second_of_a_signal(string signal)
    {
        using var dir = new TempFolder();
        var config = ServingConfig(Fixed(2)).Replace("\"base\": 0.02, \"perPrefillToken\": 0.0001, \"perDecodeToken\": 0.0004", "\"base\": 1e-9", StringComparison.Ordinal)
            .Replace("{ \"median\": 150, \"sigma\": 0.8 }", "{ \"fixed\": 99999999 }", StringComparison.Ordinal)
            .Replace("\"kvCacheTokens\": 300000", "\"kvCacheTokens\": 1000000000, \"maxModelLen\": 100000000, \"blockTokens\": 1", StringComparison.Ordinal);
        // The textbook trace has no token columns: every request has 99,999,999 output tokens of 1 ns steps, each step its
        // own (a block of one token is allocated every step, so no steps are batched).
        var start = new ProcessStartInfo("dotnet", [TestPaths.BuiltProgram("Autoscale.Cli"), "backtest", "--trace", TestPaths.TextbookTrace, "--config", dir.Write("c.json", config), "--out", dir.File("report")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(4));
            if (process.HasExited)
            {
                Assert.Fail($"the run ended early: {await stderr}");
            }

            var sent = Stopwatch.StartNew();
            Assert.Equal(0, Kill(process.Id, signal == "TERM" ? 15 : 2));
            var exited = await Task.Run(() => process.WaitForExit(TimeSpan.FromSeconds(10)));

            Assert.True(exited && sent.Elapsed < TimeSpan.FromSeconds(2), $"took {sent.Elapsed} after SIG{signal} (exited: {exited})");
            Assert.Equal(130, process.ExitCode);
            Assert.Equal("error: interrupted; outputs in progress were removed\n", await stderr);
            await stdout;
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        Assert.Equal(["c.json"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Writing_onto_a_full_filesystem_leaves_nothing_behind()
    {
        using var dir = new TempFolder();
        var full = dir.File("full");
        Directory.CreateDirectory(full);
        var mount = await TestProcess.RunAsync("mount", ["-t", "tmpfs", "-o", "size=4k", "tmpfs", full]);
        if (mount.Exit != 0)
        {
            // Not root, or no mounts in this sandbox: the behaviour is then checked where CI runs as root.
            return;
        }

        try
        {
            var synth = await FuzzCli.RunAsync("trace", "synth", "--out", Path.Combine(full, "x.parquet"), "--duration", "7d", "--mean-rps", "100");
            var import = await FuzzCli.RunAsync("trace", "import", Path.Combine(TestPaths.Examples, "requests.jsonl"), "--out", Path.Combine(full, "y.parquet"), "--timestamp-field", "t_ms", "--timestamp-unit", "ms", "--start", "2026-03-02T09:00:00Z");

            foreach (var (run, name) in new[] { (synth, "x.parquet"), (import, "y.parquet") })
            {
                Assert.False(FuzzCli.Judge(run, name, full), run.Out);
                Assert.StartsWith($"error: {Path.Combine(full, name)}: no space left on device", run.Err, StringComparison.Ordinal);
            }

            Assert.Empty(Directory.GetFileSystemEntries(full));
        }
        finally
        {
            await TestProcess.RunAsync("umount", [full]);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
