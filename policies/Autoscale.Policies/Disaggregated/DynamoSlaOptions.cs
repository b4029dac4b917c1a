using NodaTime;

namespace Autoscale.Policies.Disaggregated;

/// <summary>
/// Options of <see cref="DynamoSlaPolicy"/>: the arguments of NVIDIA Dynamo's SLA planner (<c>planner_sla.py</c>),
/// with its defaults (<c>defaults.py</c>, <c>SLAPlannerDefaults</c>).
/// </summary>
public sealed class DynamoSlaOptions : IValidatableOptions, IHasDecisionPeriod
{
    /// <summary>The time-to-first-token target (Dynamo's <c>--ttft</c>).</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 3600)]
    public Duration TtftSeconds { get; set; } = Duration.FromMilliseconds(500);

    /// <summary>The inter-token latency target (Dynamo's <c>--itl</c>).</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 60)]
    public Duration ItlSeconds { get; set; } = Duration.FromMilliseconds(50);

    /// <summary>Seconds between adjustments (Dynamo's <c>--adjustment-interval</c>): the policy's decision interval unless the candidate gives one.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 86_400)]
    public Duration AdjustmentIntervalSeconds { get; set; } = Duration.FromSeconds(180);

    /// <summary>The fewest replicas of either pool (Dynamo's <c>--min-endpoint</c>).</summary>
    [Option(Unit = "replicas", Min = 0)]
    public int MinEndpoint { get; set; } = 1;

    /// <summary>The most GPUs of both pools together (Dynamo's <c>--max-gpu-budget</c>); 0 for no budget.</summary>
    [Option(Unit = "GPUs", Min = 0)]
    public int MaxGpuBudget { get; set; } = 8;

    /// <summary>GPUs of a prefill replica, which the decode pool's budget leaves to the prefill pool (Dynamo's <c>--prefill-engine-num-gpu</c>); the prefill pool reads its own from the profile.</summary>
    [Option(Unit = "GPUs", Min = 1)]
    public int PrefillEngineNumGpu { get; set; } = 1;

    /// <summary>GPUs of a decode replica, which the prefill pool's budget leaves to the decode pool (Dynamo's <c>--decode-engine-num-gpu</c>); the decode pool reads its own from the profile.</summary>
    [Option(Unit = "GPUs", Min = 1)]
    public int DecodeEngineNumGpu { get; set; } = 1;

    /// <summary>How the next interval's load is predicted: <c>constant</c> (the last interval's, Dynamo's ConstantPredictor) or <c>moving-average</c> (the mean of the last <see cref="LoadPredictionWindowSize"/> intervals).</summary>
    [Option]
    public string LoadPredictor { get; set; } = "constant";

    /// <summary>Intervals the moving-average predictor averages (Dynamo's <c>--load-prediction-window-size</c>).</summary>
    [Option(Unit = "intervals", Min = 1, Max = 10_000)]
    public int LoadPredictionWindowSize { get; set; } = 50;

    /// <inheritdoc />
    Duration IHasDecisionPeriod.DecisionPeriod => AdjustmentIntervalSeconds;

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() =>
        LoadPredictor is "constant" or "moving-average" ? [] : [$"loadPredictor (\"{LoadPredictor}\") must be \"constant\" or \"moving-average\" (Dynamo's ARIMA and Prophet predictors are not modelled)"];
}
