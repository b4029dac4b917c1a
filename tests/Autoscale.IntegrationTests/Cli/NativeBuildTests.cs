using System.Runtime.InteropServices;

namespace Autoscale.Tests.Cli;

/// <summary>Publishes the command line as a native (AOT) executable once for the tests that run it.</summary>
public sealed class NativeBuild : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "autoscale-native-" + Guid.NewGuid().ToString("N"));

    public NativeBuild()
    {
        var (exit, output, errors) = TestProcess.Run("dotnet",
            ["publish", Path.Combine(TestPaths.Root, "src", "Autoscale.Cli"), "-c", "Release", "-p:Native=true", "-r", RuntimeInformation.RuntimeIdentifier, "-o", _dir,
             "--artifacts-path", Path.Combine(_dir, "artifacts"), "--nologo", "-v", "quiet", "-clp:NoSummary"]);
        Executable = Path.Combine(_dir, "Autoscale.Cli");
        if (exit != 0 || !File.Exists(Executable))
        {
            throw new InvalidOperationException($"dotnet publish (native) failed with exit code {exit}:\n{output}\n{errors}");
        }
    }

    public string Executable { get; }

    public Task<(int Exit, string Out, string Err)> RunAsync(params string[] args) => TestProcess.RunAsync(Executable, args, TestPaths.Root);

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

/// <summary>
/// The native executable (what <c>dotnet publish -r RID</c> gives) must print exactly what the
/// framework-dependent command prints: options bind, reports serialize and plots draw without
/// run-time code generation. Users' own policies are refused with one clear line.
/// </summary>
[Collection(Autoscale.Tests.Builds.BuildCollection.Name)]
[Trait("Category", "Slow")]
public sealed class NativeBuildTests(NativeBuild native) : IClassFixture<NativeBuild>
{
    public static TheoryData<string[]> Commands => new()
    {
        new[] { "textbook" },
        new[] { "policy", "list" },
        new[] { "policy", "list", "--options" },
        new[] { "policy", "describe", "scheduled-floor" },
        new[] { "backtest", "--trace", "traces/textbook-spike.parquet", "--config", "examples/textbook.json", "--format", "json" },
        new[] { "backtest", "--trace", "traces/textbook-spike.parquet", "--config", "examples/textbook-sweep.json", "--format", "csv" },
        new[] { "backtest", "--trace", "traces/azure-llm-code-2023.parquet", "--config", "examples/all-policies.json", "--format", "json" },
        new[] { "backtest", "--trace", "traces/azure-llm-conv-2023.parquet", "--config", "examples/all-policies.json", "--format", "csv", "--seeds", "2" },
        new[] { "backtest", "--trace", "traces/textbook-spike.parquet", "--config", "examples/node-cache.json", "--format", "json" },
        new[] { "backtest", "--trace", "traces/azure-llm-conv-2023.parquet", "--config", "examples/prefix-caching.json", "--format", "csv" },
        new[] { "backtest", "--trace", "traces/azure-llm-conv-2023.parquet", "--config", "examples/disaggregated.json", "--format", "csv" },
        new[] { "backtest", "--trace", "traces/azure-llm-conv-2023.parquet", "--config", "examples/llm-serving-fluid.json", "--format", "csv" },
        new[] { "backtest", "--trace", "traces/textbook-spike.parquet", "--config", "examples/exercise-23-6-3.json", "--format", "json" },
        new[] { "trace", "inspect", "traces/servegen-m-large-14d.parquet", "--format", "json" },
        new[] { "trace", "inspect", "traces/azure-llm-conv-2023.parquet", "--format", "json" },
        new[] { "policy", "check", "--policy", "predictive", "--format", "json" },
        new[] { "policy", "check", "--policy", "scheduled-floor", "--options", """{"timeZone":"Europe/Paris","metric":"inFlightPerReplica","schedule":[{"days":"Mon-Fri","from":"08:00","to":"18:00","minReplicas":4}]}""", "--format", "json" },
        new[] { "live", "--replay", "traces/textbook-spike.parquet", "--config", "examples/textbook.json", "--candidate", "cold-start autoscaling", "--format", "json" },
        new[] { "policy", "check", "--policy", "reactive", "--options", """{"metric":"bogus"}""" },
        new[] { "backtest", "--trace", "traces/missing.parquet", "--config", "examples/textbook.json" },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task The_native_executable_prints_what_the_framework_dependent_one_prints(string[] args)
    {
        args = Absolute(args);
        var expected = await CliRunner.RunAsync(args);

        var actual = await native.RunAsync(args);

        Assert.Equal(expected.Exit, actual.Exit);
        Assert.Equal(expected.Out, actual.Out);
        if (expected.Exit != 0)
        {
            Assert.Equal(expected.Err, actual.Err);
        }
    }

    [Fact]
    public async Task The_native_executable_writes_the_report_folder_and_shards_that_merge_into_it()
    {
        using var dir = new TempFolder();
        var single = await native.RunAsync("backtest", "--trace", Path.Combine(TestPaths.Traces, "azure-llm-code-2023.parquet"), "--config", Path.Combine(TestPaths.Examples, "all-policies.json"), "--out", dir.File("single"), "--format", "csv");
        Assert.Equal(0, single.Exit);
        foreach (var png in Directory.GetFiles(dir.File("single"), "*.png"))
        {
            var header = File.ReadAllBytes(png)[..8];
            Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, header);
        }

        Assert.Contains("<img", File.ReadAllText(dir.File("single/report.html")), StringComparison.Ordinal);
        for (var k = 0; k < 3; k++)
        {
            var shard = await native.RunAsync("backtest", "--trace", Path.Combine(TestPaths.Traces, "azure-llm-code-2023.parquet"), "--config", Path.Combine(TestPaths.Examples, "all-policies.json"), "--shard", $"{k}/3", "--out", dir.File("shards"));
            Assert.Equal(0, shard.Exit);
        }

        var merged = await native.RunAsync("merge", dir.File("shards"), "--out", dir.File("merged"), "--format", "csv");
        Assert.Equal(0, merged.Exit);
        Assert.Equal(single.Out, merged.Out);
        Assert.Equal(File.ReadAllText(dir.File("single/results.json")), File.ReadAllText(dir.File("merged/results.json")));
    }

