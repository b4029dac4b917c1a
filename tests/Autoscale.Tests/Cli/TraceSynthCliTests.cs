using System.Text.Json;

namespace Autoscale.Tests.Cli;

public sealed class TraceSynthCliTests
{
    [Fact]
    public async Task Synth_writes_a_trace_that_inspect_reads()
    {
        using var dir = new TempFolder();
        var path = dir.File("s.parquet");

        var synth = await CliRunner.RunAsync("trace", "synth", "--out", path, "--duration", "2h", "--mean-rps", "30",
            "--daily-amplitude", "0.2", "--spike", "at=+30m,width=5m,height=+100", "--seed", "4");
        var inspect = await CliRunner.RunAsync("trace", "inspect", path, "--format", "json");

        Assert.Equal((0, 0), (synth.Exit, inspect.Exit));
        using var json = JsonDocument.Parse(inspect.Out);
        Assert.Equal("2026-01-05T00:00:00Z", json.RootElement.GetProperty("start").GetString());
        Assert.Equal("2026-01-05T02:00:00Z", json.RootElement.GetProperty("end").GetString());
        Assert.InRange(json.RootElement.GetProperty("peakRps").GetDouble(), 100, 200);
    }

    [Fact]
    public async Task Mean_rps_is_the_mean_of_the_week_whatever_the_weekend_factor()
    {
        using var dir = new TempFolder();
        var path = dir.File("week.parquet");

        var synth = await CliRunner.RunAsync("trace", "synth", "--out", path, "--duration", "7d", "--interval", "1m", "--mean-rps", "120",
            "--weekend-factor", "0.6", "--daily-amplitude", "0.3", "--noise", "none");
        var inspect = await CliRunner.RunAsync("trace", "inspect", path, "--format", "json");

        Assert.Equal((0, 0), (synth.Exit, inspect.Exit));
        using var json = JsonDocument.Parse(inspect.Out);
        Assert.Equal(120, json.RootElement.GetProperty("meanRps").GetDouble(), 0.01);
    }

    [Fact]
    public async Task Synth_from_a_trace_with_tokens_keeps_them_and_inspect_names_its_units()
    {
        using var dir = new TempFolder();
        var path = dir.File("doubled.parquet");

        var synth = await CliRunner.RunAsync("trace", "synth", "--from", Path.Combine(TestPaths.Traces, "azure-llm-conv-2023.parquet"), "--scale", "2", "--repeat", "2", "--out", path);
        var inspect = await CliRunner.RunAsync("trace", "inspect", path, "--format", "json");

        Assert.Equal((0, 0), (synth.Exit, inspect.Exit));
        using var json = JsonDocument.Parse(inspect.Out);
        var root = json.RootElement;
        Assert.Equal(2 * 2 * 19_366, root.GetProperty("requests").GetInt64());
        Assert.Equal(2 * 2 * 22_361_870, root.GetProperty("inputTokens").GetInt64());
        Assert.Equal(2 * 2 * 4_088_665, root.GetProperty("outputTokens").GetInt64());
        Assert.Equal(root.GetProperty("peakRps").GetDouble(), root.GetProperty("peakRpsOver1s").GetDouble());
        Assert.Equal(root.GetProperty("peakRpsPerMinute").GetDouble(), root.GetProperty("peakRpsOver1Min").GetDouble());
    }

    [Fact]
    public async Task Synth_transforms_an_existing_trace()
    {
        using var dir = new TempFolder();
        var path = dir.File("t.parquet");

        var (exit, _, stderr) = await CliRunner.RunAsync("trace", "synth", "--from", TestPaths.TextbookTrace, "--scale", "2", "--repeat", "3", "--shift", "1d", "--out", path);

        Assert.Equal(0, exit);
        Assert.Contains("360 intervals, 76824 requests", stderr);
    }

    [Theory]
    [InlineData("--duration", "soon", "error: --duration: \"soon\" is not a duration such as 90s, 15m, 6h, 14d or 2w")]
    [InlineData("--daily-amplitude", "1.5", "error: --daily-amplitude (1.5) must be between 0 and 1")]
    [InlineData("--mean-rps", "-3", "error: --mean-rps (-3) must be between 0 and 1e9")]
    [InlineData("--spike", "at=+1h,width=2m", "error: --spike: \"at=+1h,width=2m\" needs at=, width= and height= (e.g. at=+9h,width=2m,height=3x)")]
    [InlineData("--spike", "at=+1h,width=2m,height=big", "error: --spike height: \"big\" must be a multiplier such as 3x or an added rate such as +200")]
    [InlineData("--noise", "loud", "error: --noise: \"loud\" must be poisson, none or dispersion=D (D > 1)")]
    [InlineData("--time-zone", "Mars/Olympus", "error: --time-zone: \"Mars/Olympus\" is not an IANA time zone (e.g. Europe/Berlin)")]
    public async Task Bad_synth_options_are_one_line_and_exit_2(string option, string value, string expected)
    {
        using var dir = new TempFolder();

        var (exit, _, stderr) = await CliRunner.RunAsync("trace", "synth", "--out", dir.File("x.parquet"), option, value);

        Assert.Equal(2, exit);
        Assert.Equal(expected + "\n", stderr);
        Assert.Empty(dir.Files());
    }
}
