using Autoscale.Cli;

return await AutoscaleCli.RunAsync(args, Console.Out, Console.Error, Console.IsOutputRedirected);
