using System.Runtime.InteropServices;
using Autoscale.Cli;

// Ctrl-C and SIGTERM cancel the run instead of killing the process, so outputs in progress are removed.
using var stop = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}

using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
return await AutoscaleCli.RunAsync(args, Console.Out, Console.Error, Console.IsOutputRedirected, stop.Token);
