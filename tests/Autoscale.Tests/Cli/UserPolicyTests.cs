using System.Text.Json;

namespace Autoscale.Tests.Cli;

public sealed class UserPolicyTests
{
    private const string Surge = """
        namespace Contoso.Scaling;

        public sealed class SurgeOptions { public int Spares { get; set; } = 2; public double Target { get; set; } = 0.8; }

        public sealed class SurgePolicy(SurgeOptions o) : IScalingPolicy
        {
            public ScalingDecision Decide(in ScalingSignal s) =>
                new(Math.Min(s.MaxReplicas, (int)Math.Ceiling((s.ArrivalRate + s.QueueDepth / 5.0) / (o.Target * s.CapacityPerReplica)) + o.Spares), "surge");
        }
        """;

    private static string Config(string candidate) => $$"""
        { "slo": { "maxWaitSeconds": 2, "targetPercent": 99.0 }, "replica": { "capacityRps": 30, "gpus": 1, "dollarsPerGpuHour": 3.0 },
          "candidates": [ {{candidate}},
            { "name": "warm pool 6", "policy": "textbook", "options": { "spares": 6 }, "loadTime": { "fixedSeconds": 25 } },
            { "name": "reactive", "policy": "reactive", "loadTime": { "fixedSeconds": 25 } } ] }
        """;

    [Fact]
    public async Task A_ten_line_policy_file_is_backtested_against_the_built_ins_in_one_command()
    {
        using var dir = new TempFolder();
        var file = dir.Write("SurgePolicy.cs", Surge);
        var config = dir.Write("c.json", Config("""{ "name": "surge", "policy": "SurgePolicy", "options": { "spares": 7 }, "loadTime": { "fixedSeconds": 25 } }"""));

        var (exit, stdout, stderr) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--policy-file", file, "--format", "json");

        Assert.True(exit == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var names = json.RootElement.GetProperty("candidates").EnumerateArray().Select(c => c.GetProperty("name").GetString()).ToList();
        Assert.Equal(3, names.Count);
        var surge = json.RootElement.GetProperty("candidates").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "surge");
        Assert.Equal(12804, surge.GetProperty("requests").GetInt64());
        Assert.Equal("Contoso.Scaling.SurgePolicy", surge.GetProperty("policy").GetString());
        Assert.Equal(0, surge.GetProperty("late").GetInt64()); // 7 spares absorb the spike
    }

