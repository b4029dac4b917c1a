using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Autoscale.Tests.Integrations;

/// <summary>
/// A fact that needs a Prometheus server binary. Without one it skips with how to install it, unless
/// AUTOSCALE_REQUIRE_PROMETHEUS=1 (as .ci/run sets after installing it), when it runs and fails.
/// </summary>
public sealed class PrometheusFactAttribute : FactAttribute
{
    public PrometheusFactAttribute()
    {
        if (PrometheusServer.Binary is null && Environment.GetEnvironmentVariable("AUTOSCALE_REQUIRE_PROMETHEUS") != "1")
        {
            Skip = "Prometheus is not installed: apt-get install prometheus (or set PROMETHEUS_BIN), or run .ci/run";
        }
    }
}

/// <summary>
/// A real Prometheus server on 127.0.0.1, scraping every second a small exporter the test runs
/// (ready 3, loading 1, queue 42, two queue series, a request counter growing 30 per second).
/// Started once per test class and stopped with it.
/// </summary>
public sealed class PrometheusServer : IAsyncLifetime
{
    private readonly HttpListener _exporter = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private Process? _prometheus;
    private string _data = "";
    private Thread? _serving;

    public static string? Binary =>
        Environment.GetEnvironmentVariable("PROMETHEUS_BIN") is { Length: > 0 } bin && File.Exists(bin) ? bin
        : new[] { "/usr/bin/prometheus", "/usr/local/bin/prometheus" }.FirstOrDefault(File.Exists);

    public Uri Address { get; private set; } = new("http://127.0.0.1:1/");

    public async Task InitializeAsync()
    {
        var binary = Binary ?? throw new InvalidOperationException("AUTOSCALE_REQUIRE_PROMETHEUS=1 but no prometheus binary: apt-get install prometheus");
        var exporterPort = FreePort();
        _exporter.Prefixes.Add($"http://127.0.0.1:{exporterPort}/");
        _exporter.Start();
        // A thread of its own, not the thread pool's: while the suite starts, the pool is busy with other tests and the
        // exporter would miss Prometheus's scrapes.
        _serving = new Thread(Serve) { IsBackground = true, Name = "test exporter" };
        _serving.Start();

        _data = Path.Combine(Path.GetTempPath(), "autoscale-prometheus-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_data);
        var config = Path.Combine(_data, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: exporter
                static_configs:
                  - targets: ["127.0.0.1:{exporterPort}"]
            """);
        var port = FreePort();
        Address = new Uri($"http://127.0.0.1:{port}/");
        var start = new ProcessStartInfo(binary, [$"--config.file={config}", $"--storage.tsdb.path={Path.Combine(_data, "tsdb")}", $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _prometheus = Process.Start(start)!;
        _prometheus.OutputDataReceived += (_, _) => { };
        _prometheus.ErrorDataReceived += (_, _) => { };
        _prometheus.BeginOutputReadLine();
        _prometheus.BeginErrorReadLine();

        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var body = await http.GetStringAsync(new Uri(Address, "api/v1/query?query=" + Uri.EscapeDataString("increase(llm_requests_total[5s])")));
                if (body.Contains("\"value\"", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"Prometheus did not scrape the exporter within 120 s{(_prometheus.HasExited ? $" (it exited with {_prometheus.ExitCode})" : "")}");
    }

    public async Task DisposeAsync()
    {
        if (_prometheus is { HasExited: false })
        {
            _prometheus.Kill(entireProcessTree: true);
            await _prometheus.WaitForExitAsync();
        }

        _prometheus?.Dispose();
        _exporter.Stop();
        _exporter.Close();
        _serving?.Join(1000);

        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Serve()
    {
        while (_exporter.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = _exporter.GetContext();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var requests = (long)(_clock.Elapsed.TotalSeconds * 30);
            var seconds = (long)_clock.Elapsed.TotalSeconds;
            var text = $"""
                # TYPE llm_ready gauge
                llm_ready 3
                # TYPE llm_loading gauge
                llm_loading 1
                # TYPE llm_queue gauge
                llm_queue 42
                # TYPE llm_queue_split gauge
                llm_queue_split{"{"}pod="a"{"}"} 1
                llm_queue_split{"{"}pod="b"{"}"} 2
                # TYPE llm_requests_total counter
                llm_requests_total {requests}
                # vLLM's own names: two servers, the older KV cache gauge, a TTFT histogram (half the first tokens within
                # 0.1 s, 90 % within 0.5 s, 99 % within 1 s).
                # TYPE vllm:num_requests_running gauge
                vllm:num_requests_running{"{"}pod="a"{"}"} 4
                vllm:num_requests_running{"{"}pod="b"{"}"} 3
                # TYPE vllm:gpu_cache_usage_perc gauge
                vllm:gpu_cache_usage_perc{"{"}pod="a"{"}"} 0.3
                vllm:gpu_cache_usage_perc{"{"}pod="b"{"}"} 0.4
                # TYPE vllm:time_to_first_token_seconds histogram
                vllm:time_to_first_token_seconds_bucket{"{"}le="0.1"{"}"} {seconds * 50}
                vllm:time_to_first_token_seconds_bucket{"{"}le="0.5"{"}"} {seconds * 90}
                vllm:time_to_first_token_seconds_bucket{"{"}le="1"{"}"} {seconds * 99}
                vllm:time_to_first_token_seconds_bucket{"{"}le="+Inf"{"}"} {seconds * 100}
                vllm:time_to_first_token_seconds_count {seconds * 100}
                # Prefix cache: 1,000 prompt tokens looked up a second, 600 of them found.
                # TYPE vllm:prefix_cache_queries_total counter
                vllm:prefix_cache_queries_total {seconds * 1000}
                # TYPE vllm:prefix_cache_hits_total counter
                vllm:prefix_cache_hits_total {seconds * 600}

                """;
            var bytes = Encoding.UTF8.GetBytes(text);
            context.Response.ContentType = "text/plain; version=0.0.4";
            context.Response.OutputStream.Write(bytes);
            context.Response.Close();
        }
    }
}
