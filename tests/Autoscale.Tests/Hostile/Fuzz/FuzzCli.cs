using System.Text.Json;

using Xunit.Abstractions;

namespace Autoscale.Tests.Hostile.Fuzz;

/// <summary>One run of the built <c>autoscale</c> command, out of process, under the fuzzing suite's limits.</summary>
internal sealed record FuzzRun(string[] Args, int Exit, string Out, string Err, bool TimedOut)
{
    public string Command => "autoscale " + string.Join(' ', Args.Select(a => a.Contains(' ') ? $"'{a}'" : a));
}

/// <summary>
/// Runs generated cases through the command users get (the framework-dependent build of src/Autoscale.Cli,
/// each case its own process) with a managed-heap limit and a time limit, and judges each outcome: success
/// with consistent figures, or exit 2 with one <c>error:</c> line. Anything else (another exit code, an
/// internal error, a timeout, running out of the heap, a file left behind) fails the case.
/// </summary>
internal static class FuzzCli
{
    /// <summary>The managed heap a case may use: <c>DOTNET_GCHeapHardLimit</c>, 768 MiB.</summary>
    public const long HeapLimitBytes = 768L << 20;

    /// <summary>The time a case may take before it counts as a hang.</summary>
    public static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(60);

    /// <summary>Cases run at once.</summary>
    private static readonly SemaphoreSlim Slots = new(Math.Max(2, Environment.ProcessorCount));

    /// <summary>The seed of every generator; <c>AUTOSCALE_FUZZ_SEED</c> replays another run.</summary>
    public static ulong Seed { get; } = ulong.TryParse(Environment.GetEnvironmentVariable("AUTOSCALE_FUZZ_SEED"), out var seed) ? seed : 20261129UL;

    /// <summary>How many cases of a kind to run: <paramref name="count"/> times <c>AUTOSCALE_FUZZ_SCALE</c> (1 in CI).</summary>
    public static int Cases(int count) =>
        count * (int.TryParse(Environment.GetEnvironmentVariable("AUTOSCALE_FUZZ_SCALE"), out var scale) && scale > 0 ? scale : 1);

    public static async Task<FuzzRun> RunAsync(params string[] args)
    {
        var environment = new Dictionary<string, string>
        {
            ["DOTNET_GCHeapHardLimit"] = "0x" + HeapLimitBytes.ToString("X"),
            ["DOTNET_TieredPGO"] = "0",
        };
        await Slots.WaitAsync();
        try
        {
            var (exit, stdout, stderr) = await TestProcess.RunAsync("dotnet", [TestPaths.BuiltProgram("Autoscale.Cli"), .. args], timeout: TimeLimit, environment: environment);
            return new FuzzRun(args, exit, stdout, stderr, exit == -1 && stdout == "timed out");
        }
        finally
        {
            Slots.Release();
        }
    }

    /// <summary>
    /// Whether <paramref name="run"/> succeeded (true) or was refused with one clean line (false); any other
    /// outcome is a failure naming the case. <paramref name="folder"/> must hold no hidden file afterwards.
    /// </summary>
    public static bool Judge(FuzzRun run, string input, string? folder = null)
    {
        var where = $"\n  command: {run.Command}\n  input: {Shorten(input)}\n  exit {run.Exit}\n  stdout: {Shorten(run.Out)}\n  stderr: {Shorten(run.Err)}";
        if (run.TimedOut)
        {
            Assert.Fail($"case took more than {TimeLimit.TotalSeconds:0} s (a hang):{where}");
        }

        if (folder is not null && Directory.Exists(folder))
        {
            var hidden = Directory.GetFileSystemEntries(folder).Select(Path.GetFileName).Where(name => name!.StartsWith('.')).ToList();
            Assert.True(hidden.Count == 0, $"left behind {string.Join(", ", hidden)}:{where}");
        }

        switch (run.Exit)
        {
            case 0:
                Assert.False(run.Err.Contains("error", StringComparison.OrdinalIgnoreCase), $"exit 0 with an error printed:{where}");
                return true;
            case 2:
                var lines = run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.True(lines.Length == 1, $"exit 2 must print exactly one line on stderr:{where}");
                Assert.True(lines[0].StartsWith("error: ", StringComparison.Ordinal), $"exit 2 must print an 'error: ' line:{where}");
                Assert.False(lines[0].Contains("internal error", StringComparison.Ordinal), $"an internal error:{where}");
                return false;
            default:
                Assert.Fail($"exit {run.Exit} is neither success nor a refusal:{where}");
                return false;
        }
    }

