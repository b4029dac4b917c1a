using Autoscale;
using Autoscale.Hosting;
using Autoscale.Sample;

// A service that autoscales a model server, its policy named in appsettings.json in the shape of a backtest
// candidate. Sample:Mode picks the world it acts on:
//   replay      (default) a fleet simulated on a bundled trace, in accelerated time; needs nothing installed;
//   kubernetes  Prometheus signals, and the Deployment's scale subresource set directly;
//   keda        Prometheus signals, served to KEDA as an external scaler (gRPC); KEDA and the HPA apply.
// It starts in dry run (Autoscaler:DryRun): it logs what it would do. Ctrl-C stops it.
var mode = Mode(args);
if (mode is null)
{
    await Console.Error.WriteLineAsync("error: Sample:Mode must be replay, kubernetes or keda");
    return 2;
}

try
{
    if (mode == "keda")
    {
        var web = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        web.Services.AddAutoscaler(web.Configuration.GetSection("Autoscaler"))
            .UsePrometheusSignalSource(web.Configuration.GetSection("Prometheus"))
            .UseKedaScaler(web.Configuration.GetSection("Keda"));
        web.WebHost.ConfigureKestrel(k => k.ListenForKeda(web.Configuration.GetSection("Keda")));
        var app = web.Build();
        app.MapKedaScaler();
        Startup.Check(app.Services);
        await app.RunAsync();
        return 0;
    }

    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
    var autoscaler = builder.Services.AddAutoscaler(builder.Configuration.GetSection("Autoscaler"));
    if (mode == "kubernetes")
    {
        autoscaler.UsePrometheusSignalSource(builder.Configuration.GetSection("Prometheus"))
            .UseKubernetesDeployment(builder.Configuration.GetSection("Kubernetes"));
    }
    else
    {
        var replay = new ReplayOptions();
        ConfigurationBinding.Bind(builder.Configuration.GetSection("Replay"), replay);
        OptionRules.ThrowIfInvalid(replay);
        autoscaler.UseReplayedFleet(await ReplayedFleetExtensions.LoadTraceAsync(replay, CancellationToken.None), replay);
    }

    var host = builder.Build();
    Startup.Check(host.Services);
    await host.RunAsync();
    return 0;
}
catch (Exception e) when (Startup.IsConfigurationError(e))
{
    await Console.Error.WriteLineAsync($"error: {Startup.OneLine(e)}");
    return 2;
}

static string? Mode(string[] args)
{
    var configuration = new ConfigurationBuilder()
        .SetBasePath(AppContext.BaseDirectory)
        .AddJsonFile("appsettings.json", optional: true)
        .AddEnvironmentVariables()
        .AddCommandLine(args)
        .Build();
    var mode = (configuration["Sample:Mode"] ?? "replay").Trim().ToLowerInvariant();
    return mode is "replay" or "kubernetes" or "keda" ? mode : null;
}
