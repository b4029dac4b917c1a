using System.Text.Json;
using System.Text.Json.Nodes;
using Autoscale.Backtesting.Cluster;
using Autoscale.Backtesting.Engine;
using Autoscale.Config;
using Autoscale.Policies.Catalog;
using Autoscale.Traces;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Autoscale.Tests.Backtesting;

/// <summary>Replays on a cluster: the trivial cluster is today's replay, and node dollars, waits, reclaims and crashes behave.</summary>
public sealed class ClusterTests
{
    // One pool of unlimited single-GPU nodes, provisioned at once, by the defaults: the replica's price, no limit, no delays.
    private const string Trivial = """{ "nodePools": [ { "name": "any" } ] }""";

    private const string TwoGpuPools = """
        { "nodePools": [ { "name": "h100", "gpusPerNode": 8, "dollarsPerGpuHour": 4.0, "emptyNodeScaleDownSeconds": 0 },
                         { "name": "l40s", "gpusPerNode": 4, "dollarsPerGpuHour": 1.5, "emptyNodeScaleDownSeconds": 0 } ] }
        """;

    private const string TwoShapes = """{ "h100x2": { "gpus": 2, "capacityRps": 60, "pool": "h100" }, "l40sx4": { "gpus": 4, "capacityRps": 40, "pool": "l40s" } }""";

    public static TheoryData<string, string> TracesAndExamples => new()
    {
        { "textbook-spike", "all-policies.json" },
        { "azure-llm-conv-2023", "all-policies.json" },
        { "azure-llm-code-2023", "all-policies.json" },
        { "servegen-m-large-14d", "all-policies.json" },
        { "textbook-spike", "what-you-run-today.json" },
        { "azure-llm-conv-2023", "what-you-run-today.json" },
        { "azure-llm-code-2023", "what-you-run-today.json" },
        { "servegen-m-large-14d", "what-you-run-today.json" },
    };

