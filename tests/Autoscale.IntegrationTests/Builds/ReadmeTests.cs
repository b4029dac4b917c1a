namespace Autoscale.Tests.Builds;

/// <summary>
/// Every command of the README's tour, run as written (the <c>$cli</c> of the README is the command's own build,
/// <c>dotnet .../Autoscale.Cli.dll</c>, out of process) in a folder laid out like the repository; and the README's
/// main command run literally with <c>dotnet run</c>.
/// </summary>
[Collection(BuildCollection.Name)]
[Trait("Category", "Slow")]
public sealed class ReadmeTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(TestPaths.Root, "README.md"));

    public static TheoryData<string> TourCommands()
    {
        var commands = ShellWords.Commands(Readme, "$cli ");
        Assert.True(commands.Count >= 20, $"the README's tour has only {commands.Count} commands");
        return new(commands);
    }

    [Fact]
    public void The_tour_covers_every_command_of_the_command_line()
    {
        var tour = string.Join("\n", ShellWords.Commands(Readme, "$cli "));
        foreach (var command in new[] { "textbook", "backtest", "trace import", "trace inspect", "trace synth", "trace servegen", "policy list", "policy describe", "policy check", "policy import", "policy export", "serving fit", "serving profile", "serving validate", "live", "merge", "tune", "--export", "--policy-file", "--seeds", "--shard", "--options", "--out", "--format json" })
        {
            Assert.Contains(command, tour, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Every_command_of_the_tour_runs_as_written_in_order()
    {
        using var dir = new TempFolder();
        var work = Directory.CreateDirectory(Path.Combine(dir.Path, "repo")).FullName;
        foreach (var folder in new[] { "traces", "examples" })
        {
            Directory.CreateSymbolicLink(Path.Combine(work, folder), Path.Combine(TestPaths.Root, folder));
        }

        var shared = Path.GetFullPath(Path.Combine(TestPaths.Root, "..", "shared"));
        if (Directory.Exists(shared))
        {
            Directory.CreateSymbolicLink(Path.Combine(dir.Path, "shared"), shared);
        }

        var dll = TestPaths.BuiltProgram("Autoscale.Cli");
        var failures = new List<string>();
        foreach (var command in ShellWords.Commands(Readme, "$cli "))
        {
            var args = ShellWords.Split(command)[1..];
            if (args.Contains("servegen") && !Directory.Exists(shared))
            {
                continue; // the raw ServeGen data lives beside the repository, as CI has it
            }

            var (exit, stdout, stderr) = await TestProcess.RunAsync("dotnet", [dll, .. args], work, TimeSpan.FromMinutes(5));
            if (exit != 0 || stderr.Contains("error:", StringComparison.Ordinal))
            {
                failures.Add($"{command}\n  exit {exit}: {stderr.Trim()}");
            }

            if (args[0] == "textbook")
            {
                Assert.Contains("cold-start autoscaling (0 spare)      12804      6022   47.0%           124", stdout, StringComparison.Ordinal);
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(File.Exists(Path.Combine(work, "report", "report.html")));
        Assert.True(File.Exists(Path.Combine(work, "merged", "report.html")));
        Assert.True(File.Exists(Path.Combine(work, "mine.parquet")));
    }

    [Fact]
    public async Task The_readme_main_command_runs_with_dotnet_run()
    {
        var main = ShellWords.Commands(Readme, "dotnet run --project src/Autoscale.Cli -- backtest").First();

        var (exit, stdout, stderr) = await TestProcess.RunAsync("dotnet", [.. ShellWords.Split(main)[1..], "--format", "csv"], TestPaths.Root, TimeSpan.FromMinutes(5));

        Assert.True(exit == 0, stderr);
        Assert.Contains("warm pool 6,textbook,12804,12804,0,0,", stdout, StringComparison.Ordinal);
        Assert.Contains("cold-start autoscaling,textbook,12804,", stdout, StringComparison.Ordinal);
    }
}
