using Autoscale.Config;
using Autoscale.Config.Manifests;
using Autoscale.Policies.Catalog;
using Autoscale.Policies.RayServe;
using Xunit;

namespace Autoscale.Tests.Policies.RayServe;

/// <summary>
/// Ray's own config validation cases, ported: ray-project/ray python/ray/serve/tests/unit/test_config.py
/// (test_autoscaling_config_validation, TestDeploymentConfig's num_replicas, TestAutoscalingConfig.test_scaling_factor;
/// Apache-2.0, the Ray authors). Each autoscaling_config is imported from a Serve config: accepted where Ray accepts
/// it, refused in one line naming the field where Ray raises.
/// </summary>
public sealed class RayConfigValidationTests
{
    private static readonly PolicyCatalog Catalog = PolicyCatalog.CreateBuiltIn();

    private static string Serve(string deployment) => $$"""
        applications:
          - name: app
            import_path: m:app
            deployments:
              - name: D
        {{string.Join("\n", deployment.Split('\n').Select(l => "        " + l))}}
        """;

    private static System.Text.Json.Nodes.JsonObject Import(string deployment) =>
        ManifestImporter.Import("serve.yaml", Serve(deployment), new Dictionary<string, string>(), Catalog);

    [Theory]
    [InlineData("autoscaling_config: { min_replicas: -1 }", "min_replicas")]
    [InlineData("autoscaling_config: { max_replicas: 0 }", "max_replicas")]
    [InlineData("autoscaling_config: { target_ongoing_requests: -1 }", "target_ongoing_requests")]
    [InlineData("autoscaling_config: { min_replicas: 100, max_replicas: 1 }", "min_replicas")]
    [InlineData("autoscaling_config: { min_replicas: 10, initial_replicas: 1 }", "min_replicas")] // max_replicas defaults to 1: the min-max rule fails first, as in Ray
    [InlineData("autoscaling_config: { min_replicas: 10, initial_replicas: 1, max_replicas: 15 }", "initial_replicas")]
    [InlineData("autoscaling_config: { initial_replicas: 10, max_replicas: 8 }", "initial_replicas")]
    [InlineData("autoscaling_config: { min_replicas: 1, initial_replicas: 10, max_replicas: 8 }", "initial_replicas")]
    [InlineData("num_replicas: hello", "num_replicas")]
    [InlineData("num_replicas: -1", "num_replicas")]
    public void Ray_raises_and_so_do_we_naming_the_field(string deployment, string field)
    {
        var e = Assert.Throws<ConfigException>(() => Import(deployment));

        Assert.Contains(field, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("autoscaling_config: { min_replicas: 1, max_replicas: 100 }")]
    [InlineData("autoscaling_config: { min_replicas: 10, max_replicas: 10 }")]
    [InlineData("autoscaling_config: { min_replicas: 5, initial_replicas: 10, max_replicas: 15 }")]
    [InlineData("autoscaling_config: { min_replicas: 5, initial_replicas: 5, max_replicas: 15 }")]
    [InlineData("autoscaling_config: { min_replicas: 1, initial_replicas: 4, max_replicas: 5 }")]
    [InlineData("autoscaling_config: { min_replicas: 1, initial_replicas: 5, max_replicas: 5 }")]
    [InlineData("autoscaling_config: {}")]
    public void Ray_accepts_and_so_do_we(string deployment)
    {
        Assert.Equal("ray-serve", Import(deployment)["policy"]!.ToString());
    }

    [Theory]
    [InlineData("{}", 1, 1)]
    [InlineData("{ smoothing_factor: 0.4 }", 0.4, 0.4)]
    [InlineData("{ upscale_smoothing_factor: 0.4 }", 0.4, 1)]
    [InlineData("{ downscale_smoothing_factor: 0.4 }", 1, 0.4)]
    [InlineData("{ smoothing_factor: 0.4, upscale_smoothing_factor: 0.1, downscale_smoothing_factor: 0.01 }", 0.1, 0.01)]
    [InlineData("{ smoothing_factor: 0.4, upscaling_factor: 0.5, downscaling_factor: 0.6 }", 0.5, 0.6)]
    [InlineData("{ smoothing_factor: 0.4, upscale_smoothing_factor: 0.1, downscale_smoothing_factor: 0.01, upscaling_factor: 0.5, downscaling_factor: 0.6 }", 0.5, 0.6)]
    public void The_scaling_factors_resolve_as_ray_resolves_them(string config, double up, double down)
    {
        var options = Import("autoscaling_config: " + config)["options"]!;
        using var document = System.Text.Json.JsonDocument.Parse(options.ToJsonString());
        var bound = (RayServeOptions)Autoscale.OptionsBinder.Bind(typeof(RayServeOptions), document.RootElement, "options");

        Assert.Equal((up, down), (bound.UpFactor, bound.DownFactor));
        Assert.Equal(2, bound.TargetOngoingRequests); // get_target_ongoing_requests() == 2 by default
    }
}
