using Autoscale.Hosting;
using Autoscale.Integrations.Kubernetes;
using Autoscale.Integrations.Prometheus;
using Autoscale.Keda;
using k8s;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using NodaTime;

// A service that autoscales a model server. The policy comes from configuration (the same shape as a
// backtest candidate) and the signal from Prometheus. Mode "kubernetes" sets the Deployment's scale
// subresource itself; mode "keda" serves a KEDA external scaler (gRPC) that reports the policy's count,
// and KEDA and the HPA scale the Deployment. It starts in dry run: it logs what it would do.
var builder = WebApplication.CreateBuilder(args);
var section = builder.Configuration.GetSection("Autoscaler");
var keda = string.Equals(section["Mode"], "keda", StringComparison.OrdinalIgnoreCase);

builder.Services.Configure<PrometheusSignalOptions>(builder.Configuration.GetSection("Prometheus"));
builder.Services.AddHttpClient<PrometheusSignalSource>();
var autoscaler = builder.Services.AddAutoscaler(o =>
    {
        o.Interval = Duration.FromSeconds(section.GetValue("IntervalSeconds", 15.0));
        o.MaxReplicas = section.GetValue("MaxReplicas", 40);
        o.CapacityPerReplica = section.GetValue("CapacityPerReplica", 30.0);
        o.DryRun = keda || section.GetValue("DryRun", true);  // with KEDA, KEDA applies and the loop only decides
    })
    .UsePolicy(section.GetSection("Policy"))
    .UseSignalSource(sp => sp.GetRequiredService<PrometheusSignalSource>());

if (keda)
{
    builder.Services.Configure<KedaScalerOptions>(builder.Configuration.GetSection("Keda"));
    builder.Services.AddGrpc();
    builder.WebHost.ConfigureKestrel(k => k.ListenAnyIP(section.GetValue("GrpcPort", 6000), o => o.Protocols = HttpProtocols.Http2));
    autoscaler.UseReplicaController(_ => new NoController());
}
else
{
    builder.Services.Configure<DeploymentScaleOptions>(builder.Configuration.GetSection("Kubernetes"));
    builder.Services.AddSingleton<IKubernetes>(_ => new Kubernetes(
        KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig() : KubernetesClientConfiguration.BuildConfigFromConfigFile()));
    autoscaler.UseReplicaController<DeploymentScaleController>();
}

var app = builder.Build();
if (keda)
{
    app.MapGrpcService<KedaScalerService>();
}

await app.RunAsync();

/// <summary>With KEDA the loop never applies (dry run); this controller only satisfies the registration.</summary>
internal sealed class NoController : IReplicaController
{
    public ValueTask ApplyAsync(int replicas, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
