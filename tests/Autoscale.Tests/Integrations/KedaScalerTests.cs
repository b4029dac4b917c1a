using Autoscale.Hosting;
using Autoscale.Keda;
using Autoscale.Keda.Protocol;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Autoscale.Tests.Integrations;

/// <summary>The KEDA external scaler served by Kestrel on loopback, called by a real gRPC client.</summary>
public sealed class KedaScalerTests : IAsyncLifetime
{
    private readonly FakeAutoscaler _autoscaler = new();
    private WebApplication? _app;
    private GrpcChannel? _channel;
    private int _port;

    private ExternalScaler.ExternalScalerClient Client => new(_channel!);

    private static ScaledObjectRef Ref(string name = "llm", string ns = "serving") => new() { Name = name, Namespace = ns };

    public async Task InitializeAsync()
    {
        var port = PrometheusServer.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton<IAutoscaler>(_autoscaler);
        builder.Services.Configure<KedaScalerOptions>(o => { o.Namespace = "serving"; o.ScaledObject = "llm"; o.StreamInterval = NodaTime.Duration.FromMilliseconds(50); });
        _app = builder.Build();
        _app.MapKedaScaler();
        await _app.StartAsync();
        _channel = GrpcChannel.ForAddress($"http://localhost:{port}");
        _port = port;
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("IsActive", new byte[] { 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF })]
    [InlineData("GetMetrics", new byte[] { 0, 0, 0, 0, 2, 0x0A, 0x7F })]
    [InlineData("GetMetricSpec", new byte[] { 0, 0, 0 })]
    [InlineData("IsActive", new byte[] { 1, 0, 0, 0, 1, 0x08 })]
    [InlineData("GetMetrics", new byte[] { 0, 0, 0, 0, 9, 0x0A })]
    public async Task A_malformed_request_is_invalid_argument(string method, byte[] body)
    {
        _autoscaler.LastDesired = 3;
        using var http = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://localhost:{_port}/externalscaler.ExternalScaler/{method}")
        {
            Content = new ByteArrayContent(body),
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.ParseAdd("trailers");

        using var response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();

        var status = response.Headers.TryGetValues("grpc-status", out var values) ? values.Single()
            : response.TrailingHeaders.TryGetValues("grpc-status", out var trailing) ? trailing.Single() : "none";
        Assert.Equal("3", status);
    }

    [Fact]
    public async Task The_metric_spec_asks_for_one_per_replica_and_the_metric_is_the_desired_count()
    {
        _autoscaler.LastDesired = 7;

        var spec = await Client.GetMetricSpecAsync(Ref());
        var metrics = await Client.GetMetricsAsync(new GetMetricsRequest { ScaledObjectRef = Ref(), MetricName = "autoscale-desired-replicas" });

        Assert.Equal(("autoscale-desired-replicas", 1L, 1.0), (spec.MetricSpecs[0].MetricName, spec.MetricSpecs[0].TargetSize, spec.MetricSpecs[0].TargetSizeFloat));
        Assert.Equal((7L, 7.0), (metrics.MetricValues[0].MetricValue_, metrics.MetricValues[0].MetricValueFloat));
        // The HPA computes ceil(value / target): exactly the policy's count.
        Assert.Equal(7, (int)Math.Ceiling(metrics.MetricValues[0].MetricValueFloat / spec.MetricSpecs[0].TargetSizeFloat));
    }

    [Fact]
    public async Task Is_active_follows_the_decision_and_streams()
    {
        _autoscaler.LastDesired = 0;
        Assert.False((await Client.IsActiveAsync(Ref())).Result);
        _autoscaler.LastDesired = 2;
        Assert.True((await Client.IsActiveAsync(Ref())).Result);

        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var stream = Client.StreamIsActive(Ref(), cancellationToken: cancel.Token);
        Assert.True(await stream.ResponseStream.MoveNext(cancel.Token));
        Assert.True(stream.ResponseStream.Current.Result);
        _autoscaler.LastDesired = 0;
        var sawInactive = false;
        while (!sawInactive && await stream.ResponseStream.MoveNext(cancel.Token))
        {
            sawInactive = !stream.ResponseStream.Current.Result;
        }

        Assert.True(sawInactive);
    }

    [Fact]
    public async Task An_unknown_scaled_object_is_not_found()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Client.IsActiveAsync(Ref("other")));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("unknown scaled object serving/other (this scaler serves serving/llm)", error.Status.Detail);
    }

    [Fact]
    public async Task Before_any_decision_the_scaler_is_unavailable_and_the_fleet_stays()
    {
        _autoscaler.LastDesired = null;

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Client.GetMetricsAsync(new GetMetricsRequest { ScaledObjectRef = Ref(), MetricName = "autoscale-desired-replicas" }));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    [Fact]
    public async Task An_unknown_metric_is_not_found()
    {
        _autoscaler.LastDesired = 3;

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Client.GetMetricsAsync(new GetMetricsRequest { ScaledObjectRef = Ref(), MetricName = "cpu" }));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public void The_protocol_matches_the_keda_v2_external_scaler_definition()
    {
        // Pinned from KEDA v2's pkg/scalers/externalscaler/externalscaler.proto (kedacore/keda at 125494be): package, service, methods, field numbers.
        var file = ExternalscalerReflection.Descriptor;
        Assert.Equal("externalscaler", file.Package);
        var service = Assert.Single(file.Services);
        Assert.Equal("ExternalScaler", service.Name);
        Assert.Equal(
            ["IsActive:ScaledObjectRef>IsActiveResponse", "StreamIsActive:ScaledObjectRef>IsActiveResponse(stream)", "GetMetricSpec:ScaledObjectRef>GetMetricSpecResponse", "GetMetrics:GetMetricsRequest>GetMetricsResponse"],
            service.Methods.Select(m => $"{m.Name}:{m.InputType.Name}>{m.OutputType.Name}{(m.IsServerStreaming ? "(stream)" : "")}"));
        string Fields(string message) => string.Join(",", file.MessageTypes.Single(m => m.Name == message).Fields.InFieldNumberOrder().Select(f => $"{f.Name}={f.FieldNumber}"));
        Assert.Equal("name=1,namespace=2,scalerMetadata=3", Fields("ScaledObjectRef"));
        Assert.Equal("result=1", Fields("IsActiveResponse"));
        Assert.Equal("metricSpecs=1", Fields("GetMetricSpecResponse"));
        Assert.Equal("metricName=1,targetSize=2,targetSizeFloat=3", Fields("MetricSpec"));
        Assert.Equal("scaledObjectRef=1,metricName=2", Fields("GetMetricsRequest"));
        Assert.Equal("metricValues=1", Fields("GetMetricsResponse"));
        Assert.Equal("metricName=1,metricValue=2,metricValueFloat=3", Fields("MetricValue"));
    }

    private sealed class FakeAutoscaler : IAutoscaler
    {
        public int? LastDesired { get; set; }

        public IReadOnlyList<LoopIteration> History => [];

        public Task<LoopIteration> RunOnceAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException("not used by the scaler");
    }
}
