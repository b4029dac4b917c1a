namespace Autoscale.Reporting;

/// <summary>How one candidate's figures spread over several seeds: minimum, mean, maximum.</summary>
/// <param name="Name">The candidate.</param>
/// <param name="Seeds">Runs.</param>
/// <param name="ViolationPercent">Violation percentage over the seeds.</param>
/// <param name="Dollars">Dollars over the seeds.</param>
/// <param name="MeetsSloRuns">Runs that met the SLO target.</param>
public sealed record SeedSpread(string Name, int Seeds, Spread ViolationPercent, Spread Dollars, int MeetsSloRuns);

/// <summary>Minimum, mean and maximum of a figure.</summary>
public readonly record struct Spread(double Min, double Mean, double Max)
{
    /// <summary>The spread of <paramref name="values"/>.</summary>
    public static Spread Of(IReadOnlyCollection<double> values) => new(values.Min(), values.Average(), values.Max());
}