    /// <summary>One pool of unlimited single-GPU nodes, provisioned at once and removed when empty: every result is today's, to the bit.</summary>
    [Theory]
    [MemberData(nameof(TracesAndExamples))]
    public async Task The_trivial_cluster_is_the_replica_level_replay_bit_for_bit(string trace, string example)
    {
        var config = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(TestPaths.Examples, example)))!.AsObject();
        var plain = await RunAsync(trace, config.ToJsonString());
        config["cluster"] = JsonNode.Parse(Trivial);
        var onCluster = await RunAsync(trace, config.ToJsonString());

        Assert.Equal(plain.Count, onCluster.Count);
        for (var i = 0; i < plain.Count; i++)
        {
            Assert.Null(plain[i].Cluster);
            Assert.NotNull(onCluster[i].Cluster);
            Assert.Equal(plain[i].Dollars, onCluster[i].Cluster!.NodeDollars);
            Assert.Equal(Json(plain[i]), Json(onCluster[i] with { Cluster = null }));
        }
    }

    /// <summary>
    /// Request by request, the trivial cluster serves every request as without one: latencies, violations and the fleet agree
    /// to the bit. Only dollars differ, after the trace: a node is billed while the drain runs, a replica until it is idle.
    /// </summary>
    [Theory]
    [InlineData("llm-serving.json")]
    [InlineData("llm-serving-fluid.json")]
    public async Task The_trivial_cluster_serves_request_by_request_as_without_one(string example)
    {
        var config = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(TestPaths.Examples, example)))!.AsObject();
        var plain = await RunServingAsync(config.ToJsonString());
        var gpus = config["replica"]?["gpus"]?.GetValue<int>() ?? config["replica"]?["serving"]?["hardware"]?["tensorParallel"]?.GetValue<int>() ?? 1;
        config["cluster"] = JsonNode.Parse($$"""{ "nodePools": [ { "name": "any", "gpusPerNode": {{gpus}} } ] }""");
        var onCluster = await RunServingAsync(config.ToJsonString());
        Assert.Equal(plain.Count, onCluster.Count);
        for (var i = 0; i < plain.Count; i++)
        {
            var (a, b) = (plain[i], onCluster.Single(r => r.Name == plain[i].Name));
            Assert.Equal(JsonSerializer.Serialize(a.Serving! with { DollarsPerMillionTokens = 0 }), JsonSerializer.Serialize(b.Serving! with { DollarsPerMillionTokens = 0 }));
            Assert.Equal((a.Requests, a.Served, a.Late, a.Dropped, a.ColdStarts, a.PeakReplicas, a.EndReplicas, a.WorstMinuteViolations),
                (b.Requests, b.Served, b.Late, b.Dropped, b.ColdStarts, b.PeakReplicas, b.EndReplicas, b.WorstMinuteViolations));
            Assert.True(b.Dollars >= a.Dollars - 1e-9, $"{b.Name}: {b.Dollars} < {a.Dollars}");
            Assert.Equal(0, b.Cluster!.RequestsLost + b.Cluster.RequestsRetried);
        }
    }

    /// <summary>Billing granularity and minimums round each node's lifetime; on the trivial cluster, that is each replica's.</summary>
    [Fact]
    public async Task Billing_rounds_node_lifetimes_as_it_rounds_replica_lifetimes()
    {
        var config = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(TestPaths.Examples, "all-policies.json")))!.AsObject();
        config["billing"] = JsonNode.Parse("""{ "granularitySeconds": 60, "minimumSeconds": 600 }""");
        var plain = await RunAsync("azure-llm-conv-2023", config.ToJsonString());
        config["cluster"] = JsonNode.Parse(Trivial);
        var onCluster = await RunAsync("azure-llm-conv-2023", config.ToJsonString());
        for (var i = 0; i < plain.Count; i++)
        {
            Assert.True(plain[i].RoundingDollars > 0 || plain[i].ColdStarts == 0);
            Assert.Equal(plain[i].Dollars, onCluster[i].Dollars, 6);
        }
    }

    [Fact]
    public async Task Nodes_that_take_minutes_delay_the_fleet_and_are_billed_whole()
    {
        // Two-GPU replicas on eight-GPU nodes that take 4 minutes: the first scale-up waits for a node, and half-empty
        // nodes cost their idle GPUs.
        var results = await RunAsync("textbook-spike", Config("""
            { "nodePools": [ { "name": "od", "gpusPerNode": 8, "dollarsPerNodeHour": 24.0, "provisionSeconds": 240, "emptyNodeScaleDownSeconds": 600 } ] }
            """, gpus: 2, "fixed 10", """{ "name": "fixed 10", "policy": "scheduled-floor", "options": { "defaultMinReplicas": 1, "maxReplicas": 10, "schedule": [ { "days": "Mon-Sun", "from": "00:00", "to": "23:59", "minReplicas": 10 } ] }, "loadTime": { "fixedSeconds": 25 } }"""));
        var r = Assert.Single(results);
        var c = r.Cluster!;
        Assert.Equal(r.Dollars, c.NodeDollars);
        Assert.True(c.NodeDollars >= c.ReplicaDollars - 1e-9, $"{c.NodeDollars} < {c.ReplicaDollars}");
        Assert.Equal(c.NodeDollars - c.ReplicaDollars, c.IdleGpuDollars, 6);
        Assert.Equal(3, c.PeakNodes); // 10 replicas of 2 GPUs on 8-GPU nodes
        Assert.Equal(0, c.Preemptions);
        Assert.Equal(0, c.Crashes);
    }

    /// <summary>
    /// A schedule decides by the clock alone: when it steps up at 00:20, the new replicas wait for nodes, and the longer
    /// nodes take, the later capacity comes, so violations never fall as provisionSeconds grows (FsCheck, random traffic).
    /// </summary>
    [Fact]
    public void A_longer_provision_never_lowers_violations_for_a_policy_that_ignores_the_fleet()
    {
        var cases = from level in Gen.Choose(0, 200)
                    from spike in Gen.Choose(0, 400)
                    from gpus in Gen.Choose(1, 8)
                    from shorter in Gen.Choose(0, 900)
                    from longer in Gen.Choose(0, 900)
                    select (level, spike, gpus, Math.Min(shorter, longer), Math.Max(shorter, longer));
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var (level, spike, gpus, shorter, longer) = c;
            var arrivals = Enumerable.Range(0, 3600).Select(t => (long)(level + (t >= 1200 && t < 2400 ? spike : 0))).ToArray();
            var trace = ConstantTrace(TimeSpan.Zero, 0);
            trace = new TickTrace(trace.Start, trace.Tick, arrivals);
            double Violations(int provision)
            {
                // By the clock alone: 2 replicas, then 12 from 00:20 (a scheduled floor without its reactive part).
                var candidate = new CandidateSpec("schedule", () => new ScriptedPolicy { Answer = x => new ScalingDecision(x.Now < trace.Start + NodaTime.Duration.FromMinutes(20) ? 2 : 12, "clock") },
                    new FixedLoadTime(NodaTime.Duration.FromSeconds(25)));
                var cluster = new ClusterSpec([new NodePoolSpec("od", gpus, 8, provision, int.MaxValue, 0, 600, false, 0, 120, 0, 8, null)], PlacementKind.CheapestFirst, [], 0, 0, false, 0);
                var settings = new ReplaySettings(new SloSettings(NodaTime.Duration.FromSeconds(2), 99), new ReplicaSettings(30, 1, 3), NodaTime.Duration.FromSeconds(1)) { Cluster = cluster };
                return Autoscale.Backtesting.Engine.Backtest.RunOne(trace, settings, candidate).ViolationPercent;
            }

            var (a, b) = (Violations(shorter), Violations(longer));
            return (b >= a - 1e-12).Label($"provision {shorter} s: {a}%, {longer} s: {b}%");
        }).QuickCheckThrowOnFailure();

        // And the provision matters: at 200 req/s plus a spike, replicas that wait 15 minutes for nodes lose requests.
        var busy = new TickTrace(ConstantTrace(TimeSpan.Zero, 0).Start, NodaTime.Duration.FromSeconds(1), [.. Enumerable.Range(0, 3600).Select(t => t >= 1200 && t < 2400 ? 300L : 50L)]);
        var cluster = (int provision) => new ClusterSpec([new NodePoolSpec("od", 1, 8, provision, int.MaxValue, 0, 600, false, 0, 120, 0, 8, null)], PlacementKind.CheapestFirst, [], 0, 0, false, 0);
        double Run(int provision) => Autoscale.Backtesting.Engine.Backtest.RunOne(busy,
            new ReplaySettings(new SloSettings(NodaTime.Duration.FromSeconds(2), 99), new ReplicaSettings(30, 1, 3), NodaTime.Duration.FromSeconds(1)) { Cluster = cluster(provision) },
            new CandidateSpec("schedule", () => new ScriptedPolicy { Answer = x => new ScalingDecision(x.Now < busy.Start + NodaTime.Duration.FromMinutes(20) ? 2 : 12, "clock") },
                new FixedLoadTime(NodaTime.Duration.FromSeconds(25)))).ViolationPercent;
        Assert.True(Run(900) > Run(0) + 1, $"{Run(900)}% with 15-minute nodes, {Run(0)}% with instant ones");
    }

    [Fact]
    public async Task Same_seed_same_result_and_reclaims_and_crashes_follow_their_rates()
    {
        // A day of spot nodes at 0.5 reclaims per node-hour and 0.2 crashes per replica-hour, 40 replicas on 40 nodes.
        var cluster = """
            { "nodePools": [ { "name": "spot", "gpusPerNode": 1, "dollarsPerNodeHour": 1.0, "spot": true, "preemptionsPerNodeHour": 0.5, "noticeSeconds": 30, "emptyNodeScaleDownSeconds": 0 } ],
              "replicaFailuresPerHour": 0.2 }
            """;
        var config = Config(cluster, gpus: 1, "fixed 40", """{ "name": "fixed 40", "policy": "fixed", "options": { "replicas": 40 }, "loadTime": { "fixedSeconds": 60 } }""");
        var trace = ConstantTrace(TimeSpan.FromDays(1), perTick: 100);
        var a = await RunAsync(trace, config);
        var b = await RunAsync(trace, config);
        Assert.Equal(Json(a[0]), Json(b[0]));

        var c = a[0].Cluster!;

        // Exposure: node-hours ready are at most 40 x 24; the expected count is rate x exposure. Poisson's sd is sqrt(mean);
        // the tolerance is 4 sd plus the time nodes spent loading (a minute per replacement).
        var nodeHours = 40 * 24.0;
        var expected = 0.5 * nodeHours;
        Assert.InRange(c.Preemptions, expected * 0.85 - (4 * Math.Sqrt(expected)), expected + (4 * Math.Sqrt(expected)));
        var crashes = 0.2 * nodeHours;
        Assert.InRange(c.Crashes, crashes * 0.85 - (4 * Math.Sqrt(crashes)), crashes + (4 * Math.Sqrt(crashes)));
        Assert.Equal(c.Preemptions, c.PreemptedReplicas);

        // Every request is served or still queued: reclaims and crashes lose capacity, not requests, in the count model.
        Assert.Equal(a[0].Requests, a[0].Served + a[0].Dropped + a[0].QueuedAtEnd);
    }

    [Fact]
    public async Task A_stockout_window_keeps_replicas_pending_and_counts_its_minutes()
    {
        // The spike trace begins at 2026-01-05T00:00:00Z; the pool is out for its first 10 minutes.
        var results = await RunAsync("textbook-spike", Config("""
            { "nodePools": [ { "name": "od", "gpusPerNode": 1, "dollarsPerNodeHour": 3.0, "provisionSeconds": 0,
                               "stockouts": { "windows": [ { "from": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z" } ], "retrySeconds": 30 } } ] }
            """, gpus: 1, "reactive", """{ "name": "reactive", "policy": "reactive", "options": { "minReplicas": 1 }, "loadTime": { "fixedSeconds": 25 } }"""));
        var c = results[0].Cluster!;
        Assert.True(c.StockoutMinutes > 0);
        Assert.True(c.ProvisionFailures > 0);
        Assert.True(c.UnplacedReplicas > 0);
        Assert.Equal(0, c.NodeDollars);
        Assert.True(results[0].ViolationPercent > 99, $"{results[0].ViolationPercent}% violations with no node all trace long"); // the last 2 s of arrivals are not late yet
    }

    /// <summary>
    /// The phased model's node cache lives on the cluster's nodes: a replica that comes back to a node whose disk still holds
    /// the weights reads them from there; on a node removed when empty, the weights are gone with it.
    /// </summary>
    [Theory]
    [InlineData(8, 600, true)]
    [InlineData(1, 0, false)]
    public async Task A_reload_on_a_node_that_holds_the_weights_reads_them_from_its_disk(int gpusPerNode, int scaleDown, bool hits)
    {
        const string phased = """
            { "model": "phased", "modelSizeGb": 68, "nodeBandwidthGbps": 0.4, "shardSeconds": 10, "warmSeconds": 30,
              "cache": { "retentionSeconds": 3600, "bandwidthGbps": 3.5, "holdDollarsPerHour": 1.0 } }
            """;
        var results = await RunAsync("textbook-spike", Config(
            $$"""{ "nodePools": [ { "name": "od", "gpusPerNode": {{gpusPerNode}}, "dollarsPerGpuHour": 3.0, "provisionSeconds": 60, "emptyNodeScaleDownSeconds": {{scaleDown}} } ] }""",
            gpus: 1, "reactive", $$"""{ "name": "reactive", "policy": "reactive", "options": { "minReplicas": 1, "maxReplicas": 40 }, "decisionIntervalSeconds": 15, "loadTime": {{phased}} }"""));
        var r = results[0];
        Assert.True(r.ColdStarts > 0);
        Assert.Equal(0, r.HoldDollars); // the nodes are billed; the cache costs nothing beside them
        var cacheHits = r.LoadMetrics.TryGetValue("cacheHits", out var h) ? h : 0;
        var fromStore = r.LoadMetrics["loadsFromStore"];
        Assert.True(hits ? cacheHits > 0 : cacheHits == 0, $"{cacheHits} cache hits, {fromStore} loads from the store");
        Assert.InRange(cacheHits + fromStore, 1, r.ColdStarts); // starts cancelled while their node was provisioning never loaded
    }

    [Fact]
    public async Task Committed_nodes_are_billed_for_the_whole_span_and_used_first()
    {
        var results = await RunAsync("textbook-spike", Config("""
            { "nodePools": [ { "name": "od", "gpusPerNode": 1, "dollarsPerNodeHour": 3.0 },
                             { "name": "reserved", "gpusPerNode": 1, "dollarsPerNodeHour": 3.0, "committedNodes": 4, "committedDollarsPerNodeHour": 2.0 } ] }
            """, gpus: 1, "fixed 3", """{ "name": "fixed 3", "policy": "fixed", "options": { "replicas": 3 }, "loadTime": { "fixedSeconds": 25 } }"""));
        var r = results[0];
        var c = r.Cluster!;
        var hours = r.SpanSeconds / 3600;
        Assert.Equal(4 * hours * 2.0, c.CommittedDollars, 6);
        Assert.Equal(c.CommittedDollars, c.NodeDollars, 6);
        Assert.Equal(0, c.Pools[0].Dollars);
    }

    [Fact]
    public async Task A_sweep_over_shapes_gives_one_candidate_per_shape_on_its_pool()
    {
        var config = JsonNode.Parse(Config(TwoGpuPools, gpus: 1, "fixed", """{ "name": "fixed", "policy": "fixed", "options": { "replicas": 4 }, "loadTime": { "fixedSeconds": 25 }, "sweep": { "replica": [ "h100x2", "l40sx4" ] } }"""))!.AsObject();
        config["replicas"] = JsonNode.Parse(TwoShapes);
        var results = await RunAsync("textbook-spike", config.ToJsonString());
        Assert.Equal(["fixed replica=h100x2", "fixed replica=l40sx4"], results.Select(r => r.Name).Order(StringComparer.Ordinal));
        Assert.All(results, r => Assert.Equal("fixed", r.SweepGroup));
        var hours = results[0].SpanSeconds / 3600;
        Assert.Equal(8 * 4.0 * hours, results.Single(r => r.Name == "fixed replica=h100x2").Dollars, 6);
        Assert.Equal(4 * 4 * 1.5 * hours, results.Single(r => r.Name == "fixed replica=l40sx4").Dollars, 6);
    }

    [Fact]
    public async Task A_shape_runs_only_on_its_pool_and_is_charged_its_price()
    {
        var config = JsonNode.Parse(Config(TwoGpuPools, gpus: 1, "h100x2", """{ "name": "h100x2", "policy": "fixed", "options": { "replicas": 4 }, "loadTime": { "fixedSeconds": 25 }, "replica": "h100x2" }"""))!.AsObject();
        config["replicas"] = JsonNode.Parse(TwoShapes);
        config["candidates"]!.AsArray().Add(JsonNode.Parse("""{ "name": "l40sx4", "policy": "fixed", "options": { "replicas": 6 }, "loadTime": { "fixedSeconds": 25 }, "replica": "l40sx4" }"""));
        var results = await RunAsync("textbook-spike", config.ToJsonString());
        var h100 = results.Single(r => r.Name == "h100x2").Cluster!;
        var l40s = results.Single(r => r.Name == "l40sx4").Cluster!;
        var hours = results[0].SpanSeconds / 3600;
        Assert.Equal(8 * 4.0 * hours, h100.Pools[0].Dollars, 6); // 4 x 2 GPUs fill one 8-GPU node
        Assert.Equal(0, h100.Pools[1].Dollars);
        Assert.Equal(6 * 4 * 1.5 * hours, l40s.Pools[1].Dollars, 6);
        Assert.Equal(0, l40s.Pools[0].Dollars);
    }

    private static string Config(string cluster, int gpus, string name, string candidate) => $$"""
        { "slo": { "maxWaitSeconds": 2, "targetPercent": 99.0 },
          "replica": { "capacityRps": 30, "gpus": {{gpus}}, "dollarsPerGpuHour": 3.0 },
          "cluster": {{cluster}},
          "candidates": [ {{candidate}} ] }
        """;

    private static string Json(CandidateResult r) => JsonSerializer.Serialize(r, new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals });

    private static TickTrace ConstantTrace(TimeSpan span, long perTick)
    {
        var arrivals = new long[(long)span.TotalSeconds];
        Array.Fill(arrivals, perTick);
        return new TickTrace(NodaTime.Instant.FromUtc(2026, 1, 5, 0, 0), NodaTime.Duration.FromSeconds(1), arrivals);
    }

    private static async Task<IReadOnlyList<CandidateResult>> RunServingAsync(string config)
    {
        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadAsync(config, "cluster.json");
        await using var reader = await TraceReader.OpenAsync(Path.Combine(TestPaths.Traces, "azure-llm-conv-2023.parquet"), plan.Settings.Tick);
        var workload = await Autoscale.Backtesting.Serving.ServingWorkload.ReadAsync(reader, plan.Settings.Serving!, plan.Settings.Seed, "azure-llm-conv-2023");
        return Autoscale.Backtesting.Engine.Backtest.RunServing(workload, plan.Settings, plan.Candidates);
    }

    private static async Task<IReadOnlyList<CandidateResult>> RunAsync(TickTrace trace, string config)
    {
        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadAsync(config, "cluster.json");
        return Autoscale.Backtesting.Engine.Backtest.Run(trace, plan.Settings, plan.Candidates, timelinePoints: 100);
    }

    private static async Task<IReadOnlyList<CandidateResult>> RunAsync(string trace, string config)
    {
        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadAsync(config, "cluster.json");
        await using var reader = await TraceReader.OpenAsync(Path.Combine(TestPaths.Traces, trace + ".parquet"), plan.Settings.Tick);
        var results = await Autoscale.Backtesting.Engine.Backtest.RunAsync(reader, plan.Settings, plan.Candidates, timelinePoints: 100);
        return [.. results.OrderBy(r => plan.Candidates.Select(c => c.Name).ToList().IndexOf(r.Name))];
    }
}

