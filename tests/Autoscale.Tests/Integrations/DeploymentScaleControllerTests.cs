using System.Net;
using System.Text;
using Autoscale.Integrations.Kubernetes;
using k8s;
using Microsoft.Extensions.Options;

namespace Autoscale.Tests.Integrations;

/// <summary>
/// Checks the shape of the requests the controller sends, against a local HTTP endpoint standing in
/// for the API server. This checks the request, not a real Kubernetes API server.
/// </summary>
public sealed class DeploymentScaleControllerTests
{
    [Fact]
    public async Task Applying_a_count_patches_the_deployment_scale_subresource()
    {
        var port = PrometheusServer.FreePort();
        using var api = new HttpListener();
        api.Prefixes.Add($"http://127.0.0.1:{port}/");
        api.Start();
        var seen = Task.Run(async () =>
        {
            var context = await api.GetContextAsync();
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            var request = (context.Request.HttpMethod, context.Request.Url!.AbsolutePath, context.Request.ContentType, body);
            var response = Encoding.UTF8.GetBytes("""{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"llm","namespace":"serving"},"spec":{"replicas":5},"status":{"replicas":3}}""");
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync(response);
            context.Response.Close();
            return request;
        });

        var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = $"http://127.0.0.1:{port}" });
        var controller = new DeploymentScaleController(client, Options.Create(new DeploymentScaleOptions { Namespace = "serving", Deployment = "llm" }));
        await controller.ApplyAsync(5, CancellationToken.None);
        var (method, path, contentType, body) = await seen;

        Assert.Equal("PATCH", method);
        Assert.Equal("/apis/apps/v1/namespaces/serving/deployments/llm/scale", path);
        Assert.StartsWith("application/merge-patch+json", contentType);
        Assert.Equal("""{"spec":{"replicas":5}}""", body.Replace(" ", "", StringComparison.Ordinal));
    }

    [Fact]
    public void A_controller_without_a_deployment_is_refused()
    {
        var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" });
        var error = Assert.Throws<InvalidOptionsException>(() => new DeploymentScaleController(client, Options.Create(new DeploymentScaleOptions())));
        Assert.Equal("deployment: must not be empty", error.Message);
    }
}
