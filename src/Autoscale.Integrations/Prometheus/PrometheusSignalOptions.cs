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
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 300)]
    public Duration Timeout { get; set; } = Duration.FromSeconds(5);

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() =>
        BaseAddress is { IsAbsoluteUri: false } ? [$"baseAddress ({BaseAddress}) must be an absolute URL such as http://prometheus:9090"] : [];
}
