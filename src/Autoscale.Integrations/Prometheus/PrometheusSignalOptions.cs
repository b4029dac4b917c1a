namespace Autoscale.Integrations.Prometheus;

/// <summary>
/// Where Prometheus is and the PromQL that gives each observation. Every query must return exactly one
/// series (aggregate with <c>sum()</c>). The defaults read a vLLM deployment scaled by Kubernetes.
/// </summary>
public sealed class PrometheusSignalOptions
{
    /// <summary>The Prometheus server, e.g. <c>http://prometheus:9090</c>.</summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>Ready replicas.</summary>
    public string ReadyReplicasQuery { get; set; } = "sum(kube_deployment_status_replicas_available{deployment=\"llm\"})";

    /// <summary>Replicas started but not ready.</summary>
    public string LoadingReplicasQuery { get; set; } = "sum(kube_deployment_status_replicas{deployment=\"llm\"}) - sum(kube_deployment_status_replicas_available{deployment=\"llm\"})";

    /// <summary>Requests waiting.</summary>
    public string QueueDepthQuery { get; set; } = "sum(vllm:num_requests_waiting)";

    /// <summary>Requests that arrived during the last decision interval (match the range to the interval).</summary>
    public string ArrivalsQuery { get; set; } = "sum(increase(vllm:request_success_total[15s]))";

    /// <summary>Requests that started service during the last interval (optional).</summary>
    public string? ServedQuery { get; set; }

    /// <summary>How long one query may take. Default 5 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Every rule the options break; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (BaseAddress is null || !BaseAddress.IsAbsoluteUri)
        {
            errors.Add($"BaseAddress ({BaseAddress}) must be an absolute URL such as http://prometheus:9090");
        }

        foreach (var (name, query) in new[] { (nameof(ReadyReplicasQuery), ReadyReplicasQuery), (nameof(LoadingReplicasQuery), LoadingReplicasQuery), (nameof(QueueDepthQuery), QueueDepthQuery), (nameof(ArrivalsQuery), ArrivalsQuery) })
        {
            if (string.IsNullOrWhiteSpace(query))
            {
                errors.Add($"{name} must be a PromQL query");
            }
        }

        if (Timeout <= TimeSpan.Zero)
        {
            errors.Add($"Timeout ({Timeout}) must be > 0");
        }

        return errors;
    }
}
