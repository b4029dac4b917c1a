namespace Autoscale.Backtesting.Serving;

/// <summary>A trace cannot be replayed with a serving profile: tokens missing, or a request larger than a replica can hold.</summary>
public sealed class ServingWorkloadException(string message) : Exception(message);
