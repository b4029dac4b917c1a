using System.CommandLine;
using Autoscale.Config.Scenarios;

namespace Autoscale.Cli.Commands;

/// <summary><c>autoscale textbook</c>: the seed's Output 23.6.1, recomputed through the engine.</summary>
internal static class TextbookCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("textbook", "Print the textbook's Output 23.6.1 (cold-start autoscaling vs a warm pool), regenerating its arrivals run by run.");
        command.SetAction(async _ =>
        {
            await context.Stdout.WriteAsync(TextbookScenario.FormatTable(TextbookScenario.Reproduce()));
            return AutoscaleCli.Success;
        });
        return command;
    }
}
