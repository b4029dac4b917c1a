using System.Diagnostics;

namespace Autoscale.Tests;

/// <summary>Runs a program to completion and captures what it prints.</summary>
internal static class TestProcess
{
    /// <summary>Runs <paramref name="file"/>; exit code -1 and "timed out" when it outlives <paramref name="timeout"/> (then it is killed).</summary>
    public static async Task<(int Exit, string Out, string Err)> RunAsync(string file, IEnumerable<string> args, string? directory = null, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        if (directory is not null)
        {
            start.WorkingDirectory = directory;
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout ?? Timeout.InfiniteTimeSpan);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, "timed out", "");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The blocking form of <see cref="RunAsync"/>, for constructors and fixtures.</summary>
    public static (int Exit, string Out, string Err) Run(string file, IEnumerable<string> args, string? directory = null, TimeSpan? timeout = null) =>
        RunAsync(file, args, directory, timeout).GetAwaiter().GetResult();
}
