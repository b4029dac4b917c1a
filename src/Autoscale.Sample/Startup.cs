using Autoscale.Traces;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Autoscale.Sample;

/// <summary>What stops the sample before it runs: one clear line instead of a stack trace.</summary>
internal static class Startup
{
    /// <summary>Errors of configuration and environment (options, a missing policy or cluster, a bad trace), not bugs.</summary>
    public static bool IsConfigurationError(Exception e) => e switch
    {
        OptionsValidationException or OptionsBindingException or InvalidOptionsException or TraceFormatException
            or FileNotFoundException or DirectoryNotFoundException or IOException => true,
        InvalidOperationException => true,
        AggregateException aggregate => aggregate.InnerExceptions.All(IsConfigurationError),
        _ => false,
    };

    /// <summary>
    /// Builds what the host would build on start (validated options, the policy, the signal source and the controller),
    /// so a configuration error is reported before the host logs it with a stack trace.
    /// </summary>
    public static void Check(IServiceProvider services)
    {
        services.GetService<IStartupValidator>()?.Validate();
        services.GetRequiredService<Autoscale.Hosting.IAutoscaler>();
    }

    /// <summary>The messages of an exception and its inner ones, on one line.</summary>
    public static string OneLine(Exception e)
    {
        var parts = new List<string>();
        for (var x = e; x is not null; x = x.InnerException)
        {
            var message = x is OptionsValidationException validation ? string.Join("; ", validation.Failures) : x.Message;
            message = message.ReplaceLineEndings(" ").Trim();
            if (message.Length > 0 && !parts.Any(p => p.Contains(message, StringComparison.Ordinal)))
            {
                parts.Add(message);
            }
        }

        return string.Join(": ", parts);
    }
}
