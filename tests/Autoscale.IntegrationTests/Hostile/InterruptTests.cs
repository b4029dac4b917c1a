using System.Diagnostics;

namespace Autoscale.Tests.Hostile;

/// <summary>
/// Runs interrupted the way users interrupt them (Ctrl-C is SIGINT; a container stop is SIGTERM; an OOM kill is
/// SIGKILL), against the built command: nothing half-written is left, an earlier output stands, and a kill's
/// leftovers are removed by the next run, but never while the process that made them still runs.
/// </summary>
[Trait("Category", "Slow")]
public sealed class InterruptTests
{
    private const string SigInt = "INT", SigKill = "KILL", SigTerm = "TERM";

    private static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [TestPaths.BuiltProgram("Autoscale.Cli"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return Process.Start(start)!;
    }

    /// <summary>
    /// Waits until <paramref name="folder"/> holds a scratch (a hidden entry), the sign the output is being written. It polls
    /// on a thread of its own: under a full test run the thread pool can be late by longer than a report takes to write.
    /// </summary>
    private static async Task WaitForScratch(string folder, Process process)
    {
        var seen = await Task.Factory.StartNew(() =>
        {
            var limit = Stopwatch.StartNew();
            while (!Hidden(folder).Any())
            {
                if (process.HasExited || limit.Elapsed > TimeSpan.FromSeconds(60))
                {
                    return false;
                }

                Thread.Sleep(2);
            }

            return true;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        if (!seen)
        {
            Assert.False(process.HasExited, $"the run ended (exit {process.ExitCode}) before it wrote anything: {await process.StandardError.ReadToEndAsync()}");
            Assert.Fail("no scratch appeared within 60 s");
        }
    }

    private static IEnumerable<string> Hidden(string folder) =>
        Directory.GetFileSystemEntries(folder).Select(Path.GetFileName).Where(name => name!.StartsWith('.'))!;

    private static async Task<(int Exit, string Err)> Interrupt(Process process, string signal)
    {
        Assert.Equal(0, (await TestProcess.RunAsync("kill", ["-s", signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])).Exit);
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(limit.Token);
        return (process.ExitCode, await stderr);
    }

    [Theory]
    [InlineData(SigInt)]
    [InlineData(SigTerm)]
    public async Task An_interrupted_synth_leaves_the_earlier_trace_and_nothing_else(string signal)
    {
        using var dir = new TempFolder();
        var trace = dir.File("t.parquet");
        var earlier = await TestProcess.RunAsync("dotnet", [TestPaths.BuiltProgram("Autoscale.Cli"), "trace", "synth", "--out", trace, "--duration", "1h"]);
        Assert.Equal(0, earlier.Exit);
        var before = await File.ReadAllBytesAsync(trace);

        using var run = Start("trace", "synth", "--out", trace, "--duration", "365d");
        await WaitForScratch(dir.Path, run);
        var (exit, stderr) = await Interrupt(run, signal);

        Assert.Equal(130, exit);
        Assert.Equal("error: interrupted; outputs in progress were removed\n", stderr);
        Assert.Equal(["t.parquet"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
        Assert.Equal(before, await File.ReadAllBytesAsync(trace));
    }

    [Theory]
    [InlineData(SigInt)]
    [InlineData(SigTerm)]
    public async Task An_interrupted_backtest_leaves_the_earlier_report_and_nothing_else(string signal)
    {
        using var dir = new TempFolder();
        var trace = dir.File("month.parquet");
        Assert.Equal(0, (await TestProcess.RunAsync("dotnet", [TestPaths.BuiltProgram("Autoscale.Cli"), "trace", "synth", "--out", trace, "--duration", "30d", "--daily-amplitude", "0.6"])).Exit);
        var report = dir.File("report");
        var small = Path.Combine(TestPaths.Examples, "textbook.json");
        Assert.Equal(0, (await TestProcess.RunAsync("dotnet", [TestPaths.BuiltProgram("Autoscale.Cli"), "backtest", "--trace", TestPaths.TextbookTrace, "--config", small, "--out", report])).Exit);
        var before = Directory.GetFiles(report).Order().Select(f => (Path.GetFileName(f), File.ReadAllBytes(f).Length)).ToList();
        var config = dir.Write("many.json", """
            { "slo": { "maxWaitSeconds": 2 }, "replica": { "capacityRps": 30, "dollarsPerGpuHour": 2 },
              "candidates": [ { "name": "reactive", "policy": "reactive", "sweep": { "targetUtilization": { "from": 0.3, "to": 0.9, "step": 0.1 } }, "loadTime": { "fixedSeconds": 60 } } ] }
            """);

        using var run = Start("backtest", "--trace", trace, "--config", config, "--out", report);
        await WaitForScratch(dir.Path, run);
        var (exit, stderr) = await Interrupt(run, signal);

        Assert.Equal(130, exit);
        Assert.EndsWith("error: interrupted; outputs in progress were removed\n", stderr);
        Assert.Equal(["many.json", "month.parquet", "report"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(before, Directory.GetFiles(report).Order().Select(f => (Path.GetFileName(f), File.ReadAllBytes(f).Length)).ToList());
    }

    [Fact]
    public async Task A_killed_runs_leftovers_go_with_the_next_run_but_a_running_ones_stay()
    {
        using var dir = new TempFolder();
        var killed = Start("trace", "synth", "--out", dir.File("killed.parquet"), "--duration", "365d");
        await WaitForScratch(dir.Path, killed);
        await Interrupt(killed, SigKill);
        var leftovers = Hidden(dir.Path).ToList();
        Assert.NotEmpty(leftovers);

        // Locks younger than 10 s are left alone (one may be made but not yet held): the kill was a minute ago.
        foreach (var leftover in leftovers)
        {
            File.SetLastWriteTimeUtc(dir.File(leftover), DateTime.UtcNow.AddMinutes(-1));
        }

        // A long run writes beside the leftovers; a short run into the same folder meanwhile.
        using var running = Start("trace", "synth", "--out", dir.File("long.parquet"), "--duration", "120d");
        var limit = Stopwatch.StartNew();
        // The lock comes first, then the scratch it guards: wait for both.
        bool BothWritten()
        {
            var fresh = Hidden(dir.Path).Except(leftovers).ToList();
            return fresh.Any(f => f.EndsWith(".lock", StringComparison.Ordinal) && fresh.Contains(f[..^".lock".Length]));
        }

        while (!BothWritten())
        {
            Assert.False(running.HasExited, "the long run ended before it wrote anything");
            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(60), "no scratch of the long run appeared within 60 s");
            await Task.Delay(20);
        }

        var runningScratch = Hidden(dir.Path).Except(leftovers).ToList();

        // Old enough to be judged by its lock alone: only the OS lock the long run holds keeps it.
        foreach (var scratch in runningScratch)
        {
            File.SetLastWriteTimeUtc(dir.File(scratch), DateTime.UtcNow.AddMinutes(-1));
        }
        var shortRun = await TestProcess.RunAsync("dotnet", [TestPaths.BuiltProgram("Autoscale.Cli"), "trace", "synth", "--out", dir.File("short.parquet"), "--duration", "1h"]);
        Assert.Equal(0, shortRun.Exit);
        var afterShort = Hidden(dir.Path).ToList();
        var finished = !running.HasExited;

        await running.WaitForExitAsync();

        Assert.Empty(leftovers.Intersect(afterShort));
        if (finished)
        {
            // The long run was still writing when the short one cleaned up: its scratch was left alone.
            Assert.Equal(runningScratch.Order(), afterShort.Order());
        }

        Assert.Equal(0, running.ExitCode);
        Assert.Empty(Hidden(dir.Path));
        Assert.Equal(["long.parquet", "short.parquet"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order());
    }
}