/// <summary>A cluster backtest built through the public API alone (issue 35: the cluster was internal), checked as a config's is.</summary>
public sealed class PublicClusterTests
{
    [Fact]
    public async Task A_cluster_built_in_code_replays_as_the_same_cluster_read_from_a_config()
    {
        var plan = await new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadFileAsync(Path.Combine(TestPaths.Examples, "fleet.json"));
        var spec = plan.Candidates.Single(c => c.Name == "reactive, on-demand");
        await using var reader = await TraceReader.OpenAsync(Path.Combine(TestPaths.Traces, "azure-llm-code-2023.parquet"), plan.Settings.Tick);
        var trace = await reader.ReadAllAsync();

        // fleet.json's cluster: one on-demand pool of 8-GPU nodes at $24 an hour, 240 s to provision, empty nodes kept 600 s.
        var pool = new NodePoolSpec("on-demand", GpusPerNode: 8, DollarsPerNodeHour: 24, ProvisionSeconds: 240, MaxNodes: int.MaxValue, WarmNodes: 0,
            EmptyNodeScaleDownSeconds: 600, Spot: false, PreemptionsPerNodeHour: 0, NoticeSeconds: 120, CommittedNodes: 0, CommittedDollarsPerNodeHour: 24, Stockouts: null);
        var inCode = new ClusterSpec([pool], PlacementKind.CheapestFirst, [], 0, 0, DropOnPreemption: false, ReplicaFailuresPerHour: 0);
        var fromConfig = Backtest.RunOne(trace, plan.Settings, spec);
        var built = Backtest.RunOne(trace, plan.Settings with { Cluster = inCode }, spec);

        Assert.NotNull(built.Cluster);
        Assert.Equal(JsonSerializer.Serialize(fromConfig), JsonSerializer.Serialize(built));
    }

