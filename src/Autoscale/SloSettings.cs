namespace Autoscale;

/// <summary>The latency objective a candidate is judged by.</summary>
/// <param name="MaxWaitSeconds">A request is late when it waits strictly longer than this before service starts.</param>
/// <param name="TargetPercent">The share of requests (percent) that must start within <paramref name="MaxWaitSeconds"/>.</param>
/// <param name="ClientTimeoutSeconds">Requests that wait longer than this leave the queue (dropped); null for never.</param>
/// <param name="DollarsPerViolation">Optional price of one violated request, folding risk into dollars.</param>
/// <remarks>Immutable; safe to share between threads.</remarks>
public sealed record SloSettings(
    double MaxWaitSeconds,
    double TargetPercent,
    double? ClientTimeoutSeconds = null,
    double DollarsPerViolation = 0)
{
    /// <summary>Every rule the settings break, one message each; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!(MaxWaitSeconds >= 0) || double.IsInfinity(MaxWaitSeconds))
        {
            errors.Add($"maxWaitSeconds ({MaxWaitSeconds}) must be a finite number >= 0");
        }

        if (!(TargetPercent is >= 0 and <= 100))
        {
            errors.Add($"targetPercent ({TargetPercent}) must be between 0 and 100");
        }

        if (ClientTimeoutSeconds is { } timeout && !(timeout > 0 && double.IsFinite(timeout)))
        {
            errors.Add($"clientTimeoutSeconds ({timeout}) must be a finite number > 0");
        }

        if (!(DollarsPerViolation >= 0) || double.IsInfinity(DollarsPerViolation))
        {
            errors.Add($"dollarsPerViolation ({DollarsPerViolation}) must be a finite number >= 0");
        }

        return errors;
    }
}

/// <summary>What one replica serves and what it costs.</summary>
/// <param name="CapacityRps">Requests per second one ready replica serves.</param>
/// <param name="Gpus">GPUs per replica.</param>
/// <param name="DollarsPerGpuHour">Price of one GPU-hour.</param>
/// <remarks>Immutable; safe to share between threads.</remarks>
public sealed record ReplicaSettings(double CapacityRps, int Gpus, double DollarsPerGpuHour)
{
    /// <summary>Price of one replica for one second.</summary>
    public double DollarsPerReplicaSecond => Gpus * DollarsPerGpuHour / 3600.0;

    /// <summary>Every rule the settings break, one message each; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!(CapacityRps > 0) || double.IsInfinity(CapacityRps))
        {
            errors.Add($"capacityRps ({CapacityRps}) must be a finite number > 0");
        }

        if (Gpus < 0)
        {
            errors.Add($"gpus ({Gpus}) must be >= 0");
        }

        if (!(DollarsPerGpuHour >= 0) || double.IsInfinity(DollarsPerGpuHour))
        {
            errors.Add($"dollarsPerGpuHour ({DollarsPerGpuHour}) must be a finite number >= 0");
        }

        return errors;
    }
}
