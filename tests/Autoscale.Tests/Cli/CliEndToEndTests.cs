using System.Text.Json;

namespace Autoscale.Tests.Cli;

public sealed class CliEndToEndTests
{
    [Fact]
    public async Task Textbook_prints_output_23_6_1()
    {
        var (exit, stdout, stderr) = await CliRunner.RunAsync("textbook");

        Assert.Equal(0, exit);
        Assert.Equal("", stderr);
        Assert.Equal(
            "strategy                           requests  SLO_viol  viol_%  replicas_end\n" +
            "cold-start autoscaling (0 spare)      12804      6022   47.0%           124\n" +
            "warm pool (6 spare replicas)          12875         0    0.0%             8\n",
            stdout);
    }

    [Fact]
    public async Task Backtest_json_ranks_the_warm_pool_first_with_the_textbook_numbers()
    {
        using var dir = new TempFolder();
        var config = dir.Write("c.json", CliRunner.TextbookConfig);

        var (exit, stdout, _) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--format", "json");

        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(stdout);
        var candidates = json.RootElement.GetProperty("candidates").EnumerateArray().ToList();
        Assert.Equal(2, candidates.Count);
        var warm = candidates[0];
        var cold = candidates[1];
        Assert.Equal("warm pool 6", warm.GetProperty("name").GetString());
        Assert.Equal(1, warm.GetProperty("rank").GetInt32());
        Assert.Equal((12804, 0, 8, true), (warm.GetProperty("requests").GetInt64(), warm.GetProperty("late").GetInt64(), warm.GetProperty("endReplicas").GetInt32(), warm.GetProperty("meetsSlo").GetBoolean()));
        Assert.Equal((12804, 6022, 124, false), (cold.GetProperty("requests").GetInt64(), cold.GetProperty("late").GetInt64(), cold.GetProperty("endReplicas").GetInt32(), cold.GetProperty("meetsSlo").GetBoolean()));
        Assert.Equal(47.0, Math.Round(cold.GetProperty("violationPercent").GetDouble(), 1));
        foreach (var field in new[] { "name", "rank", "requests", "late", "dropped", "violationPercent", "meetsSlo", "waitP99Seconds", "dollars", "idleDollars", "coldStarts", "peakReplicas", "endReplicas" })
        {
            Assert.True(cold.TryGetProperty(field, out _), $"missing field {field}");
        }

        Assert.Equal(0.8, warm.GetProperty("dollars").GetDouble(), 9);
        Assert.Equal(122, cold.GetProperty("coldStarts").GetInt64());
        Assert.Equal(124, cold.GetProperty("peakReplicas").GetInt32());
    }

    [Fact]
    public async Task Backtest_output_is_byte_stable_and_csv_has_one_row_per_candidate()
    {
        using var dir = new TempFolder();
        var config = dir.Write("c.json", CliRunner.TextbookConfig);

        var first = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--format", "json");
        var second = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--format", "json");
        var csv = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--format", "csv");

        Assert.Equal(first.Out, second.Out);
        var lines = csv.Out.TrimEnd('\n').Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("rank,name,policy,requests,", lines[0]);
        Assert.StartsWith("1,warm pool 6,textbook,12804,", lines[1]);
        Assert.StartsWith("2,cold-start autoscaling,textbook,12804,", lines[2]);
    }

    [Fact]
    public async Task Backtest_table_marks_the_winner_and_out_writes_results()
    {
        using var dir = new TempFolder();
        var config = dir.Write("c.json", CliRunner.TextbookConfig);
        var outDir = Path.Combine(dir.Path, "report");

        var (exit, stdout, _) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--out", outDir);

        Assert.Equal(0, exit);
        Assert.Contains("warm pool 6 (winner)", stdout);
        Assert.Contains("cold-start autoscaling", stdout);
        Assert.True(File.Exists(Path.Combine(outDir, "results.json")));
        Assert.True(File.Exists(Path.Combine(outDir, "results.csv")));
    }

    [Fact]
    public async Task Trace_import_turns_a_csv_into_a_trace_the_backtest_reads()
    {
        using var dir = new TempFolder();
        var csv = dir.Write("counts.csv", "timestamp,requests\n2026-01-05T00:00:00Z,10\n2026-01-05T00:00:01Z,20\n2026-01-05T00:00:02Z,0\n2026-01-05T00:00:03Z,30\n");
        var epoch = dir.Write("epoch.csv", "timestamp,requests\n1767571200,10\n1767571201,20\n1767571202,0\n1767571203,30\n");
        var config = dir.Write("c.json", CliRunner.TextbookConfig);

        var iso = await CliRunner.RunAsync("trace", "import", csv, "--out", dir.File("a.parquet"));
        var secs = await CliRunner.RunAsync("trace", "import", epoch, "--out", dir.File("b.parquet"));
        var a = await CliRunner.RunAsync("backtest", "--trace", dir.File("a.parquet"), "--config", config, "--format", "csv");
        var b = await CliRunner.RunAsync("backtest", "--trace", dir.File("b.parquet"), "--config", config, "--format", "csv");

        Assert.Equal((0, 0, 0, 0), (iso.Exit, secs.Exit, a.Exit, b.Exit));
        Assert.Contains("4 intervals, 60 requests", iso.Err);
        Assert.Equal(a.Out, b.Out);
        Assert.Contains(",textbook,60,", a.Out);
    }

    [Fact]
    public void The_built_executable_runs_as_a_process()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Autoscale.Cli.dll");
        var (exit, stdout, _) = TestProcess.Run("dotnet", [dll, "textbook"]);

        Assert.Equal(0, exit);
        Assert.Contains("cold-start autoscaling (0 spare)      12804      6022   47.0%           124", stdout);
    }

    [Fact]
    public void A_bad_argument_exits_2_with_one_line_from_the_process()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Autoscale.Cli.dll");
        var (exit, stdout, stderr) = TestProcess.Run("dotnet", [dll, "backtest", "--trace", "missing.parquet", "--config", "missing.json"]);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Equal("error: missing.json: no such file\n", stderr);
    }
}
