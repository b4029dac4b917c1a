using Autoscale.Config;
using Autoscale.Policies.Catalog;

namespace Autoscale.Tests.Serving;

/// <summary>replica.serving.disaggregation read: each pool's fields over replica.serving, its GPUs and price, and the KV cache a token moves.</summary>
public sealed class DisaggregationConfigTests
{
    private static string Config(string dtype, string transfer, string decode = """{ "maxSequences": 256, "dollarsPerGpuHour": 1.5 }""") => $$"""
        { "slo": { "maxTtftSeconds": 2, "targetPercent": 99 },
          "replica": { "dollarsPerGpuHour": 3.0, "serving": {
            "hardware": { "model": "meta-llama/Llama-3.1-8B-Instruct", "gpu": "H100-SXM", "tensorParallel": 2, "dtype": "{{dtype}}" },
            "maxSequences": 128, "maxBatchedTokens": 2048,
            "disaggregation": { "prefill": { "maxBatchedTokens": 8192 }, "decode": {{decode}}, "kvTransfer": {{transfer}} } } },
          "engine": { "serving": "request" },
          "candidates": [ { "name": "pd", "loadTime": { "fixedSeconds": 30 },
            "policies": { "prefill": { "policy": "fixed", "options": { "replicas": 1 } }, "decode": { "policy": "pd-ratio", "options": { "ratio": 2 }, "loadTime": { "fixedSeconds": 60 }, "decisionIntervalSeconds": 15 } } } ] }
        """;

    private static Task<BacktestPlan> Load(string json) => new ConfigLoader(PolicyCatalog.CreateBuiltIn()).LoadAsync(json, "pd.json");

    [Fact]
    public async Task Each_pool_lays_its_fields_over_the_replicas_profile()
    {
        var plan = await Load(Config("bf16", """{ "bandwidthGBps": 50 }"""));
        var serving = plan.Settings.Serving!;
        var pools = serving.Disaggregation!;

        // The prefill pool changes its token budget, the decode pool its sequences and price; the rest is replica.serving's,
        // derived from the hardware for each pool.
        Assert.Equal(8192, pools.Prefill.MaxBatchedTokens);
        Assert.Equal(128, pools.Prefill.MaxSequences);
        Assert.Equal(2048, pools.Decode.MaxBatchedTokens);
        Assert.Equal(256, pools.Decode.MaxSequences);
        Assert.Equal(serving.KvCacheTokens, pools.Decode.KvCacheTokens);
        Assert.Equal(serving.BaseSeconds, pools.Prefill.BaseSeconds);
        Assert.Equal(2, pools.PrefillReplica.Gpus);
        Assert.Equal(3.0, pools.PrefillReplica.DollarsPerGpuHour);
        Assert.Equal(1.5, pools.DecodeReplica.DollarsPerGpuHour);

        // Llama-3.1-8B: 32 layers x (keys and values) x 8 KV heads x 128 x 2 bytes; over the prefill replica's 2 GPUs' links.
        Assert.Equal(32 * 2 * 8 * 128 * 2, pools.Transfer.KvBytesPerToken);
        Assert.Equal(2, pools.Transfer.Links);
        Assert.Equal(50, pools.Transfer.BandwidthGBps);
        Assert.Equal(NodaTime.Duration.FromNanoseconds(50_000), pools.Transfer.BaseLatency);

        // Each pool's policy has its own load time and cadence (the decode pool's given, the prefill pool's the candidate's).
        var candidate = Assert.Single(plan.Candidates);
        Assert.Equal("fixed (prefill) + pd-ratio (decode)", candidate.PolicyName);
        Assert.Equal(30, candidate.Pools!.Prefill.LoadTime.ExpectedLoadTime.TotalSeconds);
        Assert.Equal(60, candidate.Pools.Decode.LoadTime.ExpectedLoadTime.TotalSeconds);
        Assert.Equal(15, candidate.Pools.Decode.DecisionIntervalTicks);
    }

    [Fact]
    public async Task The_kv_cache_a_token_moves_follows_the_dtype_or_the_config()
    {
        var fp8 = (await Load(Config("fp8", """{ "bandwidthGBps": 50 }"""))).Settings.Serving!.Disaggregation!;
        Assert.Equal(32 * 2 * 8 * 128, fp8.Transfer.KvBytesPerToken);
        var given = (await Load(Config("bf16", """{ "bandwidthGBps": 50, "kvBytesPerToken": 1000, "baseLatencySeconds": 0.001 }"""))).Settings.Serving!.Disaggregation!;
        Assert.Equal(1000, given.Transfer.KvBytesPerToken);
        Assert.Equal(NodaTime.Duration.FromMilliseconds(1), given.Transfer.BaseLatency);
    }

    [Fact]
    public async Task A_pools_gpus_must_match_its_hardware()
    {
        var e = await Assert.ThrowsAsync<ConfigException>(() => Load(Config("bf16", """{ "bandwidthGBps": 50 }""", """{ "gpus": 4 }""")));
        Assert.Equal("pd.json: replica.serving.disaggregation.decode.gpus: (4) must equal the pool's hardware.tensorParallel (2) (or leave it out)", e.Message);

        // A pool on other hardware takes that hardware's tensor-parallel degree as its GPUs.
        var other = (await Load(Config("bf16", """{ "bandwidthGBps": 50 }""", """{ "hardware": { "model": "meta-llama/Llama-3.1-8B-Instruct", "gpu": "L40S", "tensorParallel": 4 } }"""))).Settings.Serving!.Disaggregation!;
        Assert.Equal(4, other.DecodeReplica.Gpus);
        Assert.Equal(2, other.PrefillReplica.Gpus);
    }
}
