using System.Globalization;

namespace Autoscale.Policies.Disaggregated;

/// <summary>
/// NVIDIA Dynamo's SLA planner, one pool at a time: its rules as <c>components/planner/src/dynamo/planner/utils/planner_core.py</c>
/// states them at commit b6f3161df3547ed550594150983d0385da611d48 of ai-dynamo/dynamo (Apache-2.0), with the pool's
/// serving profile in place of Dynamo's pre-deployment profiling (<see cref="ScalingSignal.Performance"/>).
/// </summary>
/// <remarks>
/// <para>Every adjustment interval, from the last interval's requests, mean input and output lengths and mean latencies:</para>
/// <para>Prefill pool: correction = observed mean TTFT / the profile's TTFT of a prompt of the mean length alone;
/// load = predicted requests x input length / interval x min(1, correction); replicas = ceil(load / (input length / that
/// TTFT / GPUs, the profile's prefill throughput per GPU) / GPUs per replica).</para>
/// <para>Decode pool: correction = observed mean inter-token latency / the profile's step time at the running requests per
/// replica and a context of input + output / 2; the ITL target divided by it; the profile's best decode throughput per GPU
/// whose step time meets that target; replicas = ceil(predicted requests x output length / interval / that throughput / GPUs
/// per replica).</para>
/// <para>Both at least minEndpoint. Dynamo's one planner shares the GPU budget between both pools from both needs; as a
/// policy per pool, the prefill pool keeps within the budget less minEndpoint decode replicas, and the decode pool takes
/// what the prefill pool's replicas leave. An interval without a first token (prefill) or a decoded token (decode) leaves
/// the pool as it is, as Dynamo's planner skips an adjustment whose metrics it cannot read.</para>
/// </remarks>
public sealed class DynamoSlaPolicy : IScalingPolicy, IPolicyDiagnostics
{
    private readonly DynamoSlaOptions _o;
    private readonly Queue<(double Requests, double Input, double Output)> _window = new();
    private double _correctionSum;
    private long _adjustments;

    /// <summary>Creates the policy; throws <see cref="InvalidOptionsException"/> for invalid options.</summary>
    public DynamoSlaPolicy(DynamoSlaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        OptionRules.ThrowIfInvalid(options);
        _o = options;
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The signal is not a disaggregated pool's, or has no serving profile.</exception>
    public ScalingDecision Decide(in ScalingSignal signal)
    {
        if (signal.Pool == ServingPool.Colocated)
        {
            throw new InvalidOperationException("dynamo-sla scales one pool of a disaggregated fleet: name it as policies.prefill or policies.decode");
        }

        var profile = signal.Performance ?? throw new InvalidOperationException("dynamo-sla needs a serving profile (replica.serving): it stands for Dynamo's pre-deployment profiling");
        var hold = Math.Min(Math.Max(_o.MinEndpoint, signal.CurrentReplicas), signal.MaxReplicas);
        var seconds = signal.Interval.TotalSeconds;
        if (signal.ArrivalsLastInterval <= 0 || seconds <= 0)
        {
            return new(hold, "no requests in the last interval: no adjustment");
        }

        // The last interval's load, and the next one's as predicted.
        var requests = (double)signal.ArrivalsLastInterval;
        var input = (double)signal.InputTokensLastInterval / requests;
        var output = (double)signal.OutputTokensLastInterval / requests;
        _window.Enqueue((requests, input, output));
        while (_window.Count > (_o.LoadPredictor == "constant" ? 1 : _o.LoadPredictionWindowSize))
        {
            _window.Dequeue();
        }

        var nextRequests = _window.Average(w => w.Requests);
        var nextInput = _window.Average(w => w.Input);
        var nextOutput = _window.Average(w => w.Output);
        var gpus = Math.Max(1, profile.Gpus);
        int wanted;
        string reason;
        if (signal.Pool == ServingPool.Prefill)
        {
            if (signal.TtftMeanLastInterval is not { } ttft)
            {
                return new(hold, "no first token in the last interval: no adjustment");
            }

            var expected = profile.PrefillSeconds(input);
            var correction = ttft.TotalSeconds / expected;
            Note(correction);
            var load = nextRequests * nextInput / seconds * Math.Min(1, correction);
            var perGpu = nextInput / profile.PrefillSeconds(nextInput) / gpus;
            wanted = Replicas(load / perGpu / gpus);
            var cap = _o.MaxGpuBudget > 0 ? Math.Max(_o.MinEndpoint, (_o.MaxGpuBudget - (_o.MinEndpoint * _o.DecodeEngineNumGpu)) / gpus) : int.MaxValue;
            var desired = Math.Min(Math.Min(Math.Max(_o.MinEndpoint, wanted), cap), signal.MaxReplicas);
            reason = string.Create(CultureInfo.InvariantCulture, $"prefill: {nextRequests:0.#} requests of {nextInput:0} tokens, TTFT correction {correction:0.###}, {perGpu:0} tokens/s a GPU: {desired}");
            return new(desired, reason);
        }

        if (signal.ItlMeanLastInterval is not { } itl)
        {
            return new(hold, "no decoded token in the last interval: no adjustment");
        }

        var context = input + (output / 2);
        var concurrency = signal.ReadyReplicas > 0 ? Math.Max(1, (double)signal.RunningRequests / signal.ReadyReplicas) : 1;
        var d = itl.TotalSeconds / profile.DecodeStepSeconds(concurrency, context);
        Note(d);
        var target = _o.ItlSeconds.TotalSeconds / d;
        var nextContext = nextInput + (nextOutput / 2);
        var throughput = BestThroughputPerGpu(profile, target, nextContext, gpus);
        wanted = Replicas(nextRequests * nextOutput / seconds / throughput / gpus);
        var left = _o.MaxGpuBudget > 0 ? Math.Max(_o.MinEndpoint, (_o.MaxGpuBudget - (signal.PrefillReplicas * _o.PrefillEngineNumGpu)) / gpus) : int.MaxValue;
        var decode = Math.Min(Math.Min(Math.Max(_o.MinEndpoint, wanted), left), signal.MaxReplicas);
        reason = string.Create(CultureInfo.InvariantCulture, $"decode: {nextRequests:0.#} requests of {nextOutput:0} tokens, ITL correction {d:0.###}, {throughput:0} tokens/s a GPU at ITL {target * 1e3:0.#} ms: {decode}");
        return new(decode, reason);
    }

    /// <summary>The most tokens a second per GPU a decode replica gives with a step no longer than <paramref name="itl"/> at <paramref name="context"/> (one sequence when none meets it).</summary>
    private static double BestThroughputPerGpu(ServingPerformance profile, double itl, double context, int gpus)
    {
        var most = profile.MaxConcurrency(context);
        var best = 1;
        for (var c = most; c >= 1; c--)
        {
            if (profile.DecodeStepSeconds(c, context) <= itl)
            {
                best = c;
                break;
            }
        }

        return best / profile.DecodeStepSeconds(best, context) / gpus;
    }

    private static int Replicas(double value) =>
        double.IsFinite(value) ? (int)Math.Min(int.MaxValue, Math.Ceiling(Math.Max(0, value) - 1e-9)) : int.MaxValue;

    private void Note(double correction)
    {
        if (double.IsFinite(correction))
        {
            _correctionSum += correction;
            _adjustments++;
        }
    }

    /// <inheritdoc />
    public void Report(IDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        metrics["dynamoSla.adjustments"] = _adjustments;
        metrics["dynamoSla.meanCorrection"] = _adjustments > 0 ? _correctionSum / _adjustments : 0;
    }
}
