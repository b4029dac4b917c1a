using NodaTime;

namespace Autoscale.Policies.Hpa;

/// <summary>A past recommendation of the metrics, before stabilization.</summary>
internal record struct HpaRecommendation(int Replicas, Instant At);

/// <summary>A scale the controller made: how many replicas it added (or removed), when, and whether it has aged out.</summary>
internal record struct HpaScaleEvent(int Change, Instant At, bool Outdated = false);

/// <summary>The direction rules with every default filled in, as the API server and the controller fill them.</summary>
internal sealed record HpaRules(int StabilizationWindowSeconds, string SelectPolicy, IReadOnlyList<HpaScalingPolicy> Policies, double Tolerance)
{
    private static readonly HpaScalingPolicy[] DefaultUp =
    [
        new() { Type = "Pods", Value = 4, PeriodSeconds = 15 },
        new() { Type = "Percent", Value = 100, PeriodSeconds = 15 },
    ];

    private static readonly HpaScalingPolicy[] DefaultDown = [new() { Type = "Percent", Value = 100, PeriodSeconds = 15 }];

    /// <summary>Scale-up rules: window 0, Max, +4 pods or +100 % per 15 s.</summary>
    public static HpaRules Up(HpaScalingRules? given, double tolerance) =>
        new(given?.StabilizationWindowSeconds ?? 0, given?.SelectPolicy ?? "Max", given?.Policies ?? (IReadOnlyList<HpaScalingPolicy>)DefaultUp, given?.Tolerance ?? tolerance);

    /// <summary>Scale-down rules: the controller's window (its flag), Max, -100 % per 15 s.</summary>
    public static HpaRules Down(HpaScalingRules? given, int controllerWindowSeconds, double tolerance) =>
        new(given?.StabilizationWindowSeconds ?? controllerWindowSeconds, given?.SelectPolicy ?? "Max", given?.Policies ?? (IReadOnlyList<HpaScalingPolicy>)DefaultDown, given?.Tolerance ?? tolerance);

    public int LongestPeriodSeconds { get; } = Policies.Count == 0 ? 0 : Policies.Max(p => p.PeriodSeconds);
}

/// <summary>
/// The HorizontalPodAutoscaler controller's normalization, step for step as kubernetes/kubernetes
/// pkg/controller/podautoscaler/horizontal.go (v1.33) does it for one HPA: the recommendation log and its
/// stabilization, the scale events and the rate limits of the behavior, and the older fixed rules when the HPA has no
/// behavior. Times are the replay's instants (the controller's <c>time.Now()</c>).
/// </summary>
internal sealed class HpaController
{
    /// <summary>Without a behavior, one sync may scale up to at most this many times the current replicas...</summary>
    internal const double ScaleUpLimitFactor = 2.0;

    /// <summary>...or this many replicas, whichever is larger.</summary>
    internal const double ScaleUpLimitMinimum = 4.0;

    private readonly List<HpaRecommendation> _recommendations = [];
    private readonly List<HpaScaleEvent> _scaleUpEvents = [];
    private readonly List<HpaScaleEvent> _scaleDownEvents = [];
    private readonly Duration _downscaleStabilisationWindow;

    public HpaController(Duration downscaleStabilisationWindow)
    {
        _downscaleStabilisationWindow = downscaleStabilisationWindow;
    }

    internal List<HpaRecommendation> Recommendations => _recommendations;

    internal List<HpaScaleEvent> ScaleUpEvents => _scaleUpEvents;

    internal List<HpaScaleEvent> ScaleDownEvents => _scaleDownEvents;

    /// <summary>The first reconcile records the current count as a recommendation (recordInitialRecommendation).</summary>
    public void RecordInitialRecommendation(int currentReplicas, Instant now)
    {
        // The log is never emptied (old entries are reused), so an empty log means the first reconcile.
        if (_recommendations.Count == 0)
        {
            _recommendations.Add(new HpaRecommendation(currentReplicas, now));
        }
    }

    /// <summary>Without a behavior: the largest recommendation of the downscale window, then at most max(2 x current, 4), within min and max.</summary>
    public (int Replicas, string Reason) NormalizeDesiredReplicas(int currentReplicas, int prenormalized, int minReplicas, int maxReplicas, Instant now)
    {
        var stabilized = StabilizeRecommendation(prenormalized, now);
        var (replicas, condition) = ConvertDesiredReplicasWithRules(currentReplicas, stabilized, minReplicas, maxReplicas);
        return (replicas, replicas != stabilized ? condition : stabilized != prenormalized ? "ScaleDownStabilized" : condition);
    }

