using NodaTime;
using Autoscale.Backtesting.Engine;
using Autoscale.Backtesting.LoadTime;
using System.Text.Json;

namespace Autoscale.Config;





/// <summary>The <c>report</c> section: how reports show time.</summary>
internal sealed class ReportConfig : IValidatableOptions
{
    /// <summary>The IANA time zone the report's plots and tables show times in, e.g. <c>Europe/Berlin</c>.</summary>
    [Option]
    public string TimeZone { get; set; } = "UTC";

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() =>
        NodaTime.DateTimeZoneProviders.Tzdb.GetZoneOrNull(TimeZone) is null ? [$"timeZone (\"{TimeZone}\") must be an IANA time zone such as Europe/Berlin"] : [];
}

/// <summary>One entry of <c>candidates</c>: a policy with its options, on the load path of a load-time model.</summary>
internal sealed class CandidateConfig : IValidatableOptions
{
    /// <summary>The candidate's name, unique in the config; shown in every table and plot.</summary>
    [Option(Required = true)]
    public string? Name { get; set; }

    /// <summary>The policy: a built-in name (<c>autoscale policy list</c>) or a class of <c>--policy-file</c>, <c>--project</c> or <c>--assembly</c>. Required unless <c>policyFrom</c> is given.</summary>
    [Option]
    public string? Policy { get; set; }

    /// <summary>The manifest of an autoscaler you run today (a HorizontalPodAutoscaler, KEDA ScaledObject, Knative Service, Ray Serve config or RayService, in YAML or JSON), read as <c>autoscale policy import</c> reads it; relative to the config file. Alone it gives the policy and options; <c>options</c> beside it are laid over the manifest's settings (a key given replaces the manifest's, sections key by key, lists whole), so a complete set as <c>policy import</c> prints it replays as printed; the manifest is what <c>policy export</c> edits.</summary>
    [Option]
    public string? PolicyFrom { get; set; }

    /// <summary>With <c>policyFrom</c> naming a file of several documents: the autoscaler to replay, by its <c>metadata.name</c>.</summary>
    [Option]
    public string? Document { get; set; }

    /// <summary>With <c>policyFrom</c> naming a Ray Serve config of several autoscaled deployments: the one to replay, <c>APP/DEPLOYMENT</c>.</summary>
    [Option]
    public string? Deployment { get; set; }

    /// <summary>With <c>policyFrom</c>: the manifest's metric names to read as stand-in signals, <c>{"vllm_requests_in_flight": "inFlight"}</c>, as <c>--metric-map</c>.</summary>
    [Option]
    public Dictionary<string, string>? MetricMap { get; set; }

    /// <summary>The policy's options (each policy's are listed below).</summary>
    [Option]
    public JsonElement Options { get; set; }

    /// <summary>Options to sweep, beside <c>options</c>: <c>{"spares": [0, 2, 4]}</c> or <c>{"spares": {"from": 0, "to": 8, "step": 1}}</c>; one candidate per combination, named <c>NAME spares=3</c>.</summary>
    [Option]
    public JsonElement Sweep { get; set; }

    /// <summary>Options to tune with <c>autoscale tune</c>, beside <c>options</c>: per option path (<c>"behavior.scaleDown.stabilizationWindowSeconds"</c>, <c>"metrics[0].pods.target.averageValue"</c>) <c>{"from", "to", "step"}</c>, <c>{"from", "to", "log": true}</c> or <c>{"values": [...]}</c>. A backtest replays the candidate as written.</summary>
    [Option]
    public JsonElement Tune { get; set; }

    /// <summary>The load-time model of the candidate's load path: <c>{"fixedSeconds": 25}</c> or <c>{"model": "fixed" | "phased" | "empirical", ...}</c> (below).</summary>
    [Option(Required = true)]
    public JsonElement LoadTime { get; set; }

    /// <summary>The policy is asked every this many seconds (a whole number of ticks); the target stands in between, as the HPA syncs every 15 s. Default: the policy's own period where it has one (the hpa policy's syncPeriodSeconds), else every tick.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 86400)]
    public Duration? DecisionIntervalSeconds { get; set; }