    [Fact]
    public async Task The_native_executable_imports_and_synthesizes_traces()
    {
        using var dir = new TempFolder();
        File.WriteAllText(dir.File("log.csv"), "timestamp,input_tokens\n2026-01-05T00:00:00.250Z,10\n2026-01-05T00:00:03Z,5\n2026-01-05T00:00:01.5Z,7\n");
        var import = await native.RunAsync("trace", "import", dir.File("log.csv"), "--out", dir.File("log.parquet"));
        Assert.Equal(0, import.Exit);
        var synth = await native.RunAsync("trace", "synth", "--out", dir.File("synth.parquet"), "--duration", "2h", "--seed", "3");
        Assert.Equal(0, synth.Exit);

        foreach (var file in new[] { "log.parquet", "synth.parquet" })
        {
            var expected = await CliRunner.RunAsync("trace", "inspect", dir.File(file), "--format", "json");
            var actual = await native.RunAsync("trace", "inspect", dir.File(file), "--format", "json");
            Assert.Equal(0, actual.Exit);
            Assert.Equal(expected.Out, actual.Out);
        }
    }

    [Fact]
    public async Task The_native_executable_reads_a_duckdb_file_with_other_columns_of_every_kind()
    {
        // Parquet.Net builds a field for every column, nullable ones by reflection: the native build must cope.
        using var dir = new TempFolder();
        var path = dir.File("duck.parquet");
        using (var connection = new DuckDB.NET.Data.DuckDBConnection("Data Source=:memory:"))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = $"""
                COPY (SELECT TIMESTAMPTZ '2026-01-05 00:00:00+00' + INTERVAL (i) SECOND AS timestamp, (i % 7)::BIGINT AS requests,
                             i::INTEGER AS id, i * 0.5 AS load, 'r' || i AS label, i % 2 = 0 AS even, i::SMALLINT AS small, DATE '2026-01-05' AS day
                      FROM range(600) t(i)) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 256)
                """;
            await command.ExecuteNonQueryAsync();
        }

        string[][] commands =
        [
            ["trace", "inspect", path, "--format", "json"],
            ["backtest", "--trace", path, "--config", Path.Combine(TestPaths.Examples, "textbook.json"), "--format", "json"],
        ];
        foreach (var args in commands)
        {
            var expected = await CliRunner.RunAsync(args);
            var actual = await native.RunAsync(args);
            Assert.Equal(0, expected.Exit);
            Assert.Equal((expected.Exit, expected.Out), (actual.Exit, actual.Out));
        }
    }

    [Theory]
    [InlineData("backtest", "--policy-file")]
    [InlineData("backtest", "--project")]
    [InlineData("backtest", "--assembly")]
    [InlineData("check", "--policy-file")]
    public async Task Users_policies_are_refused_with_one_line_naming_a_build_that_runs_them(string command, string option)
    {
        using var dir = new TempFolder();
        var file = dir.Write("P.cs", "public sealed class P : Autoscale.IScalingPolicy { public Autoscale.ScalingDecision Decide(in Autoscale.ScalingSignal s) => new(1, \"one\"); }");
        string[] args = command == "check"
            ? ["policy", "check", "--policy", "P", option, file]
            : ["backtest", "--trace", "traces/textbook-spike.parquet", "--config", "examples/textbook.json", option, file];

        var result = await native.RunAsync(args);

        Assert.Equal(2, result.Exit);
        Assert.Equal("", result.Out);
        var line = Assert.Single(result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: {option}: this native build of autoscale cannot load code at run time", line, StringComparison.Ordinal);
        Assert.Contains("dotnet run --project src/Autoscale.Cli", line, StringComparison.Ordinal);
    }

    /// <summary>Repository paths made absolute, so both runs name the same files the same way.</summary>
    private static string[] Absolute(string[] args) =>
        args.Select(a => a.StartsWith("traces/", StringComparison.Ordinal) || a.StartsWith("examples/", StringComparison.Ordinal) ? Path.Combine(TestPaths.Root, a) : a).ToArray();
}
