using Autoscale.Policies.RayServe;
using NodaTime;
using Xunit;

namespace Autoscale.Tests.Policies.RayServe;

/// <summary>
/// Expected numbers ported from Ray's tests of its default policy (Apache-2.0, the Ray authors):
/// ray-project/ray python/ray/serve/tests/unit/test_autoscaling_policy.py at commit
/// 8244b65991b1b74e1c7a1fc1cb3d3590c9a0f67b (TestCalculateDesiredNumReplicas, test_replicas_delayed_startup) and the
/// downscale-to-zero flow and scaling-factor tests of its later version (test_upscale_downscale_delay with
/// downscale_to_zero_delay_s, test_scaling_factor_scale_up_from_0_replicas, test_scaling_factor_scale_down_to_0_replicas).
/// </summary>
public sealed class RayServeTests
{
    private static RayServeController Controller(RayServeOptions options) => new(options);

    [Fact]
    public void Bounds_are_kept()
    {
        var c = Controller(new RayServeOptions { MinReplicas = 9, MaxReplicas = 11, TargetOngoingRequests = 100 });
        Assert.Equal(11, c.DesiredReplicas(150 * 10, 10));
        Assert.Equal(9, c.DesiredReplicas(50 * 10, 10));
        for (var i = 50; i < 150; i++)
        {
            Assert.InRange(c.DesiredReplicas(i * 10, 10), 9, 11);
        }
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(1.0)]
    [InlineData(1.5)]
    public void Scale_up_and_down_follow_the_ratio(double target)
    {
        var c = Controller(new RayServeOptions { MinReplicas = 0, MaxReplicas = 100, TargetOngoingRequests = target });
        Assert.InRange(c.DesiredReplicas(2 * target * 10, 10), 19, 21);
        Assert.InRange(c.DesiredReplicas(0.5 * target * 10, 10), 4, 6);
    }

    [Fact]
    public void Smoothing_factors_apply_per_direction()
    {
        Assert.InRange(Controller(new RayServeOptions { MinReplicas = 0, MaxReplicas = 100, TargetOngoingRequests = 1, SmoothingFactor = 0.5 }).DesiredReplicas(40, 10), 24, 26);
        Assert.InRange(Controller(new RayServeOptions { MinReplicas = 0, MaxReplicas = 100, TargetOngoingRequests = 1, SmoothingFactor = 0.5 }).DesiredReplicas(2.5, 10), 5, 8);
        Assert.InRange(Controller(new RayServeOptions { MinReplicas = 0, MaxReplicas = 100, TargetOngoingRequests = 1, UpscaleSmoothingFactor = 0.5 }).DesiredReplicas(40, 10), 24, 26);
        Assert.InRange(Controller(new RayServeOptions { MinReplicas = 0, MaxReplicas = 100, TargetOngoingRequests = 1, UpscaleSmoothingFactor = 0.5 }).DesiredReplicas(2.5, 10), 1, 4);
        Assert.InRange(Controller(new RayServeOptions { MinReplicas = 0, MaxReplicas = 100, TargetOngoingRequests = 1, DownscaleSmoothingFactor = 0.5 }).DesiredReplicas(40, 10), 39, 41);
        Assert.InRange(Controller(new RayServeOptions { MinReplicas = 0, MaxReplicas = 100, TargetOngoingRequests = 1, DownscaleSmoothingFactor = 0.5 }).DesiredReplicas(2.5, 10), 5, 8);
    }

    [Theory]
    [InlineData(2, 0.3, 0.5)]
    [InlineData(5, 0.4, 0.2)]
    [InlineData(10, 0.4, 0.1)]
    public void A_fractional_downscaling_factor_never_sticks(int replicas, double ratio, double factor)
    {
        var c = Controller(new RayServeOptions { MinReplicas = 0, MaxReplicas = 100, TargetOngoingRequests = 1, DownscaleSmoothingFactor = factor });
        Assert.Equal(replicas - 1, c.DesiredReplicas(ratio * replicas, replicas));
    }

    [Fact]
    public void Replicas_that_start_slowly_keep_the_target()
    {
        var c = Controller(new RayServeOptions { MinReplicas = 1, MaxReplicas = 200, TargetOngoingRequests = 1, UpscaleDelayS = OptionDuration.FromSeconds(0), DownscaleDelayS = OptionDuration.FromSeconds(100_000) });
        Assert.Equal(100, c.Decide(1, 100, 1, 1));
        Assert.Equal(100, c.Decide(100, 100, 1, 1));
        Assert.Equal(123, c.Decide(100, 100 + 20 + 3, 3, 1));
        Assert.Equal(123, c.Decide(123, 6 + 2 + 1 + 1, 4, 1));
    }