    /// <summary>The signal shows the queue and arrivals of this many seconds earlier (a whole number of ticks, at most 1,048,576 of them), as scraped metrics lag.</summary>
    [Option(Unit = "s", Min = 0, Max = 3600)]
    public Duration? MetricsDelaySeconds { get; set; }

    /// <summary>The replica shape (a name in the config's <c>replicas</c>); default: the <c>replica</c> section.</summary>
    [Option]
    public string? Replica { get; set; }

    /// <summary>A cluster of the candidate's own, in place of the config's <c>cluster</c> (to compare capacity setups in one backtest).</summary>
    [Option]
    public ClusterConfig? Cluster { get; set; }

    /// <summary>On a disaggregated fleet (<c>replica.serving.disaggregation</c>): a policy per pool, <c>{"prefill": {"policy", "options", "loadTime"}, "decode": {...}}</c>, in place of <c>policy</c>; a pool without <c>loadTime</c>, <c>decisionIntervalSeconds</c> or <c>metricsDelaySeconds</c> takes the candidate's.</summary>
    [Option]
    public PoolPoliciesConfig? Policies { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(ClusterConfig))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(PoolPoliciesConfig))]
    public IReadOnlyList<string> Validate() =>
        (Policy, PolicyFrom) switch
        {
            _ when Policies is not null && (Policy ?? PolicyFrom) is not null => ["policies (one per pool) replaces policy and policyFrom: give one or the other"],
            _ when Policies is not null && Sweep.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null) => ["a candidate with policies cannot sweep yet: write one candidate per setting"],
            _ when Policies is not null && Tune.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null) => ["a candidate with policies cannot be tuned yet"],
            _ when Policies is not null => [],
            (null, null) => ["policy is required (a policy's name, or policyFrom: the manifest of an autoscaler you run)"],

            (not null, null) when MetricMap is not null => ["metricMap goes with policyFrom"],
            (not null, null) when Document is not null => ["document goes with policyFrom"],
            (not null, null) when Deployment is not null => ["deployment goes with policyFrom"],
            _ => [],
        };
}

/// <summary>A candidate's policies on a disaggregated fleet, one per pool.</summary>
internal sealed class PoolPoliciesConfig : IValidatableOptions
{
    /// <summary>The prefill pool's policy.</summary>
    [Option(Required = true)]
    public PoolPolicyConfig? Prefill { get; set; }

    /// <summary>The decode pool's policy (<c>pd-ratio</c> scales it from the prefill pool).</summary>
    [Option(Required = true)]
    public PoolPolicyConfig? Decode { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(PoolPolicyConfig))]
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>One pool's policy, options, load path and cadence.</summary>
internal sealed class PoolPolicyConfig : IValidatableOptions
{
    /// <summary>The pool's policy, as a candidate's <c>policy</c>.</summary>
    [Option(Required = true)]
    public string? Policy { get; set; }

    /// <summary>The policy's options.</summary>
    [Option]
    public JsonElement Options { get; set; }

    /// <summary>The load-time model of the pool's replicas; default: the candidate's.</summary>
    [Option]
    public JsonElement LoadTime { get; set; }

    /// <summary>The policy is asked every this many seconds; default: the candidate's.</summary>
    [Option(Unit = "s", Min = 0, MinExclusive = true, Max = 86400)]
    public Duration? DecisionIntervalSeconds { get; set; }

