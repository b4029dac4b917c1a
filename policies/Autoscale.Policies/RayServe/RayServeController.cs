namespace Autoscale.Policies.RayServe;

/// <summary>
/// Ray Serve's default autoscaling policy (ray-project/ray python/ray/serve/autoscaling_policy.py,
/// replica_queue_length_autoscaling_policy and _calculate_desired_num_replicas, Ray 2.49): the desired count from the
/// ongoing requests against the target with the up or down factor, and a decision counter that must hold a direction
/// for the delay, counted in control-loop iterations; 1 to 0 waits for its own delay.
/// </summary>
internal sealed class RayServeController(RayServeOptions options)
{
    private long _counter;

    /// <summary>_calculate_desired_num_replicas.</summary>
    public int DesiredReplicas(double totalRequests, int runningReplicas)
    {
        var targetRequests = options.TargetOngoingRequests * runningReplicas;
        var errorRatio = totalRequests / targetRequests;
        var factor = errorRatio >= 1 ? options.UpFactor : options.DownFactor;
        var smoothed = 1 + ((errorRatio - 1) * factor);
        var desired = Ceil(runningReplicas * smoothed);
        if (Ceil(runningReplicas * errorRatio) < runningReplicas && desired == runningReplicas)
        {
            desired--;
        }

        return (int)Math.Max(options.MinReplicas, Math.Min(options.MaxReplicas, desired));
    }

    /// <summary>
    /// The decision after <paramref name="loops"/> control-loop iterations that all see the same metrics (those of one
    /// replay tick): the policy run once per iteration, the deployment's target updated after each, then bounded.
    /// </summary>
    public int Decide(int targetReplicas, double totalRequests, int runningReplicas, long loops)
    {
        var target = targetReplicas;
        var remaining = loops;
        while (remaining > 0)
        {
            var (next, used) = Run(target, totalRequests, runningReplicas, remaining);
            remaining -= used;
            if (next == target)
            {
                break;
            }

            target = next;
        }

        return Math.Clamp(target, options.MinReplicas, options.MaxReplicas);
    }

    /// <summary>Runs up to <paramref name="loops"/> iterations at one target: the new target and how many iterations it took.</summary>
    private (int Target, long Loops) Run(int target, double totalRequests, int running, long loops)
    {
        if (running == 0)
        {
            // With no running replica and requests waiting, scale up at once (the counter is left as it is).
            return totalRequests > 0 ? (Math.Max(Ceil(options.UpFactor), target), 1) : (target, loops);
        }

        var desired = DesiredReplicas(totalRequests, running);
        if (desired > target)
        {
            _counter = Math.Max(0, _counter);
            var threshold = (long)(options.UpscaleDelayS.TotalSeconds / options.ControlLoopIntervalS.TotalSeconds);
            if (_counter + loops > threshold)
            {
                var used = threshold - _counter + 1;
                _counter = 0;
                return (desired, used);
            }

            _counter += loops;
            return (target, loops);
        }

        if (desired < target)
        {
            _counter = Math.Min(0, _counter);
            var toZero = target == 1;
            var delay = toZero ? options.DownscaleToZeroDelayS ?? options.DownscaleDelayS : options.DownscaleDelayS;
            if (!toZero)
            {
                desired = Math.Max(1, desired);
            }

            var threshold = (long)(delay.TotalSeconds / options.ControlLoopIntervalS.TotalSeconds);
            if (-_counter + loops > threshold)
            {
                var used = threshold + _counter + 1;
                _counter = 0;
                return (desired, used);
            }

            _counter -= loops;
            return (target, loops);
        }

        _counter = 0;
        return (target, loops);
    }

    private static int Ceil(double value) => (int)Math.Clamp(Math.Ceiling(value), int.MinValue / 2, int.MaxValue / 2);
}
