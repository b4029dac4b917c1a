namespace Autoscale.Tests;

/// <summary>Where the repository's files are, from the test's output folder.</summary>
internal static class TestPaths
{
    public static string Root { get; } = FindRoot();

    public static string Traces => Path.Combine(Root, "traces");

    public static string TextbookTrace => Path.Combine(Traces, "textbook-spike.parquet");

    public static string Examples => Path.Combine(Root, "examples");

    /// <summary>The build configuration the tests were built in (Debug or Release), as the solution built every project.</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    /// <summary>A program of the solution as its own build left it (<c>src/NAME/bin/CONFIG/net10.0/NAME.dll</c>), run with <c>dotnet</c>.</summary>
    public static string BuiltProgram(string project) =>
        Path.Combine(Root, "src", project, "bin", Configuration, "net10.0", project + ".dll");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Autoscale.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Autoscale.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A folder of its own for one test, deleted afterwards.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "autoscale-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, string text)
    {
        var path = File(name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    public IReadOnlyList<string> Files() => Directory.GetFiles(Path).Select(System.IO.Path.GetFileName).ToList()!;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