    /// <summary>
    /// Checks a backtest's JSON output: every candidate saw <paramref name="requests"/> (when known) and conserved
    /// them, and every figure is finite, in its range and non-negative where it is a count or dollars.
    /// </summary>
    public static void CheckBacktest(FuzzRun run, string input, long? requests)
    {
        var where = $"\n  command: {run.Command}\n  input: {Shorten(input)}\n  stdout: {Shorten(run.Out)}";
        using var json = JsonDocument.Parse(run.Out);
        var traceRequests = json.RootElement.GetProperty("trace").GetProperty("requests").GetInt64();
        if (requests is { } expected)
        {
            Assert.True(traceRequests == expected, $"the trace's requests are {traceRequests}, not {expected}:{where}");
        }

        var candidates = json.RootElement.GetProperty("candidates");
        Assert.True(candidates.GetArrayLength() > 0, $"no candidates in a successful backtest:{where}");
        foreach (var candidate in candidates.EnumerateArray())
        {
            var name = candidate.GetProperty("name").GetString();
            long Count(string field) => candidate.GetProperty(field).GetInt64();
            Assert.True(Count("requests") == traceRequests, $"{name}: requests {Count("requests")} != the trace's {traceRequests}:{where}");
            Assert.True(Count("served") + Count("dropped") + Count("queuedAtEnd") == Count("requests"), $"{name}: served + dropped + queued at end != requests:{where}");
            Assert.True(Count("late") <= Count("served") + Count("queuedAtEnd"), $"{name}: more late than served and queued:{where}");
            foreach (var field in candidate.EnumerateObject().Where(f => f.Value.ValueKind == JsonValueKind.Number))
            {
                var value = field.Value.GetDouble();
                Assert.True(double.IsFinite(value), $"{name}: {field.Name} is not finite:{where}");
                if (field.Name is "dollars" or "dollarsPerHour" or "idleDollars" or "loadingDollars" or "costDollars" or "holdDollars" or "roundingDollars"
                    or "served" or "late" or "dropped" or "queuedAtEnd" or "violations" or "replicaSeconds" or "coldStarts" or "peakReplicas" or "endReplicas")
                {
                    Assert.True(value >= 0, $"{name}: {field.Name} = {value} is negative:{where}");
                }

                if (field.Name.EndsWith("Percent", StringComparison.Ordinal))
                {
                    Assert.True(value is >= 0 and <= 100, $"{name}: {field.Name} = {value} is no percentage:{where}");
                }
            }
        }
    }

    private static string Shorten(string text) => text.Length <= 1500 ? text : text[..1500] + $"... ({text.Length} characters)";
}

/// <summary>What a fuzzing test saw: how many cases succeeded and how many were refused, so a generator that only ever produces one kind fails.</summary>
internal sealed class FuzzTally(string kind, ITestOutputHelper output)
{
    private int _succeeded;
    private int _refused;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _reasons = new();

    public void Add(bool succeeded, string stderr = "")
    {
        if (!succeeded)
        {
            // The refusal's kind: its line without the file, numbers and quoted values.
            var reason = System.Text.RegularExpressions.Regex.Replace(stderr.Trim(), @"^error: [^:]*: ", "error: ");
            reason = System.Text.RegularExpressions.Regex.Replace(reason, "\"[^\"]*\"|-?[\\d.]+(E[+-]?\\d+)?", "_");
            _reasons.AddOrUpdate(reason, 1, (_, n) => n + 1);
        }

        if (succeeded)
        {
            Interlocked.Increment(ref _succeeded);
        }
        else
        {
            Interlocked.Increment(ref _refused);
        }
    }

    /// <summary>Reports the counts and checks both outcomes were reached in at least <paramref name="share"/> of the cases.</summary>
    public void AssertMixed(double share = 0.15)
    {
        var total = _succeeded + _refused;
        foreach (var (reason, count) in _reasons.OrderByDescending(r => r.Value))
        {
            output.WriteLine($"  {count,4} x {reason}");
        }

        output.WriteLine($"{kind}: {total} cases (seed {FuzzCli.Seed}): {_succeeded} succeeded with consistent figures, {_refused} refused with one line");
        Assert.True(_succeeded >= share * total, $"{kind}: only {_succeeded} of {total} cases succeeded; the generator is too hostile to test the success path");
        Assert.True(_refused >= share * total, $"{kind}: only {_refused} of {total} cases were refused; the generator is too tame");
    }
}
