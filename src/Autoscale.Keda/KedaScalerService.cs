using Autoscale.Hosting;
using Autoscale.Keda.Protocol;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Autoscale.Keda;

/// <summary>Which ScaledObject the scaler answers for, and the metric it reports.</summary>
public sealed class KedaScalerOptions : IValidatableOptions
{
    /// <summary>The ScaledObject's namespace.</summary>
    [Option(Required = true)]
    public string Namespace { get; set; } = "default";

    /// <summary>The ScaledObject's name.</summary>
    [Option(Required = true)]
    public string ScaledObject { get; set; } = "";

    /// <summary>The metric name KEDA shows in the HPA.</summary>
    [Option(Required = true)]
    public string MetricName { get; set; } = "autoscale-desired-replicas";

    /// <summary>How often StreamIsActive reports.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 86_400)]
    public NodaTime.Duration StreamInterval { get; set; } = NodaTime.Duration.FromSeconds(15);

    /// <summary>The port the scaler's gRPC endpoint listens on (HTTP/2 cleartext), as a ScaledObject's scalerAddress names it; 0 takes any free port.</summary>
    [Option(Min = 0, Max = 65_535)]
    public int Port { get; set; } = 6000;

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>
/// A KEDA external scaler answering with the policy's desired replica count. GetMetricSpec asks for a
/// target of 1 per replica and GetMetrics reports the desired count, so the HPA's
/// <c>ceil(value / target)</c> is exactly the policy's decision. The autoscaler loop runs in dry run
/// beside it (KEDA applies, the loop decides). Until the loop has decided, or for an unknown
/// ScaledObject, the scaler answers with an error status, and KEDA leaves the deployment as it is.
/// </summary>
internal sealed class KedaScalerService(IAutoscaler autoscaler, IOptions<KedaScalerOptions> options) : ExternalScaler.ExternalScalerBase
{
    private readonly KedaScalerOptions _options = options.Value;

    /// <inheritdoc />
    public override Task<IsActiveResponse> IsActive(ScaledObjectRef request, ServerCallContext context)
    {
        Check(request);
        return Task.FromResult(new IsActiveResponse { Result = Desired() > 0 });
    }

    /// <inheritdoc />
    public override async Task StreamIsActive(ScaledObjectRef request, IServerStreamWriter<IsActiveResponse> responseStream, ServerCallContext context)
    {
        Check(request);
        while (!context.CancellationToken.IsCancellationRequested)
        {
            if (autoscaler.LastDesired is { } desired)
            {
                await responseStream.WriteAsync(new IsActiveResponse { Result = desired > 0 }, context.CancellationToken).ConfigureAwait(false);
            }

            try
            {
                await Task.Delay(_options.StreamInterval.ToTimeSpan(), context.CancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <inheritdoc />
    public override Task<GetMetricSpecResponse> GetMetricSpec(ScaledObjectRef request, ServerCallContext context)
    {
        Check(request);
        var response = new GetMetricSpecResponse();
        response.MetricSpecs.Add(new MetricSpec { MetricName = _options.MetricName, TargetSize = 1, TargetSizeFloat = 1 });
        return Task.FromResult(response);
    }

    /// <inheritdoc />
    public override Task<GetMetricsResponse> GetMetrics(GetMetricsRequest request, ServerCallContext context)
    {
        Check(request.ScaledObjectRef);
        if (request.MetricName != _options.MetricName)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"unknown metric \"{request.MetricName}\" (this scaler reports \"{_options.MetricName}\")"));
        }

        var desired = Desired();
        var response = new GetMetricsResponse();
        response.MetricValues.Add(new MetricValue { MetricName = _options.MetricName, MetricValue_ = desired, MetricValueFloat = desired });
        return Task.FromResult(response);
    }

    private int Desired() => autoscaler.LastDesired
        ?? throw new RpcException(new Status(StatusCode.Unavailable, "the autoscaler has not decided yet (no signal): the deployment is left as it is"));

    private void Check(ScaledObjectRef? request)
    {
        if (request is null || request.Name != _options.ScaledObject || request.Namespace != _options.Namespace)
        {
            throw new RpcException(new Status(StatusCode.NotFound,
                $"unknown scaled object {request?.Namespace}/{request?.Name} (this scaler serves {_options.Namespace}/{_options.ScaledObject})"));
        }
    }
}
