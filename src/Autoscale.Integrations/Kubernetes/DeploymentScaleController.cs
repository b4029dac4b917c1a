using k8s;
using k8s.Models;
using Autoscale.Hosting;
using Microsoft.Extensions.Options;

namespace Autoscale.Integrations.Kubernetes;

/// <summary>The Deployment whose scale subresource the controller sets.</summary>
public sealed class DeploymentScaleOptions
{
    /// <summary>The namespace. Default "default".</summary>
    public string Namespace { get; set; } = "default";

    /// <summary>The Deployment's name.</summary>
    public string Deployment { get; set; } = "";
}

/// <summary>
/// Applies a replica count by patching the <c>scale</c> subresource of a Deployment
/// (<c>PATCH /apis/apps/v1/namespaces/NS/deployments/NAME/scale</c>, a merge patch of <c>spec.replicas</c>).
/// It needs RBAC to get and patch <c>deployments/scale</c> in the namespace (see README).
/// </summary>
public sealed class DeploymentScaleController : IReplicaController
{
    private readonly IKubernetes _client;
    private readonly DeploymentScaleOptions _options;

    /// <summary>Creates the controller on <paramref name="client"/>.</summary>
    public DeploymentScaleController(IKubernetes client, IOptions<DeploymentScaleOptions> options)
    {
        _client = client;
        _options = options.Value;
        if (string.IsNullOrWhiteSpace(_options.Deployment))
        {
            throw new InvalidOptionsException(["Deployment must name the Deployment to scale"]);
        }
    }

    /// <inheritdoc />
    public async ValueTask ApplyAsync(int replicas, CancellationToken cancellationToken)
    {
        var patch = new V1Patch(new { spec = new { replicas } }, V1Patch.PatchType.MergePatch);
        await _client.AppsV1.PatchNamespacedDeploymentScaleAsync(patch, _options.Deployment, _options.Namespace, cancellationToken: cancellationToken);
    }
}
