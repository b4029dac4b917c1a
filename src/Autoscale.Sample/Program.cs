using Autoscale.Integrations.Kubernetes;
using Autoscale.Integrations.Prometheus;
using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NodaTime;

// A service that autoscales a model server: the policy comes from configuration (the same shape as a
// backtest candidate), the signal from Prometheus, the replica count goes to the Deployment's scale
// subresource. It starts in dry run: it logs what it would do until Autoscaler:DryRun is false.
var builder = Host.CreateApplicationBuilder(args);
var section = builder.Configuration.GetSection("Autoscaler");

builder.Services.Configure<PrometheusSignalOptions>(builder.Configuration.GetSection("Prometheus"));
builder.Services.Configure<DeploymentScaleOptions>(builder.Configuration.GetSection("Kubernetes"));
builder.Services.AddHttpClient<PrometheusSignalSource>();
builder.Services.AddSingleton<IKubernetes>(_ => new Kubernetes(
    KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig() : KubernetesClientConfiguration.BuildConfigFromConfigFile()));

builder.Services.AddAutoscaler(o =>
    {
        o.Interval = Duration.FromSeconds(section.GetValue("IntervalSeconds", 15.0));
        o.MaxReplicas = section.GetValue("MaxReplicas", 40);
        o.CapacityPerReplica = section.GetValue("CapacityPerReplica", 30.0);
        o.DryRun = section.GetValue("DryRun", true);
    })
    .UsePolicy(section.GetSection("Policy"))
    .UseSignalSource(sp => sp.GetRequiredService<PrometheusSignalSource>())
    .UseReplicaController<DeploymentScaleController>();

await builder.Build().RunAsync();
