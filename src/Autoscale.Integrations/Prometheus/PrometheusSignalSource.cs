using System.Globalization;
using System.Text.Json;
using Autoscale.Hosting;
using Microsoft.Extensions.Options;
using NodaTime;

namespace Autoscale.Integrations.Prometheus;

/// <summary>A PromQL query that failed, returned nothing, several series, or a value that is not a number.</summary>
public sealed class PrometheusQueryException(string query, string problem, Exception? inner = null)
    : Exception($"Prometheus query {query}: {problem}", inner)
{
    /// <summary>The query.</summary>
    public string Query { get; } = query;
}

/// <summary>
/// Reads the policy's signal from Prometheus's HTTP API (<c>/api/v1/query</c>), one instant query per
/// observation. Any failure (unreachable, timeout, an error status, no series, several series, NaN)
/// throws, so the autoscaler leaves the fleet as it is; the oldest sample's time is the observation's
/// time, so stale metrics are recognised as stale.
/// </summary>
/// <remarks>Thread-safe if the <see cref="HttpClient"/> is.</remarks>
public sealed class PrometheusSignalSource : IScalingSignalSource
{
    private readonly HttpClient _http;
    private readonly PrometheusSignalOptions _options;

    /// <summary>Creates the source on <paramref name="http"/> (its base address is taken from the options).</summary>
    public PrometheusSignalSource(HttpClient http, IOptions<PrometheusSignalOptions> options)
    {
        _options = options.Value;
        OptionRules.ThrowIfInvalid(_options);
        _http = http;
    }

    /// <inheritdoc />
    public async ValueTask<FleetObservation?> ReadAsync(CancellationToken cancellationToken)
    {
        var ready = Plausible(await QueryAsync(_options.ReadyReplicasQuery, cancellationToken).ConfigureAwait(false), _options.ReadyReplicasQuery, "ready replicas", MaxReplicas);
        var loading = Plausible(await QueryAsync(_options.LoadingReplicasQuery, cancellationToken).ConfigureAwait(false), _options.LoadingReplicasQuery, "loading replicas", MaxReplicas, allowNegative: true);
        var queue = Plausible(await QueryAsync(_options.QueueDepthQuery, cancellationToken).ConfigureAwait(false), _options.QueueDepthQuery, "requests waiting", MaxRequests);
        var arrivals = Plausible(await QueryAsync(_options.ArrivalsQuery, cancellationToken).ConfigureAwait(false), _options.ArrivalsQuery, "arrivals", MaxRequests, allowNegative: true);
        var served = _options.ServedQuery is { } q
            ? Plausible(await QueryAsync(q, cancellationToken).ConfigureAwait(false), q, "served requests", MaxRequests, allowNegative: true)
            : (Value: 0, At: arrivals.At);
        var oldest = new[] { ready.At, loading.At, queue.At, arrivals.At, served.At }.Min();

        // increase() over a counter reset and a difference of two series may dip below zero for a scrape: that is zero.
        var observation = new FleetObservation(oldest, (int)Math.Round(ready.Value), (int)Math.Round(Math.Max(0, loading.Value)), (long)Math.Round(queue.Value),
            (long)Math.Round(Math.Max(0, arrivals.Value)), (long)Math.Round(Math.Max(0, served.Value)));
        if (!_options.ReadServingSignals)
        {
            return observation;
        }

        var running = Plausible(await QueryAsync(_options.RunningQuery, cancellationToken).ConfigureAwait(false), _options.RunningQuery, "running requests", MaxRequests);
        var kv = Plausible(await QueryAsync(_options.KvCacheUtilizationQuery, cancellationToken).ConfigureAwait(false), _options.KvCacheUtilizationQuery, "KV cache use (a fraction)", 1);
        var p50 = await QuantileAsync(_options.TtftP50Query, cancellationToken).ConfigureAwait(false);
        var p95 = await QuantileAsync(_options.TtftP95Query, cancellationToken).ConfigureAwait(false);
        var hits = await HitRateAsync(_options.PrefixCacheHitRateQuery, cancellationToken).ConfigureAwait(false);
        return observation with
        {
            PrefixCacheHitRate = hits,
            ObservedAt = new[] { oldest, running.At, kv.At }.Min(),
            RunningRequests = (long)Math.Round(running.Value),
            KvCacheUtilization = kv.Value,
            TtftP50LastInterval = p50,
            TtftP95LastInterval = p95,
        };
    }

    /// <summary>A hit rate from 0 to 1; 0 when nothing was looked up (0 / 0 is NaN, or there is no series yet).</summary>
    private async Task<double> HitRateAsync(string query, CancellationToken cancellationToken)
    {
        var (value, _) = await QueryAsync(query, cancellationToken, allowNaN: true).ConfigureAwait(false);
        if (double.IsNaN(value))
        {
            return 0;
        }

        return value is >= 0 and <= 1
            ? value
            : throw new PrometheusQueryException(query, $"returned {value.ToString("R", CultureInfo.InvariantCulture)}, outside the plausible range of a hit rate, 0 to 1");
    }