    /// <summary>The older rule: the maximum of the recommendations not older than the downscale window; the last old one is reused.</summary>
    internal int StabilizeRecommendation(int prenormalized, Instant now)
    {
        var maxRecommendation = prenormalized;
        var foundOld = false;
        var oldIndex = 0;
        var cutoff = now - _downscaleStabilisationWindow;
        for (var i = 0; i < _recommendations.Count; i++)
        {
            var rec = _recommendations[i];
            if (rec.At < cutoff)
            {
                foundOld = true;
                oldIndex = i;
            }
            else if (rec.Replicas > maxRecommendation)
            {
                maxRecommendation = rec.Replicas;
            }
        }

        Record(foundOld, oldIndex, new HpaRecommendation(prenormalized, now));
        return maxRecommendation;
    }

    internal static (int Replicas, string Condition) ConvertDesiredReplicasWithRules(int currentReplicas, int desired, int minReplicas, int maxReplicas)
    {
        var scaleUpLimit = (int)Math.Max(ScaleUpLimitFactor * currentReplicas, ScaleUpLimitMinimum);
        var (maximumAllowed, condition) = maxReplicas > scaleUpLimit ? (scaleUpLimit, "ScaleUpLimit") : (maxReplicas, "TooManyReplicas");
        if (desired < minReplicas)
        {
            return (minReplicas, "TooFewReplicas");
        }

        return desired > maximumAllowed ? (maximumAllowed, condition) : (desired, "DesiredWithinRange");
    }

    /// <summary>With a behavior: stabilize between the up and down windows, then apply the rate limits and min/max.</summary>
    public (int Replicas, string Reason) NormalizeDesiredReplicasWithBehaviors(int currentReplicas, int prenormalized, int minReplicas, int maxReplicas, HpaRules up, HpaRules down, Instant now)
    {
        var stabilized = StabilizeRecommendationWithBehaviors(currentReplicas, prenormalized, up, down, now);
        var (replicas, condition) = ConvertDesiredReplicasWithBehaviorRate(currentReplicas, stabilized, minReplicas, maxReplicas, up, down, now);
        if (replicas == stabilized && stabilized != prenormalized)
        {
            condition = prenormalized >= currentReplicas ? "ScaleUpStabilized" : "ScaleDownStabilized";
        }

        return (replicas, condition);
    }

    /// <summary>
    /// Bounds the current count by the smallest recommendation of the scale-up window and the largest of the scale-down
    /// window, and records this recommendation (in place of the last one older than both windows).
    /// </summary>
    internal int StabilizeRecommendationWithBehaviors(int currentReplicas, int desired, HpaRules up, HpaRules down, Instant now)
    {
        var foundOld = false;
        var oldIndex = 0;
        var upRecommendation = desired;
        var upCutoff = now - Duration.FromSeconds(up.StabilizationWindowSeconds);
        var downRecommendation = desired;
        var downCutoff = now - Duration.FromSeconds(down.StabilizationWindowSeconds);
        for (var i = 0; i < _recommendations.Count; i++)
        {
            var rec = _recommendations[i];
            if (rec.At > upCutoff)
            {
                upRecommendation = Math.Min(rec.Replicas, upRecommendation);
            }

            if (rec.At > downCutoff)
            {
                downRecommendation = Math.Max(rec.Replicas, downRecommendation);
            }

            if (rec.At < upCutoff && rec.At < downCutoff)
            {
                foundOld = true;
                oldIndex = i;
            }
        }

        var recommendation = currentReplicas;
        if (recommendation < upRecommendation)
        {
            recommendation = upRecommendation;
        }

        if (recommendation > downRecommendation)
        {
            recommendation = downRecommendation;
        }

        Record(foundOld, oldIndex, new HpaRecommendation(desired, now));
        return recommendation;
    }

    internal (int Replicas, string Condition) ConvertDesiredReplicasWithBehaviorRate(int currentReplicas, int desired, int minReplicas, int maxReplicas, HpaRules up, HpaRules down, Instant now)
    {
        if (desired > currentReplicas)
        {
            var scaleUpLimit = Math.Max(ScaleUpLimit(currentReplicas, up, now), currentReplicas);
            var (maximumAllowed, reason) = maxReplicas > scaleUpLimit ? (scaleUpLimit, "ScaleUpLimit") : (maxReplicas, "TooManyReplicas");
            if (desired > maximumAllowed)
            {
                return (maximumAllowed, reason);
            }
        }
        else if (desired < currentReplicas)
        {
            var scaleDownLimit = Math.Min(ScaleDownLimit(currentReplicas, down, now), currentReplicas);
            var (minimumAllowed, reason) = minReplicas < scaleDownLimit ? (scaleDownLimit, "ScaleDownLimit") : (minReplicas, "TooFewReplicas");
            if (desired < minimumAllowed)
            {
                return (minimumAllowed, reason);
            }
        }

        return (desired, "DesiredWithinRange");
    }

