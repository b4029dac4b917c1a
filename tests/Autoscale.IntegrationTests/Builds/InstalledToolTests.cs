namespace Autoscale.Tests.Builds;

/// <summary>Packs the command as a .NET tool once and installs it into a tool folder, as the README shows.</summary>
public sealed class InstalledTool : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "autoscale-tool-" + Guid.NewGuid().ToString("N"));

    public InstalledTool()
    {
        Directory.CreateDirectory(_dir);
        var packages = Path.Combine(_dir, "nupkg");
        var (exit, output, errors) = TestProcess.Run("dotnet",
            ["pack", Path.Combine(TestPaths.Root, "src", "Autoscale.Cli"), "-c", "Release", "-o", packages, "--nologo", "-v", "quiet", "-clp:NoSummary"]);
        Assert.True(exit == 0, $"dotnet pack failed ({exit}):\n{output}\n{errors}");

        // Only the local package folder: the tool carries its dependencies.
        var config = Path.Combine(_dir, "nuget.config");
        File.WriteAllText(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><clear /><add key="local" value="{packages}" /></packageSources></configuration>
            """);
        var tools = Path.Combine(_dir, "tools");
        (exit, output, errors) = TestProcess.Run("dotnet", ["tool", "install", "Autoscale.Cli", "--tool-path", tools, "--configfile", config]);
        Assert.True(exit == 0, $"dotnet tool install failed ({exit}):\n{output}\n{errors}");
        Executable = Path.Combine(tools, "autoscale");
    }

    public string Executable { get; }

    public Task<(int Exit, string Out, string Err)> RunAsync(params string[] args) => TestProcess.RunAsync(Executable, args, TestPaths.Root, TimeSpan.FromMinutes(3));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The installed tool, named <c>autoscale</c>, runs the textbook and users' policies.</summary>
[Collection(BuildCollection.Name)]
[Trait("Category", "Slow")]
public sealed class InstalledToolTests(InstalledTool tool) : IClassFixture<InstalledTool>
{
    [Fact]
    public async Task The_installed_tool_prints_the_textbook_table()
    {
        var (exit, stdout, _) = await tool.RunAsync("textbook");

        Assert.Equal(0, exit);
        Assert.Equal(Autoscale.Config.Scenarios.TextbookScenario.FormatTable(Autoscale.Config.Scenarios.TextbookScenario.Reproduce()), stdout);
    }

    [Fact]
    public async Task The_installed_tool_backtests_and_checks_the_readme_policy_file()
    {
        var backtest = await tool.RunAsync("backtest", "--trace", "traces/azure-llm-conv-2023.parquet", "--config", "examples/my-policy.json",
            "--policy-file", "examples/RatePlusSpares.cs", "--format", "csv");
        var check = await tool.RunAsync("policy", "check", "--policy", "RatePlusSpares", "--policy-file", "examples/RatePlusSpares.cs");

        Assert.True(backtest.Exit == 0, backtest.Err);
        Assert.Contains("rate + 2 spares,RatePlusSpares,19366,", backtest.Out, StringComparison.Ordinal);
        Assert.True(check.Exit == 0, check.Out + check.Err);
        Assert.EndsWith("5 passed, 0 failed\n", check.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_installed_tool_says_autoscale_in_its_usage()
    {
        var (exit, stdout, _) = await tool.RunAsync("backtest", "--help");

        Assert.Equal(0, exit);
        Assert.Contains("autoscale backtest [options]", stdout, StringComparison.Ordinal);
    }
}
