using System.Globalization;
using System.Text.Json;
using NodaTime;

namespace Autoscale.Integrations.Prometheus;

/// <summary>
/// Turns a Prometheus range query into interval counts (<c>/api/v1/query_range</c>): the query gives the
/// requests of each step (e.g. <c>sum(increase(http_requests_total[1m]))</c> with a 60 s step), one row
/// per step. Missing steps are empty intervals. The query must return exactly one series.
/// </summary>
public static class PrometheusRangeImport
{
    /// <summary>Runs the range query and returns the step starts (ns since the Unix epoch) and counts.</summary>
    /// <exception cref="PrometheusQueryException">Unreachable, an error status, no series, several, or a value that is not a finite count.</exception>
    public static async Task<(long[] TimestampsNanos, long[] Counts)> QueryAsync(HttpClient http, Uri server, string query, Instant from, Instant to, Duration step, CancellationToken cancellationToken)
    {
        var ci = CultureInfo.InvariantCulture;
        var uri = new Uri(server, "api/v1/query_range?query=" + Uri.EscapeDataString(query)
            + "&start=" + (from.ToUnixTimeTicks() / (double)NodaConstants.TicksPerSecond).ToString("R", ci)
            + "&end=" + (to.ToUnixTimeTicks() / (double)NodaConstants.TicksPerSecond).ToString("R", ci)
            + "&step=" + step.TotalSeconds.ToString("R", ci));
        string body;
        try
        {
            body = await http.GetStringAsync(uri, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (e.StatusCode is null)
        {
            throw new PrometheusQueryException(query, $"{server} is unreachable ({e.Message})", e);
        }
        catch (HttpRequestException e)
        {
            throw new PrometheusQueryException(query, $"HTTP {(int)e.StatusCode!} from {server} (is the query valid?)", e);
        }

        using var doc = JsonDocument.Parse(body);
        if (doc.RootElement.GetProperty("status").GetString() != "success")
        {
            throw new PrometheusQueryException(query, "error: " + doc.RootElement.GetProperty("error").GetString());
        }

        var result = doc.RootElement.GetProperty("data").GetProperty("result");
        if (result.GetArrayLength() != 1)
        {
            throw new PrometheusQueryException(query, result.GetArrayLength() == 0 ? "returned no series in the range" : $"returned {result.GetArrayLength()} series; aggregate it to one (e.g. sum(...))");
        }

        var values = result[0].GetProperty("values");
        var stamps = new long[values.GetArrayLength()];
        var counts = new long[stamps.Length];
        var i = 0;
        foreach (var pair in values.EnumerateArray())
        {
            stamps[i] = (long)Math.Round(pair[0].GetDouble() * 1e9);
            var text = pair[1].GetString();
            if (!double.TryParse(text, NumberStyles.Float, ci, out var value) || !double.IsFinite(value) || value < 0)
            {
                throw new PrometheusQueryException(query, $"returned \"{text}\" at {Instant.FromUnixTimeTicks(stamps[i] / 100)}, not a count >= 0");
            }

            counts[i++] = (long)Math.Round(value);
        }

        return (stamps, counts);
    }
}
