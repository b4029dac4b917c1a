using Autoscale.Traces.Synthesis;
using System.Text.Json;
using Autoscale.Config.Scenarios;

namespace Autoscale.Tests.Cli;

public sealed class TraceInspectTests
{
    [Fact]
    public async Task Inspect_json_gives_the_span_requests_and_rates_of_the_textbook_trace()
    {
        var arrivals = TextbookTraffic.Arrivals();

        var (exit, stdout, _) = await CliRunner.RunAsync("trace", "inspect", TestPaths.TextbookTrace, "--format", "json");

        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal("intervalCounts", root.GetProperty("shape").GetString());
        Assert.Equal(12804, root.GetProperty("requests").GetInt64());
        Assert.Equal("2026-01-05T00:00:00Z", root.GetProperty("start").GetString());
        Assert.Equal("2026-01-05T00:02:00Z", root.GetProperty("end").GetString());
        Assert.Equal(12804 / 120.0, root.GetProperty("meanRps").GetDouble(), 6);
        Assert.Equal(arrivals.Max(), root.GetProperty("peakRps").GetDouble());
        Assert.Equal(Math.Max(arrivals[..60].Sum(), arrivals[60..].Sum()) / 60.0, root.GetProperty("peakRpsPerMinute").GetDouble(), 6);
    }

    [Fact]
    public async Task Inspect_of_a_bad_file_is_one_line_and_exit_2()
    {
        using var dir = new TempFolder();
        var bad = dir.Write("x.parquet", "not parquet");

        var (exit, stdout, stderr) = await CliRunner.RunAsync("trace", "inspect", bad);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith($"error: {bad}: not a Parquet file", stderr);
    }
}
