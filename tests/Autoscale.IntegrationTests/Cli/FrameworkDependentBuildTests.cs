namespace Autoscale.Tests.Cli;

/// <summary>
/// The command as <c>dotnet build</c> leaves it (<c>dotnet src/Autoscale.Cli/bin/CONFIG/net10.0/Autoscale.Cli.dll</c>),
/// out of process: users' own policies from a file, a project and an assembly, and the conformance checks on them.
/// An in-process test once hid that every build a user could make refused them.
/// </summary>
[Trait("Category", "Slow")]
public sealed class FrameworkDependentBuildTests
{
    private static readonly string Dll = TestPaths.BuiltProgram("Autoscale.Cli");

    private static Task<(int Exit, string Out, string Err)> RunAsync(params string[] args) =>
        TestProcess.RunAsync("dotnet", [Dll, .. args], TestPaths.Root, TimeSpan.FromMinutes(3));

    [Fact]
    public async Task A_policy_file_is_compiled_and_backtested()
    {
        var (exit, stdout, stderr) = await RunAsync("backtest", "--trace", "traces/azure-llm-conv-2023.parquet", "--config", "examples/my-policy.json",
            "--policy-file", "examples/RatePlusSpares.cs", "--format", "csv");

        Assert.True(exit == 0, stderr);
        Assert.Contains("rate + 2 spares,RatePlusSpares,19366,", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Durations_written_with_units_replay_as_the_same_seconds()
    {
        using var dir = new TempFolder();
        const string Template = """
            { "slo": { "maxWaitSeconds": MAXWAIT, "targetPercent": 99.0 },
              "replica": { "capacityRps": 30, "gpus": 1, "dollarsPerGpuHour": 3.0 },
              "engine": { "drainSeconds": DRAIN },
              "candidates": [
                { "name": "warm", "policy": "warm-floor", "options": { "minReplicas": 4, "scaleDownStabilizationSeconds": DOWN }, "loadTime": { "fixedSeconds": LOAD } },
                { "name": "hpa", "policy": "hpa", "options": { "syncPeriodSeconds": SYNC, "metrics": [ { "type": "Pods", "pods": { "metric": { "name": "inFlight" }, "target": { "type": "AverageValue", "averageValue": 20 } } } ] },
                  "decisionIntervalSeconds": SYNC, "loadTime": { "model": "fixed", "seconds": LOAD } } ] }
            """;
        string Config(string name, string wait, string drain, string down, string load, string sync) =>
            dir.Write(name, Template.Replace("MAXWAIT", wait).Replace("DRAIN", drain).Replace("DOWN", down).Replace("LOAD", load).Replace("SYNC", sync));
        var seconds = Config("seconds.json", "2", "3600", "600", "25", "15");
        var units = Config("units.json", "\"2000ms\"", "\"1h\"", "\"PT10M\"", "\"00:00:25\"", "\"15s\"");

        var plain = await RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", seconds, "--format", "json");
        var written = await RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", units, "--format", "json");

        Assert.True(plain.Exit == 0, plain.Err);
        Assert.True(written.Exit == 0, written.Err);
        Assert.Equal(plain.Out, written.Out);
        Assert.Contains("\"requests\": 12804", plain.Out, StringComparison.Ordinal);

        var bad = Config("bad.json", "2", "3600", "\"ten minutes\"", "25", "15");
        var refused = await RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", bad);
        Assert.Equal(2, refused.Exit);
        Assert.Single(refused.Err.Trim().Split('\n'));
        Assert.StartsWith("error: ", refused.Err, StringComparison.Ordinal);
        Assert.EndsWith("bad.json: candidates[0].options.scaleDownStabilizationSeconds: must be a duration such as 15 (seconds), \"90s\", \"5m\" or \"PT15S\", not the string \"ten minutes\"", refused.Err.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Policy_import_reads_an_hpa_manifest()
    {
        var (exit, stdout, stderr) = await RunAsync("policy", "import", "examples/manifests/hpa-vllm.yaml", "--metric-map", "vllm_requests_in_flight=inFlight");

        Assert.True(exit == 0, stderr);
        Assert.Contains("\"policy\": \"hpa\"", stdout, StringComparison.Ordinal);
        Assert.Contains("\"stabilizationWindowSeconds\": 300", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Policy_check_runs_on_a_policy_file()
    {
        var (exit, stdout, stderr) = await RunAsync("policy", "check", "--policy", "RatePlusSpares", "--policy-file", "examples/RatePlusSpares.cs", "--format", "json");

        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("\"passed\": true", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_project_and_its_built_assembly_bring_their_policies()
    {
        using var dir = new TempFolder();
        var project = dir.Write("Contoso.Scaling.csproj", $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings><Nullable>enable</Nullable></PropertyGroup>
              <ItemGroup><Reference Include="Autoscale"><HintPath>{Path.Combine(Path.GetDirectoryName(Dll)!, "Autoscale.dll")}</HintPath></Reference></ItemGroup>
            </Project>
            """);
        dir.Write("Twice.cs", """
            using Autoscale;
            namespace Contoso.Scaling;
            public sealed class TwiceOptions { public int Floor { get; set; } = 2; }
            public sealed class Twice(TwiceOptions o) : IScalingPolicy
            {
                public ScalingDecision Decide(in ScalingSignal s) => new(Math.Min(s.MaxReplicas, Math.Max(o.Floor, 2 * (int)Math.Ceiling(s.ArrivalRate / s.CapacityPerReplica))), "twice");
            }
            """);
        var config = dir.Write("c.json", """
            { "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 30, "dollarsPerGpuHour": 3 },
              "candidates": [ { "name": "twice", "policy": "Contoso.Scaling.Twice, Contoso.Scaling", "options": { "floor": 3 }, "loadTime": { "fixedSeconds": 25 } } ] }
            """);

        var fromProject = await RunAsync("backtest", "--trace", "traces/textbook-spike.parquet", "--config", config, "--project", project, "--format", "csv");
        Assert.True(fromProject.Exit == 0, fromProject.Err);
        Assert.Contains("twice,Contoso.Scaling.Twice,12804,", fromProject.Out, StringComparison.Ordinal);

        var (built, _, buildErrors) = await TestProcess.RunAsync("dotnet", ["build", project, "-c", "Release", "-o", dir.File("out"), "--nologo", "-v", "quiet"], dir.Path, TimeSpan.FromMinutes(3));
        Assert.True(built == 0, buildErrors);
        var fromAssembly = await RunAsync("backtest", "--trace", "traces/textbook-spike.parquet", "--config", config, "--assembly", dir.File("out/Contoso.Scaling.dll"), "--format", "csv");
        Assert.True(fromAssembly.Exit == 0, fromAssembly.Err);
        Assert.Equal(fromProject.Out, fromAssembly.Out);

        var check = await RunAsync("policy", "check", "--policy", "Contoso.Scaling.Twice", "--assembly", dir.File("out/Contoso.Scaling.dll"), "--options", """{"floor": 3}""");
        Assert.True(check.Exit == 0, check.Out + check.Err);
    }

    [Fact]
    public async Task Two_files_defining_one_policy_class_are_one_line()
    {
        using var dir = new TempFolder();
        File.Copy(Path.Combine(TestPaths.Examples, "RatePlusSpares.cs"), dir.File("Copy.cs"));

        var (exit, stdout, stderr) = await RunAsync("policy", "list", "--policy-file", "examples/RatePlusSpares.cs", "--policy-file", dir.File("Copy.cs"));

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Equal($"error: --policy-file {dir.File("Copy.cs")}: the policy class RatePlusSpares is already defined in examples/RatePlusSpares.cs: rename one, or put them in namespaces of their own\n", stderr);
    }
}
