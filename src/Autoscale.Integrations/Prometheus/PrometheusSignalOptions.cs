using NodaTime;

namespace Autoscale.Integrations.Prometheus;

/// <summary>
/// Where Prometheus is and the PromQL that gives each observation. Every query must return exactly one
/// series (aggregate with <c>sum()</c>). The defaults read a vLLM deployment scaled by Kubernetes.
/// </summary>
public sealed class PrometheusSignalOptions : IValidatableOptions
{
    /// <summary>The Prometheus server, e.g. <c>http://prometheus:9090</c>.</summary>
    [Option(Required = true)]
    public Uri? BaseAddress { get; set; }

    /// <summary>Ready replicas.</summary>
    [Option(Required = true)]
    public string ReadyReplicasQuery { get; set; } = "sum(kube_deployment_status_replicas_available{deployment=\"llm\"})";

    /// <summary>Replicas started but not ready.</summary>
    [Option(Required = true)]
    public string LoadingReplicasQuery { get; set; } = "sum(kube_deployment_status_replicas{deployment=\"llm\"}) - sum(kube_deployment_status_replicas_available{deployment=\"llm\"})";

    /// <summary>Requests waiting.</summary>
    [Option(Required = true)]
    public string QueueDepthQuery { get; set; } = "sum(vllm:num_requests_waiting)";

    /// <summary>Requests that arrived during the last decision interval (match the range to the interval).</summary>
    [Option(Required = true)]
    public string ArrivalsQuery { get; set; } = "sum(increase(vllm:request_success_total[15s]))";

    /// <summary>Requests that started service during the last interval; none when not set.</summary>
    [Option]
    public string? ServedQuery { get; set; }

    /// <summary>How long one query may take.</summary>
    /// <summary>
    /// Whether to read the serving signals (running requests, KV cache use, TTFT) a model server exports, for policies
    /// that scale on them; turn off for servers without vLLM's metrics.
    /// </summary>
    [Option]
    public bool ReadServingSignals { get; set; } = true;

    /// <summary>Requests running in the model servers' batches (vLLM's <c>vllm:num_requests_running</c>).</summary>
    [Option]
    public string RunningQuery { get; set; } = "sum(vllm:num_requests_running)";

    /// <summary>KV cache use as a fraction from 0 to 1 (vLLM's <c>vllm:kv_cache_usage_perc</c>, or <c>vllm:gpu_cache_usage_perc</c> before v0.10).</summary>
    [Option]
    public string KvCacheUtilizationQuery { get; set; } = "avg(vllm:kv_cache_usage_perc) or avg(vllm:gpu_cache_usage_perc)";

    /// <summary>
    /// The prefix cache hit rate over the last minute, cached prompt tokens over prompt tokens (vLLM V1's
    /// <c>vllm:prefix_cache_hits</c> over <c>vllm:prefix_cache_queries</c>); no queries (NaN, or no series) reads as 0.
    /// </summary>
    [Option]
    public string PrefixCacheHitRateQuery { get; set; } = "sum(rate(vllm:prefix_cache_hits_total[1m])) / sum(rate(vllm:prefix_cache_queries_total[1m]))";

    /// <summary>The median time to first token over the last minute, in seconds, from vLLM's histogram (NaN, no first token, reads as none).</summary>
    [Option]
    public string TtftP50Query { get; set; } = "histogram_quantile(0.5, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket[1m])))";

    /// <summary>The 95th percentile time to first token over the last minute, in seconds, from vLLM's histogram.</summary>
    [Option]
    public string TtftP95Query { get; set; } = "histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket[1m])))";

    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 300)]
    public Duration Timeout { get; set; } = Duration.FromSeconds(5);

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() =>
        BaseAddress is { IsAbsoluteUri: false } ? [$"baseAddress ({BaseAddress}) must be an absolute URL such as http://prometheus:9090"] : [];
}
