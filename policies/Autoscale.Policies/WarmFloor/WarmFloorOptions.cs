using NodaTime;
using Autoscale.Policies.Reactive;

namespace Autoscale.Policies.WarmFloor;

/// <summary>
/// Options of <see cref="WarmFloorPolicy"/>: every reactive option, with a warm floor of
/// <see cref="ReactiveOptions.MinReplicas"/> (default 2) and a ten-minute scale-down delay (Ray Serve's
/// <c>downscale_delay_s</c> of the textbook's example) so the pool is not reloaded after every lull.
/// </summary>
public sealed class WarmFloorOptions : ReactiveOptions
{
    /// <summary>Creates the options with the warm-pool defaults.</summary>
    public WarmFloorOptions()
    {
        MinReplicas = 2;
        ScaleDownStabilizationSeconds = Duration.FromSeconds(600);
    }

    /// <inheritdoc />
    public override IReadOnlyList<string> Validate()
    {
        var errors = base.Validate().ToList();
        if (MinReplicas < 1)
        {
            errors.Insert(0, $"minReplicas ({MinReplicas}) must be >= 1: it is the warm floor (use the reactive policy to scale to zero)");
        }

        return errors;
    }
}
