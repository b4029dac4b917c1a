using Autoscale;
using Autoscale.Hosting;
using Autoscale.Policies.Catalog;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NodaTime;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the live autoscaler.</summary>
public static class AutoscalerServiceCollectionExtensions
{
    /// <summary>
    /// Adds the autoscaler loop as a hosted service, with its options (validated on start), a NodaTime
    /// <see cref="IClock"/> (the system clock unless one is registered) and metrics. Then name the policy,
    /// signal source and replica controller on the returned builder.
    /// </summary>
    public static AutoscalerBuilder AddAutoscaler(this IServiceCollection services, Action<AutoscalerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddValidatedOptions<AutoscalerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddCore(services);
    }

    /// <summary>
    /// Adds the autoscaler with its options bound from <paramref name="section"/> (<c>Interval</c>, <c>MaxReplicas</c>,
    /// <c>CapacityPerReplica</c>, <c>ExpectedLoadTime</c>, <c>DryRun</c>, ...; validated on start). A <c>Policy</c>
    /// child, in the shape of a backtest candidate, names the policy.
    /// </summary>
    public static AutoscalerBuilder AddAutoscaler(this IServiceCollection services, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        services.AddValidatedOptions<AutoscalerOptions>(section, "Policy");
        var builder = AddCore(services);
        var policy = section.GetSection("Policy");
        if (policy.Exists())
        {
            return builder.UsePolicy(policy);
        }

        // No policy in configuration: one may still come from code (UsePolicy replaces this); otherwise starting says what is missing.
        services.TryAddSingleton<IScalingPolicy>(_ => throw new InvalidOperationException(
            $"{section.Path}:Policy is missing: name the policy as a backtest candidate does, e.g. {{\"policy\": \"warm-floor\", \"options\": {{\"minReplicas\": 2}}, \"loadTime\": {{\"fixedSeconds\": 90}}}}"));
        return builder;
    }

    private static AutoscalerBuilder AddCore(IServiceCollection services)
    {
        // One time: the TimeProvider; the NodaTime clock is derived from it unless the application registered its own.
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IClock>(sp => new AutoscalerTime.DerivedClock(sp.GetRequiredService<TimeProvider>()));
        services.AddMetrics();
        services.TryAddSingleton<AutoscalerMetrics>();
        services.TryAddSingleton<PolicyCatalog>(_ => PolicyCatalog.CreateBuiltIn());
        services.TryAddSingleton<AutoscalerLoop>();
        services.TryAddSingleton<IAutoscaler>(sp => sp.GetRequiredService<AutoscalerLoop>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, AutoscalerLoop>(sp => sp.GetRequiredService<AutoscalerLoop>()));
        return new AutoscalerBuilder(services);
    }
}

/// <summary>Names the policy, signal source and replica controller of the autoscaler. A later call replaces an earlier one.</summary>
public sealed class AutoscalerBuilder
{
    internal AutoscalerBuilder(IServiceCollection services)
    {
        Services = services;
    }

    /// <summary>The service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Uses <typeparamref name="TPolicy"/>, built by the container (one instance for the loop's life).</summary>
    public AutoscalerBuilder UsePolicy<TPolicy>()
        where TPolicy : class, IScalingPolicy
    {
        Services.Replace(ServiceDescriptor.Singleton<IScalingPolicy, TPolicy>());
        return this;
    }

    /// <summary>Uses the policy <paramref name="factory"/> builds.</summary>
    public AutoscalerBuilder UsePolicy(Func<IServiceProvider, IScalingPolicy> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.Replace(ServiceDescriptor.Singleton(factory));
        return this;
    }

    /// <summary>
    /// Uses the policy a configuration section names, in the shape of a backtest candidate
    /// (<c>policy</c>, <c>options</c>, optional <c>loadTime:fixedSeconds</c> for the expected load time).
    /// </summary>
    public AutoscalerBuilder UsePolicy(IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        Services.Replace(ServiceDescriptor.Singleton<IScalingPolicy>(sp => ConfiguredPolicy.Create(section, sp.GetRequiredService<PolicyCatalog>())));
        if (ConfiguredPolicy.FixedLoadSeconds(section) is { } seconds)
        {
            Services.Configure<AutoscalerOptions>(o => o.ExpectedLoadTime = OptionDuration.FromSeconds(seconds));
        }

        return this;
    }

    /// <summary>Uses <typeparamref name="TSource"/> to read the signal.</summary>
    public AutoscalerBuilder UseSignalSource<TSource>()
        where TSource : class, IScalingSignalSource
    {
        Services.Replace(ServiceDescriptor.Singleton<IScalingSignalSource, TSource>());
        return this;
    }

    /// <summary>Uses the signal source <paramref name="factory"/> builds.</summary>
    public AutoscalerBuilder UseSignalSource(Func<IServiceProvider, IScalingSignalSource> factory)
    {
        Services.Replace(ServiceDescriptor.Singleton(factory));
        return this;
    }

    /// <summary>Uses <typeparamref name="TController"/> to apply replica counts.</summary>
    public AutoscalerBuilder UseReplicaController<TController>()
        where TController : class, IReplicaController
    {
        Services.Replace(ServiceDescriptor.Singleton<IReplicaController, TController>());
        return this;
    }

    /// <summary>Uses the replica controller <paramref name="factory"/> builds.</summary>
    public AutoscalerBuilder UseReplicaController(Func<IServiceProvider, IReplicaController> factory)
    {
        Services.Replace(ServiceDescriptor.Singleton(factory));
        return this;
    }
}

