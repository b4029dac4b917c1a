using Autoscale.Hosting;
using Autoscale.Keda;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Serves the autoscaler's decisions to KEDA as an external scaler.</summary>
public static class KedaScalerExtensions
{
    /// <summary>
    /// Serves a KEDA external scaler for the ScaledObject <paramref name="section"/> names (<c>Namespace</c>,
    /// <c>ScaledObject</c>, <c>MetricName</c>, <c>StreamInterval</c>, <c>Port</c>). KEDA and the HPA apply the count, so
    /// the loop only decides: it runs in dry run. Map the service with <see cref="MapKedaScaler"/>; the host must listen
    /// with HTTP/2 on the port (<see cref="ListenForKeda"/>).
    /// </summary>
    public static AutoscalerBuilder UseKedaScaler(this AutoscalerBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.AddValidatedOptions<KedaScalerOptions>(section);
        builder.Services.AddGrpc();
        builder.Services.PostConfigure<AutoscalerOptions>(o => o.DryRun = true);
        return builder.UseReplicaController(_ => new KedaApplies());
    }

    /// <summary>Listens with HTTP/2 cleartext on the scaler's port (<c>Port</c> of <paramref name="section"/>, 6000 by default).</summary>
    public static KestrelServerOptions ListenForKeda(this KestrelServerOptions kestrel, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        var options = new KedaScalerOptions();
        ConfigurationBinding.Bind(section, options);
        kestrel.ListenAnyIP(options.Port, o => o.Protocols = HttpProtocols.Http2);
        return kestrel;
    }

    /// <summary>
    /// Maps the external scaler's gRPC service (KEDA v2's <c>externalscaler.proto</c>); a request whose message cannot be
    /// read is answered INVALID_ARGUMENT.
    /// </summary>
    public static WebApplication MapKedaScaler(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Use(MalformedRequests.Check);
        app.MapGrpcService<KedaScalerService>();
        return app;
    }

    /// <summary>With KEDA the loop never applies (it runs in dry run); this controller only completes the registration.</summary>
    private sealed class KedaApplies : IReplicaController
    {
        public ValueTask ApplyAsync(int replicas, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
