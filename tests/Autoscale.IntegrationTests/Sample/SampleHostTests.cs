using System.Diagnostics;

namespace Autoscale.Tests.Sample;

/// <summary>
/// The sample host as a user runs it, out of process from its own build: in dry run on a replayed trace with nothing
/// installed, logging what it would do, stopping on Ctrl-C with exit 0; and one clear line for what it lacks.
/// </summary>
[Trait("Category", "Slow")]
public sealed class SampleHostTests
{
    private static readonly string Dll = TestPaths.BuiltProgram("Autoscale.Sample");

    [Fact]
    public async Task In_dry_run_on_a_replay_it_logs_what_it_would_do_and_stops_on_ctrl_c_with_exit_0()
    {
        using var host = Start([]);
        var output = await host.WaitForAsync("would scale", TimeSpan.FromSeconds(60));

        var exit = await host.InterruptAsync();

        Assert.Equal(0, exit);
        Assert.Matches(@"would scale 2 -> \d+ \(dry run\): scale up", output);
        Assert.Contains("holding 2 replicas: scale down held by the stabilization window", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_dry_run_the_policy_drives_the_replayed_fleet()
    {
        using var host = Start(["--Autoscaler:DryRun=false", "--Replay:Speed=20"]);
        var output = await host.WaitForAsync("scaling 2 -> ", TimeSpan.FromSeconds(60));

        Assert.Equal(0, await host.InterruptAsync());
        Assert.DoesNotContain("(dry run)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kubernetes_mode_without_a_cluster_is_one_line_and_a_nonzero_exit()
    {
        using var home = new TempFolder();
        using var host = Start(["--Sample:Mode=kubernetes"], new() { ["HOME"] = home.Path, ["KUBECONFIG"] = "", ["KUBERNETES_SERVICE_HOST"] = "" });

        var exit = await host.ExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exit);
        var line = Assert.Single(host.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: no Kubernetes cluster to scale: not running in a cluster, and no usable kubeconfig", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_configuration_without_a_policy_is_one_clear_line()
    {
        using var host = Start(["--Autoscaler:Policy:policy="]);

        Assert.Equal(2, await host.ExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("error: Autoscaler:Policy:policy is required (a policy name such as warm-floor)", host.Output.Trim());
    }

    [Fact]
    public async Task A_bad_option_is_one_clear_line_naming_the_key()
    {
        using var host = Start(["--Autoscaler:Intervl=15s"]);

        Assert.Equal(2, await host.ExitAsync(TimeSpan.FromSeconds(60)));
        Assert.StartsWith("error: Autoscaler:Intervl: unknown option for AutoscalerOptions (known: ", host.Output.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_signal_source_logs_one_line_per_failure_and_no_stack_trace()
    {
        using var host = Start(["--Sample:Mode=keda", "--Prometheus:BaseAddress=http://127.0.0.1:9/", "--Autoscaler:Interval=1s", "--Keda:Port=0"]);
        await host.WaitForAsync("The signal source failed", TimeSpan.FromSeconds(60));
        await host.WaitForAsync("The signal source failed", TimeSpan.FromSeconds(30), occurrences: 3);

        Assert.Equal(0, await host.InterruptAsync());
        var failures = host.Output.Split('\n').Where(l => l.Contains("The signal source failed", StringComparison.Ordinal)).ToList();
        Assert.True(failures.Count >= 3);
        Assert.All(failures, l => Assert.Contains("http://127.0.0.1:9/ is unreachable", l, StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", host.Output, StringComparison.Ordinal);
    }

    private static SampleProcess Start(string[] args, Dictionary<string, string>? environment = null) => new(Dll, args, environment);

    /// <summary>The sample running in its own process, its output gathered as it comes.</summary>
    private sealed class SampleProcess : IDisposable
    {
        private readonly Process _process;
        private readonly System.Text.StringBuilder _output = new();

        public SampleProcess(string dll, string[] args, Dictionary<string, string>? environment)
        {
            var start = new ProcessStartInfo("dotnet", [dll, .. args])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = Path.GetTempPath(),
            };
            foreach (var (key, value) in environment ?? [])
            {
                start.Environment[key] = value;
            }

            _process = Process.Start(start)!;
            _process.OutputDataReceived += (_, e) => Append(e.Data);
            _process.ErrorDataReceived += (_, e) => Append(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public async Task<string> WaitForAsync(string text, TimeSpan timeout, int occurrences = 1)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                var output = Output;
                if (Count(output, text) >= occurrences)
                {
                    return output;
                }

                Assert.False(_process.HasExited, $"the sample exited before printing \"{text}\":\n{output}");
                await Task.Delay(100);
            }

            throw new TimeoutException($"no \"{text}\" within {timeout}:\n{Output}");
        }

        /// <summary>Sends SIGINT, as Ctrl-C in a terminal does, and waits for the exit.</summary>
        public async Task<int> InterruptAsync()
        {
            using (var kill = Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            return await ExitAsync(TimeSpan.FromSeconds(30));
        }

        public async Task<int> ExitAsync(TimeSpan timeout)
        {
            using var limit = new CancellationTokenSource(timeout);
            await _process.WaitForExitAsync(limit.Token);
            _process.WaitForExit();
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }

        private static int Count(string text, string part)
        {
            var count = 0;
            for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
            {
                count++;
            }

            return count;
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.Append(line).Append('\n');
            }
        }
    }
}