    /// <summary>The most replicas the scale-up policies allow now (calculateScaleUpLimitWithScalingRules).</summary>
    internal int ScaleUpLimit(int currentReplicas, HpaRules rules, Instant now)
    {
        if (rules.SelectPolicy == "Disabled")
        {
            return currentReplicas;
        }

        var min = rules.SelectPolicy == "Min";
        long result = min ? int.MaxValue : int.MinValue;
        for (var p = 0; p < rules.Policies.Count; p++)
        {
            var policy = rules.Policies[p];
            var periodStart = PeriodStartReplicas(currentReplicas, policy, now);
            long proposed = policy.Type == "Pods"
                ? periodStart + policy.Value
                : (long)Math.Ceiling(periodStart * (1 + policy.Value / 100.0));
            result = min ? Math.Min(result, proposed) : Math.Max(result, proposed);
        }

        return (int)Math.Clamp(result, int.MinValue, int.MaxValue);
    }

    /// <summary>The fewest replicas the scale-down policies allow now (calculateScaleDownLimitWithBehaviors).</summary>
    internal int ScaleDownLimit(int currentReplicas, HpaRules rules, Instant now)
    {
        if (rules.SelectPolicy == "Disabled")
        {
            return currentReplicas;
        }

        var min = rules.SelectPolicy == "Min";
        long result = min ? int.MinValue : int.MaxValue;
        for (var p = 0; p < rules.Policies.Count; p++)
        {
            var policy = rules.Policies[p];
            var periodStart = PeriodStartReplicas(currentReplicas, policy, now);
            long proposed = policy.Type == "Pods"
                ? periodStart - policy.Value
                : (long)(periodStart * (1 - policy.Value / 100.0));
            result = min ? Math.Max(result, proposed) : Math.Min(result, proposed);
        }

        return (int)Math.Clamp(result, int.MinValue, int.MaxValue);
    }

    /// <summary>The replicas at the start of the policy's period: the current count less what was added, plus what was removed, since.</summary>
    private long PeriodStartReplicas(int currentReplicas, HpaScalingPolicy policy, Instant now) =>
        (long)currentReplicas - ChangeInPeriod(policy.PeriodSeconds, _scaleUpEvents, now) + ChangeInPeriod(policy.PeriodSeconds, _scaleDownEvents, now);

    /// <summary>The replicas changed by the events after <c>now - period</c> (getReplicasChangePerPeriod).</summary>
    internal static long ChangeInPeriod(int periodSeconds, List<HpaScaleEvent> events, Instant now)
    {
        var cutoff = now - Duration.FromSeconds(periodSeconds);
        long replicas = 0;
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i].At > cutoff)
            {
                replicas += events[i].Change;
            }
        }

        return replicas;
    }

    /// <summary>Stores a scale the controller made, reusing the slot of an event older than the direction's longest period (storeScaleEvent).</summary>
    public void StoreScaleEvent(bool hasBehavior, HpaRules up, HpaRules down, int previous, int next, Instant now)
    {
        if (!hasBehavior)
        {
            return;
        }

        var (events, longest, change) = next > previous ? (_scaleUpEvents, up.LongestPeriodSeconds, next - previous) : (_scaleDownEvents, down.LongestPeriodSeconds, previous - next);
        var cutoff = now - Duration.FromSeconds(longest);
        var foundOld = false;
        var oldIndex = 0;
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i].At < cutoff)
            {
                events[i] = events[i] with { Outdated = true };
            }

            if (events[i].Outdated)
            {
                foundOld = true;
                oldIndex = i;
            }
        }

        var added = new HpaScaleEvent(change, now);
        if (foundOld)
        {
            events[oldIndex] = added;
        }
        else
        {
            events.Add(added);
        }
    }

    private void Record(bool foundOld, int oldIndex, HpaRecommendation recommendation)
    {
        if (foundOld)
        {
            _recommendations[oldIndex] = recommendation;
        }
        else
        {
            _recommendations.Add(recommendation);
        }
    }
}
