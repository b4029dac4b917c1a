using System.Buffers.Binary;
using Autoscale.Keda.Protocol;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace Autoscale.Keda;

/// <summary>
/// Answers a request to the external scaler whose message is not a message of its method (bad framing, bytes that
/// are not protobuf, a compressed frame nobody negotiated) with INVALID_ARGUMENT, as gRPC asks, before the service
/// sees it. Left alone, the framework would answer UNKNOWN, which reads as a fault of the scaler.
/// </summary>
internal static class MalformedRequests
{
    private const string Prefix = "/externalscaler.ExternalScaler/";

    public static async Task Check(HttpContext context, Func<Task> next)
    {
        var path = context.Request.Path.Value ?? "";
        if (!path.StartsWith(Prefix, StringComparison.Ordinal))
        {
            await next().ConfigureAwait(false);
            return;
        }

        var parser = path[Prefix.Length..] switch
        {
            "IsActive" or "StreamIsActive" or "GetMetricSpec" => ScaledObjectRef.Parser,
            "GetMetrics" => (MessageParser)GetMetricsRequest.Parser,
            _ => null,
        };
        if (parser is null)
        {
            await next().ConfigureAwait(false);
            return;
        }

        context.Request.EnableBuffering();
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted).ConfigureAwait(false);
        if (Problem(body.GetBuffer().AsMemory(0, (int)body.Length), parser) is { } problem)
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "3";
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString(problem);
            return;
        }

        context.Request.Body.Position = 0;
        await next().ConfigureAwait(false);
    }

    /// <summary>Why the body is not one length-prefixed, uncompressed message the parser reads; null when it is.</summary>
    private static string? Problem(ReadOnlyMemory<byte> body, MessageParser parser)
    {
        var span = body.Span;
        if (span.Length < 5)
        {
            return "the request is not a gRPC message (fewer than the 5 bytes of its frame header)";
        }

        if (span[0] != 0)
        {
            return "the request's message is compressed, and no compression was negotiated";
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(span[1..5]);
        if (length != span.Length - 5)
        {
            return $"the request's frame says {length} bytes, but {span.Length - 5} follow";
        }

        try
        {
            parser.ParseFrom(body.Span[5..]);
            return null;
        }
        catch (InvalidProtocolBufferException e)
        {
            return $"the request's message cannot be read ({e.Message.TrimEnd('.')})";
        }
    }
}
