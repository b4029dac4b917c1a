using System.Text.RegularExpressions;

namespace Autoscale.Tests.Notebooks;

/// <summary>
/// Prepares the notebooks exactly as the README says (<c>dotnet publish src/Autoscale.Cli -c Release -o notebooks/lib</c>,
/// from an empty lib), then runs every notebook headless with the pinned dotnet-repl, as the README shows. A failing
/// cell fails the test, and the notebooks assert their key numbers in cells, so one that runs but computes nonsense
/// fails too.
/// </summary>
[Collection(Autoscale.Tests.Builds.BuildCollection.Name)]
[Trait("Category", "Slow")]
public sealed class NotebookTests
{
    private static readonly Lazy<string> Prepared = new(Prepare);

    public static TheoryData<string> Notebooks() =>
        new(Directory.GetFiles(Path.Combine(TestPaths.Root, "notebooks"), "*.ipynb").Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void The_notebook_runs_top_to_bottom(string notebook)
    {
        var folder = Prepared.Value;
        var trx = Path.Combine(Path.GetTempPath(), $"autoscale-nb-{Guid.NewGuid():N}.trx");
        try
        {
            var (exit, output) = Run("dotnet", ["tool", "run", "dotnet-repl", "--run", notebook, "--exit-after-run", "--output-format", "trx", "--output-path", trx], folder, TimeSpan.FromMinutes(10));
            var report = File.Exists(trx) ? File.ReadAllText(trx) : "";
            var failures = Regex.Matches(report, "<Message>(.*?)</Message>", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToList();
            Assert.True(exit == 0 && failures.Count == 0, $"{notebook} exited {exit}:\n{string.Join("\n---\n", failures)}\n{Tail(output)}");
            Assert.Matches("outcome=\"Passed\"", report);
        }
        finally
        {
            File.Delete(trx);
        }
    }

    private static string Prepare()
    {
        var notebooks = Path.Combine(TestPaths.Root, "notebooks");
        var lib = Path.Combine(notebooks, "lib");
        if (Directory.Exists(lib))
        {
            Directory.Delete(lib, recursive: true);
        }

        // The README's step, word for word.
        var readme = File.ReadAllText(Path.Combine(TestPaths.Root, "README.md"));
        var step = Autoscale.Tests.Builds.ShellWords.Commands(readme, "dotnet publish src/Autoscale.Cli -c Release -o notebooks/lib").Single();
        var (exit, output) = Run("dotnet", [.. Autoscale.Tests.Builds.ShellWords.Split(step)[1..], "--nologo", "-v", "quiet"], TestPaths.Root, TimeSpan.FromMinutes(10));
        Assert.True(exit == 0, "the README's publish failed:\n" + Tail(output));

        (exit, output) = Run("dotnet", ["tool", "restore"], TestPaths.Root, TimeSpan.FromMinutes(5));
        Assert.True(exit == 0, "dotnet tool restore failed:\n" + Tail(output));
        return notebooks;
    }

    private static (int Exit, string Output) Run(string file, string[] args, string directory, TimeSpan timeout)
    {
        var (exit, stdout, stderr) = TestProcess.Run(file, args, directory, timeout);
        return (exit, stdout + stderr);
    }

    private static string Tail(string text) => text.Length > 3000 ? text[^3000..] : text;
}