    [Theory]
    [InlineData(10.0, 10)]
    [InlineData(0.5, 1)]
    public void From_zero_the_upscaling_factor_sets_the_first_step(double factor, int expected)
    {
        var c = Controller(new RayServeOptions { MinReplicas = 0, MaxReplicas = 200, UpscalingFactor = factor });
        Assert.Equal(expected, c.Decide(0, 1, 0, 1));
    }

    [Fact]
    public void Scaling_to_zero_steps_through_one()
    {
        var c = Controller(new RayServeOptions { MinReplicas = 0, MaxReplicas = 5, DownscalingFactor = 10, UpscaleDelayS = OptionDuration.FromSeconds(0), DownscaleDelayS = OptionDuration.FromSeconds(0) });
        Assert.Equal(1, c.Decide(5, 0, 5, 1));
        Assert.Equal(0, c.Decide(1, 0, 1, 1));

        var slow = Controller(new RayServeOptions { MinReplicas = 0, MaxReplicas = 5, DownscalingFactor = 0.2, UpscaleDelayS = OptionDuration.FromSeconds(0), DownscaleDelayS = OptionDuration.FromSeconds(0) });
        var replicas = 5;
        for (var i = 0; i < 5; i++)
        {
            replicas = slow.Decide(replicas, 0, replicas, 1);
        }

        Assert.Equal(0, replicas);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(300.0)]
    public void Delays_count_control_loop_iterations_and_reset_on_a_change_of_direction(double? toZero)
    {
        var c = Controller(new RayServeOptions { MinReplicas = 0, MaxReplicas = 2, TargetOngoingRequests = 1, UpscaleDelayS = OptionDuration.FromSeconds(30), DownscaleDelayS = OptionDuration.FromSeconds(600), DownscaleToZeroDelayS = OptionDuration.FromSeconds(toZero) });
        const int up = 300, down = 6000;
        var downToZero = (int)((toZero ?? 600) / 0.1);

        Assert.Equal(1, c.Decide(0, 1, 0, 1));
        Assert.Equal(1, c.Decide(1, 100, 1, up)); // up periods of overload: not yet
        Assert.Equal(2, c.Decide(1, 100, 1, 1));
        Assert.Equal(2, c.Decide(2, 0, 2, down));
        Assert.Equal(1, c.Decide(2, 0, 2, 1)); // first down to one replica
        Assert.Equal(1, c.Decide(1, 0, 1, downToZero));
        Assert.Equal(0, c.Decide(1, 0, 1, 1));

        // Half the scale-up periods, interrupted: the count starts over.
        Assert.Equal(1, c.Decide(1, 100, 1, up / 2));
        c.Decide(1, 0, 1, 1);
        Assert.Equal(1, c.Decide(1, 100, 1, up));
        Assert.Equal(2, c.Decide(1, 100, 1, 1));
    }

    [Fact]
    public void Ten_loops_of_one_tick_equal_ten_single_loops()
    {
        var options = new RayServeOptions { MinReplicas = 0, MaxReplicas = 50, TargetOngoingRequests = 2, UpscaleDelayS = OptionDuration.FromSeconds(3), DownscaleDelayS = OptionDuration.FromSeconds(7), DownscaleToZeroDelayS = OptionDuration.FromSeconds(2) };
        var batched = Controller(options);
        var single = Controller(options);
        var rng = new Random(7);
        int a = 3, b = 3;
        for (var t = 0; t < 2000; t++)
        {
            var load = rng.Next(4) == 0 ? 0 : rng.Next(0, 120);
            var running = Math.Min(a, rng.Next(0, 4) + a / 2);
            a = batched.Decide(a, load, running, 10);
            for (var k = 0; k < 10; k++)
            {
                b = single.Decide(b, load, running, 1);
            }

            Assert.Equal(b, a);
        }
    }

    [Fact]
    public void The_policy_reports_metrics_averaged_over_the_look_back_period()
    {
        var start = Instant.FromUtc(2025, 6, 2, 0, 0);
        var policy = new RayServePolicy(new RayServeOptions { MinReplicas = 1, MaxReplicas = 10, TargetOngoingRequests = 2, UpscaleDelayS = OptionDuration.FromSeconds(0) });
        ScalingSignal S(int t, int ready, long queue) =>
            new(start + Duration.FromSeconds(t), Duration.FromSeconds(1), ready, 0, queue, 0, 30, Duration.FromSeconds(60)) { MaxReplicas = 100 };

        Assert.Equal(1, policy.Decide(S(0, 0, 0)).DesiredReplicas);
        for (var t = 1; t < 10; t++)
        {
            Assert.Equal(1, policy.Decide(S(t, 1, 12)).DesiredReplicas); // nothing reported before 10 s
        }

        // At 10 s the report is the mean of ten samples of 12 in flight: ceil(1 x 12 / 2) = 6, limited to max 10.
        Assert.Equal(6, policy.Decide(S(10, 1, 12)).DesiredReplicas);
    }
}
