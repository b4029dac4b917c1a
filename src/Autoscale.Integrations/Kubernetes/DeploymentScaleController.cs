using k8s;
using k8s.Models;
using Autoscale.Hosting;
using Microsoft.Extensions.Options;

namespace Autoscale.Integrations.Kubernetes;

/// <summary>The Deployment whose scale subresource the controller sets.</summary>
public sealed class DeploymentScaleOptions : IValidatableOptions
{
    /// <summary>The Deployment's namespace.</summary>
    [Option(Required = true)]
    public string Namespace { get; set; } = "default";

    /// <summary>The Deployment's name.</summary>
    [Option(Required = true)]
    public string Deployment { get; set; } = "";

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
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
        OptionRules.ThrowIfInvalid(_options);
    }

    /// <inheritdoc />
    public async ValueTask ApplyAsync(int replicas, CancellationToken cancellationToken)
    {
        var patch = new V1Patch(new { spec = new { replicas } }, V1Patch.PatchType.MergePatch);
        await _client.AppsV1.PatchNamespacedDeploymentScaleAsync(patch, _options.Deployment, _options.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
