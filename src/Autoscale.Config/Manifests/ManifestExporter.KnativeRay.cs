using Autoscale.Policies.Common;
using System.Text.Json.Nodes;
using Autoscale.Policies.Knative;
using Autoscale.Policies.RayServe;

namespace Autoscale.Config.Manifests;

/// <summary>Knative Services and Ray Serve configs written from a candidate's options.</summary>
public static partial class ManifestExporter
{
    private static JsonObject KnativeManifest(string name, KnativeOptions o, List<string>? notes = null, bool all = false)
    {
        var d = new KnativeOptions();
        var annotations = new JsonObject { ["autoscaling.knative.dev/class"] = "kpa.autoscaling.knative.dev", ["autoscaling.knative.dev/metric"] = o.Metric };
        void Put(string key, double value, double fallback, string? unit = null)
        {
            if (value != fallback || all)
            {
                annotations["autoscaling.knative.dev/" + key] = Format(value) + unit;
            }
        }

        if (o.Target is { } target)
        {
            annotations["autoscaling.knative.dev/target"] = Format(target);
        }

        if (o.MetricAggregationAlgorithm != d.MetricAggregationAlgorithm || all)
        {
            annotations["autoscaling.knative.dev/metric-aggregation-algorithm"] = o.MetricAggregationAlgorithm;
        }

        Put("target-utilization-percentage", o.TargetUtilizationPercentage, d.TargetUtilizationPercentage);
        Put("window", o.StableWindow.TotalSeconds, d.StableWindow.TotalSeconds, "s");
        Put("panic-window-percentage", o.PanicWindowPercentage, d.PanicWindowPercentage);
        Put("panic-threshold-percentage", o.PanicThresholdPercentage, d.PanicThresholdPercentage);
        Put("min-scale", o.MinScale, d.MinScale);
        Put("max-scale", o.MaxScale, d.MaxScale);
        Put("initial-scale", o.InitialScale, d.InitialScale);
        Put("scale-down-delay", o.ScaleDownDelay.TotalSeconds, d.ScaleDownDelay.TotalSeconds, "s");
        Put("target-burst-capacity", o.TargetBurstCapacity, d.TargetBurstCapacity);
        Put("activation-scale", o.ActivationScale, d.ActivationScale);
        Put("scale-to-zero-pod-retention-period", o.ScaleToZeroPodRetentionPeriod.TotalSeconds, d.ScaleToZeroPodRetentionPeriod.TotalSeconds, "s");
        if (o.MaxScaleUpRate != d.MaxScaleUpRate || o.MaxScaleDownRate != d.MaxScaleDownRate || o.ScaleToZeroGracePeriod != d.ScaleToZeroGracePeriod || !o.EnableScaleToZero)
        {
            notes?.Add("rates, the grace period and enable-scale-to-zero are cluster settings (config-autoscaler), not annotations");
        }

        return new JsonObject
        {
            ["apiVersion"] = "serving.knative.dev/v1",
            ["kind"] = "Service",
            ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = new JsonObject
            {
                ["template"] = new JsonObject
                {
                    ["metadata"] = new JsonObject { ["annotations"] = annotations },
                    ["spec"] = new JsonObject
                    {
                        ["containerConcurrency"] = o.ContainerConcurrency,
                        ["containers"] = new JsonArray(new JsonObject { ["image"] = "REPLACE-WITH-YOUR-IMAGE" }),
                    },
                },
            },
        };
    }

    private static JsonObject RayServeConfig(string name, RayServeOptions o, List<string>? notes = null, bool all = false)
    {
        var d = new RayServeOptions();
        var config = new JsonObject { ["min_replicas"] = o.MinReplicas, ["max_replicas"] = o.MaxReplicas };
        void Put(string key, double? value, double? fallback)
        {
            if (value is { } v && (value != fallback || all))
            {
                config[key] = v;
            }
        }

        Put("initial_replicas", o.InitialReplicas, null);
        Put("target_ongoing_requests", o.TargetOngoingRequests, d.TargetOngoingRequests);
        Put("metrics_interval_s", o.MetricsIntervalS.TotalSeconds, d.MetricsIntervalS.TotalSeconds);
        Put("look_back_period_s", o.LookBackPeriodS.TotalSeconds, d.LookBackPeriodS.TotalSeconds);
        if (o.AggregationFunction != d.AggregationFunction || all)
        {
            config["aggregation_function"] = o.AggregationFunction;
        }

        Put("smoothing_factor", o.SmoothingFactor, d.SmoothingFactor);
        Put("upscale_smoothing_factor", o.UpscaleSmoothingFactor, null);
        Put("downscale_smoothing_factor", o.DownscaleSmoothingFactor, null);
        Put("upscaling_factor", o.UpscalingFactor, null);
        Put("downscaling_factor", o.DownscalingFactor, null);
        Put("upscale_delay_s", o.UpscaleDelayS.TotalSeconds, d.UpscaleDelayS.TotalSeconds);
        Put("downscale_delay_s", o.DownscaleDelayS.TotalSeconds, d.DownscaleDelayS.TotalSeconds);
        Put("downscale_to_zero_delay_s", OptionDuration.Seconds(o.DownscaleToZeroDelayS), null);
        if (o.ControlLoopIntervalS.TotalSeconds != d.ControlLoopIntervalS.TotalSeconds)
        {
            notes?.Add($"the control loop period is the controller's RAY_SERVE_CONTROL_LOOP_INTERVAL_S={Format(o.ControlLoopIntervalS.TotalSeconds)}");
        }

        var deployment = new JsonObject { ["name"] = name, ["max_ongoing_requests"] = o.MaxOngoingRequests, ["autoscaling_config"] = config };
        return new JsonObject
        {
            ["applications"] = new JsonArray(new JsonObject
            {
                ["name"] = name,
                ["import_path"] = "REPLACE.WITH:app",
                ["deployments"] = new JsonArray(deployment),
            }),
        };
    }
}