    /// <summary>A latency quantile in seconds; null when no first token came (the histogram's rate is empty: NaN, or no series).</summary>
    private async Task<Duration?> QuantileAsync(string query, CancellationToken cancellationToken)
    {
        var (value, _) = await QueryAsync(query, cancellationToken, allowNaN: true).ConfigureAwait(false);
        if (double.IsNaN(value))
        {
            return null;
        }

        if (value < 0 || value > 86_400 || double.IsInfinity(value))
        {
            throw new PrometheusQueryException(query, $"returned {value.ToString("R", CultureInfo.InvariantCulture)} s, outside the plausible range 0 to 86400 s");
        }

        return OptionDuration.FromSeconds(value);
    }

    /// <summary>The most replicas a reading may show before it is taken for a broken metric.</summary>
    public const double MaxReplicas = 1_000_000;

    /// <summary>The most requests a reading may show before it is taken for a broken metric.</summary>
    public const double MaxRequests = 1e12;

    /// <summary>
    /// A reading outside what a fleet can show (1e308 ready replicas, a negative queue) is a broken metric, not a
    /// fleet: it fails the read, so the loop leaves the fleet as it is.
    /// </summary>
    private static (double Value, Instant At) Plausible((double Value, Instant At) reading, string query, string what, double max, bool allowNegative = false)
    {
        var low = allowNegative ? -max : 0;
        if (reading.Value < low || reading.Value > max)
        {
            throw new PrometheusQueryException(query, $"returned {reading.Value.ToString("R", CultureInfo.InvariantCulture)} {what}, outside the plausible range {low.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
        }

        return reading;
    }

    /// <summary>Runs one instant query and returns its single value and sample time.</summary>
    public Task<(double Value, Instant At)> QueryAsync(string query, CancellationToken cancellationToken) => QueryAsync(query, cancellationToken, allowNaN: false);

    private async Task<(double Value, Instant At)> QueryAsync(string query, CancellationToken cancellationToken, bool allowNaN)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout.ToTimeSpan());
        var uri = new Uri(_options.BaseAddress!, "api/v1/query?query=" + Uri.EscapeDataString(query));
        string body;
        try
        {
            using var response = await _http.GetAsync(uri, timeout.Token).ConfigureAwait(false);
            body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode && !body.Contains("\"status\"", StringComparison.Ordinal))
            {
                throw new PrometheusQueryException(query, $"HTTP {(int)response.StatusCode} from {_options.BaseAddress}");
            }
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PrometheusQueryException(query, $"no answer from {_options.BaseAddress} within {_options.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s", e);
        }
        catch (HttpRequestException e)
        {
            throw new PrometheusQueryException(query, $"{_options.BaseAddress} is unreachable ({e.Message})", e);
        }

        return Parse(query, body, allowNaN);
    }

    /// <summary>Parses an instant-query answer holding exactly one numeric sample.</summary>
    public static (double Value, Instant At) Parse(string query, string body) => Parse(query, body, allowNaN: false);

    /// <summary>As <see cref="Parse(string, string)"/>; with <paramref name="allowNaN"/>, NaN (a quantile of an empty histogram) or no series reads as NaN.</summary>
    private static (double Value, Instant At) Parse(string query, string body, bool allowNaN)
    {
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        if (root.GetProperty("status").GetString() != "success")
        {
            var error = root.TryGetProperty("error", out var e) ? e.GetString() : "unknown error";
            throw new PrometheusQueryException(query, $"error: {error}");
        }

        var data = root.GetProperty("data");
        var type = data.GetProperty("resultType").GetString();
        JsonElement sample;
        if (type == "scalar")
        {
            sample = data.GetProperty("result");
        }
        else if (type == "vector")
        {
            var result = data.GetProperty("result");
            if (result.GetArrayLength() == 0)
            {
                if (allowNaN)
                {
                    return (double.NaN, SystemClock.Instance.GetCurrentInstant());
                }

                throw new PrometheusQueryException(query, "returned no series");
            }

            if (result.GetArrayLength() > 1)
            {
                throw new PrometheusQueryException(query, $"returned {result.GetArrayLength()} series; aggregate it to one (e.g. sum(...))");
            }

            sample = result[0].GetProperty("value");
        }
        else
        {
            throw new PrometheusQueryException(query, $"returned a {type}, not an instant vector or scalar");
        }

        var at = Instant.FromUnixTimeTicks((long)Math.Round(sample[0].GetDouble() * NodaConstants.TicksPerSecond));
        var text = sample[1].GetString();
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || (!double.IsFinite(value) && !(allowNaN && double.IsNaN(value))))
        {
            throw new PrometheusQueryException(query, $"returned \"{text}\", not a finite number");
        }

        return (value, at);
    }

}
