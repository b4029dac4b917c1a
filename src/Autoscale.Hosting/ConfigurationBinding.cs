using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Autoscale.Hosting;

/// <summary>
/// Binds options classes from configuration sections with the same binder and rules as a backtest config file
/// (unknown keys and bad values are errors naming the key; durations as <c>15</c>, <c>"15s"</c> or <c>"PT15S"</c>),
/// and validates them with <see cref="OptionRules"/> on start.
/// </summary>
public static class ConfigurationBinding
{
    /// <summary>Sets the options of <paramref name="section"/> on <paramref name="options"/>.</summary>
    /// <exception cref="OptionsBindingException">A key is unknown or a value does not fit (the message names the key).</exception>
    public static void Bind<[DynamicallyAccessedMembers(OptionRules.Members)] TOptions>(IConfigurationSection section, TOptions options, params string[] ignore)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(section);
        var json = JsonSerializer.SerializeToElement(ConfiguredPolicy.ToJson(section), HostingJson.Default.JsonNode);
        try
        {
            OptionsBinder.Populate(options, typeof(TOptions), json, section.Path, ignore);
        }
        catch (OptionsBindingException e)
        {
            // Configuration paths join keys with ':'.
            throw new OptionsBindingException(e.Path.Replace('.', ':'), e.Problem);
        }
    }

    /// <summary>
    /// Registers <typeparamref name="TOptions"/> bound from <paramref name="section"/> (after any callbacks registered
    /// before) and validated with <see cref="OptionRules"/> when the host starts, every broken rule in one message.
    /// </summary>
    public static OptionsBuilder<TOptions> AddValidatedOptions<[DynamicallyAccessedMembers(OptionRules.Members)] TOptions>(this IServiceCollection services, IConfigurationSection? section = null, params string[] ignore)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptionsWithValidateOnStart<TOptions>();
        if (section is not null)
        {
            builder.Configure(o => Bind(section, o, ignore));
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, RulesValidator<TOptions>>());
        return builder;
    }

    private sealed class RulesValidator<[DynamicallyAccessedMembers(OptionRules.Members)] TOptions> : IValidateOptions<TOptions>
        where TOptions : class
    {
        public ValidateOptionsResult Validate(string? name, TOptions options)
        {
            var errors = OptionRules.Validate(options, typeof(TOptions));
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => $"{typeof(TOptions).Name}.{e}"));
        }
    }
}

/// <summary>Serialization metadata for turning configuration into JSON, made at compile time.</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(System.Text.Json.Nodes.JsonNode))]
internal sealed partial class HostingJson : System.Text.Json.Serialization.JsonSerializerContext;
