using System.Net;
using System.Text;
using Autoscale.Hosting;
using Autoscale.Integrations.Prometheus;
using Autoscale.Policies.WarmFloor;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NodaTime;

namespace Autoscale.Tests.Hosting;

/// <summary>The live side from configuration alone: one binder, durations in any usual form, failures named.</summary>
public sealed class HostingConfigurationTests
{
    private static IConfigurationSection Section(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build().GetSection("Autoscaler");

    [Theory]
    [InlineData("15", 15)]
    [InlineData("\"15s\"", 15)]
    [InlineData("\"2m\"", 120)]
    [InlineData("\"PT1M30S\"", 90)]
    [InlineData("\"00:00:45\"", 45)]
    [InlineData("0.5", 0.5)]
    public void Durations_bind_from_configuration_as_users_write_them(string interval, double seconds)
    {
        var services = new ServiceCollection();
        services.AddAutoscaler(Section($$"""{ "Autoscaler": { "Interval": {{interval}}, "MaxReplicas": 40, "CapacityPerReplica": 30 } }"""));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<AutoscalerOptions>>().Value;

        Assert.Equal(Duration.FromSeconds(seconds), options.Interval);
        Assert.Equal(40, options.MaxReplicas);
        Assert.Equal(30, options.CapacityPerReplica);
    }

    [Theory]
    [InlineData("""{ "Autoscaler": { "Intervl": "15s" } }""", "Autoscaler:Intervl: unknown option for AutoscalerOptions (known: ")]
    [InlineData("""{ "Autoscaler": { "Interval": "soon" } }""", "Autoscaler:Interval: must be a duration such as 15 (seconds), \"90s\", \"5m\" or \"PT15S\", not the string \"soon\"")]
    [InlineData("""{ "Autoscaler": { "Interval": "1000000w" } }""", "Autoscaler:Interval: must be a duration such as 15 (seconds)")]
    [InlineData("""{ "Autoscaler": { "MaxReplicas": "many" } }""", "Autoscaler:MaxReplicas: must be an integer, not the string \"many\"")]
    public void A_bad_configuration_value_is_named_by_its_key(string json, string expected)
    {
        var services = new ServiceCollection();
        services.AddAutoscaler(Section(json));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsBindingException>(() => provider.GetRequiredService<IOptions<AutoscalerOptions>>().Value);

        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_range_broken_in_configuration_fails_validation_with_the_rule()
    {
        var services = new ServiceCollection();
        services.AddAutoscaler(Section("""{ "Autoscaler": { "Interval": 0 } }"""));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<AutoscalerOptions>>().Value);

        Assert.Equal(["AutoscalerOptions.interval: must be in [0.001, 86400] (was 0)"], error.Failures);
    }

    [Fact]
    public void A_restarted_autoscaler_scales_down_only_after_the_stabilization_window()
    {
        // The sample's first decision once scaled 6 -> 4 within a second of starting: the policy had no history. The
        // fleet it finds now counts as a recommendation just made.
        var policy = new WarmFloorPolicy(new WarmFloorOptions { MinReplicas = 2 });
        var t0 = Instant.FromUtc(2026, 1, 5, 9, 0);
        ScalingSignal Signal(Duration since) => new(t0 + since, Duration.FromSeconds(15), 6, 0, 0, 15, 30, Duration.FromSeconds(90)) { MaxReplicas = 40 };

        Assert.Equal(6, policy.Decide(Signal(Duration.Zero)).DesiredReplicas);
        Assert.Equal(6, policy.Decide(Signal(Duration.FromSeconds(585))).DesiredReplicas);
        Assert.Equal(2, policy.Decide(Signal(Duration.FromSeconds(615))).DesiredReplicas);
    }

    [Theory]
    [InlineData("1e308")]
    [InlineData("-3")]
    [InlineData("2000000")]
    public async Task An_implausible_metric_fails_the_read_so_the_fleet_is_left_as_it_is(string ready)
    {
        using var http = new HttpClient(new Answer(ready));
        var source = new PrometheusSignalSource(http, Options.Create(new PrometheusSignalOptions { BaseAddress = new Uri("http://prometheus:9090/") }));

        var error = await Assert.ThrowsAsync<PrometheusQueryException>(() => source.ReadAsync(CancellationToken.None).AsTask());

        Assert.Contains("ready replicas, outside the plausible range 0 to 1000000", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Answers every instant query with one sample: <c>ready</c> for the ready-replica query, 1 otherwise.</summary>
    private sealed class Answer(string ready) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var value = Uri.UnescapeDataString(request.RequestUri!.Query).Contains("replicas_available", StringComparison.Ordinal) && !Uri.UnescapeDataString(request.RequestUri.Query).Contains(" - ", StringComparison.Ordinal) ? ready : "1";
            var body = $$$"""{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1767603600,"{{{value}}}"]}]}}""";
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body) });
        }
    }
}
