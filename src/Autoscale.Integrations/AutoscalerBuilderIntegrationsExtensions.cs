using Autoscale.Hosting;
using Autoscale.Integrations.Kubernetes;
using Autoscale.Integrations.Prometheus;
using k8s;
using k8s.Exceptions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Wires the integrations into the autoscaler from configuration alone.</summary>
public static class AutoscalerBuilderIntegrationsExtensions
{
    /// <summary>
    /// Reads the signal from Prometheus, with the server and queries of <paramref name="section"/>
    /// (<c>BaseAddress</c>, <c>ReadyReplicasQuery</c>, <c>LoadingReplicasQuery</c>, <c>QueueDepthQuery</c>,
    /// <c>ArrivalsQuery</c>, <c>ServedQuery</c>, <c>Timeout</c>), validated on start.
    /// </summary>
    public static AutoscalerBuilder UsePrometheusSignalSource(this AutoscalerBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.AddValidatedOptions<PrometheusSignalOptions>(section);
        builder.Services.AddHttpClient<PrometheusSignalSource>();
        return builder.UseSignalSource(sp => sp.GetRequiredService<PrometheusSignalSource>());
    }

    /// <summary>
    /// Applies the count to the <c>scale</c> subresource of the Deployment <paramref name="section"/> names
    /// (<c>Namespace</c>, <c>Deployment</c>), through the in-cluster service account or, outside a cluster, the
    /// kubeconfig (<c>KUBECONFIG</c> or <c>~/.kube/config</c>). Without either the host does not start, with one
    /// message saying so.
    /// </summary>
    public static AutoscalerBuilder UseKubernetesDeployment(this AutoscalerBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.AddValidatedOptions<DeploymentScaleOptions>(section);
        builder.Services.TryAddSingleton<IKubernetes>(_ => new k8s.Kubernetes(ClusterConfiguration()));
        return builder.UseReplicaController<DeploymentScaleController>();
    }

    private static KubernetesClientConfiguration ClusterConfiguration()
    {
        try
        {
            return KubernetesClientConfiguration.IsInCluster()
                ? KubernetesClientConfiguration.InClusterConfig()
                : KubernetesClientConfiguration.BuildConfigFromConfigFile();
        }
        catch (KubeConfigException e)
        {
            throw new InvalidOperationException($"no Kubernetes cluster to scale: not running in a cluster, and no usable kubeconfig (KUBECONFIG or ~/.kube/config): {e.Message.TrimEnd('.')}", e);
        }
    }
}