    [Fact]
    public void A_cluster_built_in_code_that_breaks_a_rule_is_refused_at_its_path()
    {
        var pool = new NodePoolSpec("a", GpusPerNode: 0, DollarsPerNodeHour: -1, ProvisionSeconds: 60, MaxNodes: 2, WarmNodes: 2, EmptyNodeScaleDownSeconds: 0,
            Spot: false, PreemptionsPerNodeHour: 0, NoticeSeconds: 0, CommittedNodes: 1, CommittedDollarsPerNodeHour: 1, Stockouts: null);
        var settings = new ReplaySettings(new SloSettings(NodaTime.Duration.FromSeconds(2), 99), new ReplicaSettings(30, 1, 3), NodaTime.Duration.FromSeconds(1))
        {
            Cluster = new ClusterSpec([pool, pool with { }], PlacementKind.Priority, [0, 5], 0, 0, false, double.NaN),
        };

        var messages = settings.Validate().Select(e => e.ToString()).ToList();

        Assert.Contains(messages, m => m.StartsWith("cluster.nodePools[0].gpusPerNode: must be >= 1", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("cluster.nodePools[0].maxNodes:", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("cluster.nodePools[0].dollarsPerNodeHour:", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("cluster.nodePools[1].name: \"a\" is already the name of another pool", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("cluster.placement:", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("cluster.replicaFailuresPerHour:", StringComparison.Ordinal));
        var trace = new TickTrace(NodaTime.Instant.FromUtc(2026, 1, 5, 0, 0), NodaTime.Duration.FromSeconds(1), new long[60]);
        var candidate = new CandidateSpec("c", () => new Autoscale.Policies.Fixed.FixedPolicy(new Autoscale.Policies.Fixed.FixedOptions { Replicas = 1 }), new FixedLoadTime(NodaTime.Duration.FromSeconds(1)));
        Assert.Throws<InvalidOptionsException>(() => Backtest.RunOne(trace, settings, candidate));
        Assert.Throws<InvalidOptionsException>(() => Backtest.RunOne(trace, settings with { Cluster = null }, candidate with { Cluster = settings.Cluster }));
    }
}