    /// <summary>The signal's lag; default: the candidate's.</summary>
    [Option(Unit = "s", Min = 0, Max = 3600)]
    public Duration? MetricsDelaySeconds { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>The shorthand load-time model <c>{"fixedSeconds": 25}</c>: every load takes the same time.</summary>
internal sealed class FixedSecondsLoadTimeConfig : IValidatableOptions
{
    /// <summary>Seconds from the start of a load until the replica serves.</summary>
    [Option(Unit = "s", Min = 0, Max = 604_800, Required = true)]
    public Duration? FixedSeconds { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}

/// <summary>The load-time model <c>{"model": "fixed", "seconds": 25}</c>.</summary>
internal sealed class FixedLoadTimeConfig : IValidatableOptions
{
    /// <summary><c>fixed</c>.</summary>
    [Option(Required = true)]
    public string? Model { get; set; }

    /// <summary>Seconds from the start of a load until the replica serves.</summary>
    [Option(Unit = "s", Min = 0, Max = 604_800, Required = true)]
    public Duration? Seconds { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => [];
}




/// <summary>The load-time model <c>{"model": "empirical", "file": ...}</c>: loads drawn from measured cold starts.</summary>
internal sealed class EmpiricalLoadTimeConfig : IValidatableOptions
{
    /// <summary><c>empirical</c>.</summary>
    [Option(Required = true)]
    public string? Model { get; set; }

    /// <summary>A CSV or Parquet file of measured load durations, relative to the config's folder.</summary>
    [Option(Required = true)]
    public string? File { get; set; }

    /// <summary>The column holding the durations, in seconds.</summary>
    [Option]
    public string Column { get; set; } = "seconds";

    /// <summary><c>none</c> draws the measurements themselves; <c>lognormal</c> draws from a log-normal fitted to them.</summary>
    [Option]
    public string Fit { get; set; } = "none";

    /// <inheritdoc />
    public IReadOnlyList<string> Validate() => Fit is "none" or "lognormal" ? [] : [$"fit (\"{Fit}\") must be \"none\" or \"lognormal\""];
}

/// <summary>A backtest config file: the sections every candidate shares, then the candidates.</summary>
internal sealed class BacktestConfig : IValidatableOptions
{
    /// <summary>The latency objective.</summary>
    [Option(Required = true)]
    public SloOptions? Slo { get; set; }

    /// <summary>What one replica serves and costs.</summary>
    [Option(Required = true)]
    public ReplicaOptions? Replica { get; set; }

    /// <summary>The replay's clock and limits.</summary>
    [Option]
    public EngineOptions? Engine { get; set; }

    /// <summary>How replica lifetimes are billed.</summary>
    [Option]
    public BillingOptions? Billing { get; set; }

    /// <summary>How reports show time.</summary>
    [Option]
    public ReportConfig? Report { get; set; }

    /// <summary>The nodes replicas run on; absent, replicas are billed and load at once.</summary>
    [Option]
    public ClusterConfig? Cluster { get; set; }

    /// <summary>Replica shapes by name (<c>{"h100x2": {"gpus": 2, "capacityRps": 60, "pool": "h100"}}</c>); a candidate names one with <c>replica</c>.</summary>
    [Option]
    public JsonElement Replicas { get; set; }

    /// <summary>The candidates, at least one.</summary>
    [Option(Required = true)]
    public List<CandidateConfig>? Candidates { get; set; }

    /// <inheritdoc />
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(SloOptions))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(ReplicaOptions))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(EngineOptions))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(BillingOptions))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(ReportConfig))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(CandidateConfig))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(ClusterConfig))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(MixedPlacementConfig))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(OptionRules.Members, typeof(ReplicaShapeConfig))]
    public IReadOnlyList<string> Validate()
    {
        if (Candidates is [])
        {
            return ["candidates must list at least one candidate"];
        }

        if (Replica?.Serving is null && Slo is { } slo)
        {
            if (slo.MaxWaitSeconds is null)
            {
                return ["slo.maxWaitSeconds is required (maxTtftSeconds, maxTpotSeconds and maxE2eSeconds need a serving profile, replica.serving)"];
            }

            var serving = slo.MaxTtftSeconds is not null ? "maxTtftSeconds" : slo.MaxTpotSeconds is not null ? "maxTpotSeconds" : slo.MaxE2eSeconds is not null ? "maxE2eSeconds" : null;
            if (serving is not null)
            {
                return [$"slo.{serving} needs a serving profile (replica.serving) to judge tokens by"];
            }
        }

        return [];
    }
}
