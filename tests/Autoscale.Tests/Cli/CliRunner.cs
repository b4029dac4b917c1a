using Autoscale.Cli;

namespace Autoscale.Tests.Cli;

/// <summary>Runs the <c>autoscale</c> command in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public static async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        var exit = await AutoscaleCli.RunAsync(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    public const string TextbookConfig = """
        {
          "slo": { "maxWaitSeconds": 2, "targetPercent": 99.0 },
          "replica": { "capacityRps": 30, "gpus": 1, "dollarsPerGpuHour": 3.0 },
          "candidates": [
            { "name": "cold-start autoscaling", "policy": "textbook",
              "options": { "baseReplicas": 2, "spares": 0 }, "loadTime": { "fixedSeconds": 25 } },
            { "name": "warm pool 6", "policy": "textbook",
              "options": { "baseReplicas": 2, "spares": 6 }, "loadTime": { "fixedSeconds": 25 } }
          ]
        }
        """;
}
