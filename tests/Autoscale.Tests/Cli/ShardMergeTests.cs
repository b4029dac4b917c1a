namespace Autoscale.Tests.Cli;

public sealed class ShardMergeTests
{
    [Theory]
    [InlineData("textbook-sweep.json", "textbook-spike", 1)]
    [InlineData("textbook-sweep.json", "textbook-spike", 4)]
    [InlineData("all-policies.json", "azure-llm-conv-2023", 3)]
    [InlineData("all-policies.json", "textbook-spike", 9)]
    public async Task N_shards_merged_equal_one_run_byte_for_byte(string config, string trace, int shards)
    {
        using var dir = new TempFolder();
        var configPath = Path.Combine(TestPaths.Examples, config);
        var tracePath = Path.Combine(TestPaths.Traces, trace + ".parquet");
        for (var k = 0; k < shards; k++)
        {
            var shard = await CliRunner.RunAsync("backtest", "--trace", tracePath, "--config", configPath, "--shard", $"{k}/{shards}", "--out", dir.Path);
            Assert.Equal(0, shard.Exit);
        }

        var merged = await CliRunner.RunAsync("merge", dir.Path, "--format", "json");
        var single = await CliRunner.RunAsync("backtest", "--trace", tracePath, "--config", configPath, "--format", "json");

        Assert.Equal(0, merged.Exit);
        Assert.Equal(single.Out, merged.Out);
    }

    [Fact]
    public async Task Merged_shards_write_the_same_report_folder()
    {
        using var dir = new TempFolder();
        var config = Path.Combine(TestPaths.Examples, "textbook-sweep.json");
        for (var k = 0; k < 2; k++)
        {
            await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--shard", $"{k}/2", "--out", Path.Combine(dir.Path, "parts"));
        }

        await CliRunner.RunAsync("merge", Path.Combine(dir.Path, "parts"), "--out", Path.Combine(dir.Path, "merged"));
        await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--out", Path.Combine(dir.Path, "single"));

        foreach (var file in new[] { "results.json", "results.csv", "report.html" })
        {
            Assert.Equal(File.ReadAllText(Path.Combine(dir.Path, "single", file)), File.ReadAllText(Path.Combine(dir.Path, "merged", file)));
        }
    }

    [Fact]
    public async Task A_missing_shard_is_named()
    {
        using var dir = new TempFolder();
        var config = Path.Combine(TestPaths.Examples, "textbook-sweep.json");
        await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--shard", "0/3", "--out", dir.Path);
        await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--shard", "2/3", "--out", dir.Path);

        var (exit, _, stderr) = await CliRunner.RunAsync("merge", dir.Path);

        Assert.Equal(2, exit);
        Assert.Equal("error: shards missing: 1 of 3\n", stderr);
    }

    [Theory]
    [InlineData("3/3", "error: --shard: \"3/3\" must be K/N with 0 <= K < N (e.g. 0/4; JOB_COMPLETION_INDEX is K)")]
    [InlineData("a/b", "error: --shard: \"a/b\" must be K/N with 0 <= K < N (e.g. 0/4; JOB_COMPLETION_INDEX is K)")]
    public async Task A_bad_shard_is_named(string shard, string expected)
    {
        using var dir = new TempFolder();
        var (exit, _, stderr) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", Path.Combine(TestPaths.Examples, "textbook.json"), "--shard", shard, "--out", dir.Path);

        Assert.Equal(2, exit);
        Assert.Equal(expected + "\n", stderr);
    }
}