    [Fact]
    public async Task A_policy_from_a_compiled_assembly_is_named_by_its_assembly_qualified_name()
    {
        using var dir = new TempFolder();
        var project = dir.Write("Contoso.Scaling.csproj", $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings><Nullable>enable</Nullable></PropertyGroup>
              <ItemGroup><Reference Include="Autoscale"><HintPath>{Path.Combine(AppContext.BaseDirectory, "Autoscale.dll")}</HintPath></Reference></ItemGroup>
            </Project>
            """);
        dir.Write("SurgePolicy.cs", "using Autoscale;\n" + Surge);
        var config = dir.Write("c.json", Config("""{ "name": "surge", "policy": "Contoso.Scaling.SurgePolicy, Contoso.Scaling", "options": { "spares": 7 }, "loadTime": { "fixedSeconds": 25 } }"""));

        var (exit, stdout, stderr) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--project", project, "--format", "csv");

        Assert.True(exit == 0, stderr);
        Assert.Contains("surge,Contoso.Scaling.SurgePolicy,12804,", stdout);
    }

    [Fact]
    public async Task Compile_errors_are_reported_as_file_line_column_lines()
    {
        using var dir = new TempFolder();
        var file = dir.Write("Bad.cs", "namespace X;\npublic sealed class Bad : IScalingPolicy\n{\n    public ScalingDecision Decide(in ScalingSignal s) => new(s.Foo)\n}\n");
        var config = dir.Write("c.json", Config("""{ "name": "bad", "policy": "Bad", "loadTime": { "fixedSeconds": 25 } }"""));

        var (exit, stdout, stderr) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--policy-file", file);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        var lines = stderr.TrimEnd('\n').Split('\n');
        Assert.Equal($"error: {file}(4,64): CS1061: 'ScalingSignal' does not contain a definition for 'Foo' and no accessible extension method 'Foo' accepting a first argument of type 'ScalingSignal' could be found (are you missing a using directive or an assembly reference?)", lines[0]);
        Assert.Equal($"error: {file}(4,68): CS1002: ; expected", lines[1]);
    }

    public static TheoryData<string, string> BadCandidates => new()
    {
        { """{ "name": "x", "policy": "Contoso.Scaling.SurgeOptions", "loadTime": { "fixedSeconds": 25 } }""",
          "candidates[0].policy: Contoso.Scaling.SurgeOptions (in {asm}) does not implement Autoscale.IScalingPolicy" },
        { """{ "name": "x", "policy": "SurgePolicy", "options": { "sparez": 1 }, "loadTime": { "fixedSeconds": 25 } }""",
          "candidates[0].options.sparez: unknown option for SurgeOptions (known: spares, target)" },
        { """{ "name": "x", "policy": "SurgePolicy", "options": { "spares": "many" }, "loadTime": { "fixedSeconds": 25 } }""",
          "candidates[0].options.spares: must be an integer, not the string \"many\"" },
        { """{ "name": "x", "policy": "Contoso.Scaling.Nope", "loadTime": { "fixedSeconds": 25 } }""",
          "candidates[0].policy: unknown policy \"Contoso.Scaling.Nope\" (known: SurgePolicy, dynamo-sla, fixed, hpa, keda, knative, max, pd-ratio, predictive, ray-serve, reactive, scheduled-floor, textbook, warm-floor) (for your own policy, pass --assembly DLL, --project CSPROJ or --policy-file FILE.cs)" },
    };

    [Theory]
    [MemberData(nameof(BadCandidates))]
    public async Task A_bad_user_policy_is_one_clear_line(string candidate, string expected)
    {
        using var dir = new TempFolder();
        var file = dir.Write("SurgePolicy.cs", Surge);
        var config = dir.Write("c.json", Config(candidate));

        var (exit, _, stderr) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--policy-file", file);

        Assert.Equal(2, exit);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        var asm = System.Text.RegularExpressions.Regex.Match(stderr, @"\(in ([^)]+)\)").Groups[1].Value;
        Assert.Equal($"error: {config}: {expected.Replace("{asm}", asm, StringComparison.Ordinal)}\n", stderr);
    }

    [Fact]
    public async Task An_assembly_that_does_not_load_is_named()
    {
        using var dir = new TempFolder();
        var dll = dir.Write("Broken.dll", "not an assembly");

        var (exit, _, stderr) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", Path.Combine(TestPaths.Examples, "textbook.json"), "--assembly", dll);

        Assert.Equal(2, exit);
        Assert.StartsWith($"error: --assembly {dll}: the assembly does not load (BadImageFormatException", stderr);
    }

    [Fact]
    public async Task A_policy_that_throws_fails_its_candidate_and_the_others_finish()
    {
        using var dir = new TempFolder();
        var file = dir.Write("Fragile.cs", """
            public sealed class Fragile : IScalingPolicy
            {
                public ScalingDecision Decide(in ScalingSignal s) => s.QueueDepth > 100 ? throw new InvalidOperationException("queue too long") : new(3);
            }
            """);
        var config = dir.Write("c.json", Config("""{ "name": "fragile", "policy": "Fragile", "loadTime": { "fixedSeconds": 25 } }"""));

        var (exit, stdout, _) = await CliRunner.RunAsync("backtest", "--trace", TestPaths.TextbookTrace, "--config", config, "--policy-file", file, "--format", "json");

        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(stdout);
        var candidates = json.RootElement.GetProperty("candidates").EnumerateArray().ToList();
        var fragile = candidates.Last();
        Assert.Equal("fragile", fragile.GetProperty("name").GetString());
        Assert.Equal("policy threw at tick 21: InvalidOperationException: queue too long", fragile.GetProperty("error").GetString());
        Assert.Equal("warm pool 6", candidates[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Policy_check_catches_a_policy_that_peeks_at_the_future_and_one_that_exceeds_its_bounds()
    {
        using var dir = new TempFolder();
        var file = dir.Write("Cheats.cs", """
            namespace Cheats;

            /// Remembers every arrival it has seen, across instances, and provisions for the next minute.
            public sealed class Peeker : IScalingPolicy
            {
                private static readonly Dictionary<Instant, long> Seen = new();
                public ScalingDecision Decide(in ScalingSignal s)
                {
                    var ahead = Seen.TryGetValue(s.Now + Duration.FromMinutes(1), out var a) ? a : 0;
                    Seen[s.Now] = s.ArrivalsLastInterval;
                    return new(Math.Min(s.MaxReplicas, 1 + (int)(ahead / s.CapacityPerReplica)));
                }
            }

            public sealed class Greedy : IScalingPolicy
            {
                public ScalingDecision Decide(in ScalingSignal s) => new(s.QueueDepth > 100 ? s.MaxReplicas + 5 : 2);
            }
            """);

        var peek = await CliRunner.RunAsync("policy", "check", "--policy", "Peeker", "--policy-file", file);
        var greedy = await CliRunner.RunAsync("policy", "check", "--policy", "Cheats.Greedy", "--policy-file", file, "--format", "json");
        var fine = await CliRunner.RunAsync("policy", "check", "--policy", "warm-floor", "--options", """{ "minReplicas": 3 }""");

        Assert.Equal(1, peek.Exit);
        Assert.Matches(@"FAIL  no-look-ahead .*sees the future or keeps state between runs \(tick \d+, trace bursty", peek.Out);
        Assert.Matches(@"\d passed, [1-5] failed\n$", peek.Out);
        Assert.Equal(1, greedy.Exit);
        using var json = JsonDocument.Parse(greedy.Out);
        var bounds = json.RootElement.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "bounds");
        Assert.False(bounds.GetProperty("passed").GetBoolean());
        Assert.Equal("decided 65 replicas, outside [0, 60] (the signal's MaxReplicas)", bounds.GetProperty("detail").GetString());
        Assert.True(bounds.GetProperty("tick").GetInt64() > 0);
        Assert.Equal(0, fine.Exit);
        Assert.EndsWith("5 passed, 0 failed\n", fine.Out);
    }
}
