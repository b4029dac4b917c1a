using Autoscale.Config;
using Autoscale.Config.Manifests;
using Autoscale.Policies.Catalog;
using Xunit;

namespace Autoscale.Tests.Policies.Knative;

/// <summary>
/// Knative's own annotation validation cases, ported: knative/serving pkg/apis/autoscaling/annotation_validation_test.go
/// (TestValidateAnnotations; Apache-2.0, The Knative Authors; the mirror's HEAD 98e5ef90aa). Each annotation set, on a
/// Knative Service, imports where Knative accepts it and is refused in one line naming the annotation where Knative
/// refuses it. Cases that depend on a cluster's own settings (MaxScaleLimit, allow-zero-initial-scale) and classes of
/// other autoscalers (which Knative accepts and we cannot replay) are left out.
/// </summary>
public sealed class KnativeAnnotationTests
{
    private static readonly PolicyCatalog Catalog = PolicyCatalog.CreateBuiltIn();

    private static string Service(params string[] annotations) => $$"""
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata: { name: svc }
        spec:
          template:
            metadata:
              annotations:
        {{string.Concat(annotations.Select(a => $"        autoscaling.knative.dev/{a}\n"))}}    spec: { containers: [ { image: x } ] }
        """;

    [Theory]
    [InlineData("minScale is 0", "minScale: \"0\"")]
    [InlineData("maxScale is 0", "maxScale: \"0\"")]
    [InlineData("minScale is 5", "minScale: \"5\"")]
    [InlineData("maxScale is 2", "maxScale: \"2\"")]
    [InlineData("minScale is 2, maxScale is 5", "minScale: \"2\"", "maxScale: \"5\"")]
    [InlineData("minScale is 0, maxScale is 0", "minScale: \"0\"", "maxScale: \"0\"")]
    [InlineData("min-scale, activation-scale, max-scale all set appropriately", "min-scale: \"1\"", "activation-scale: \"2\"", "max-scale: \"3\"")]
    [InlineData("valid algorithm on KPA", "metric-aggregation-algorithm: weighted-exponential")]
    [InlineData("panic window percentage good", "panic-threshold-percentage: \"210\"")]
    [InlineData("target okay", "target: \"11\"")]
    [InlineData("TBC 0", "target-burst-capacity: \"0\"")]
    [InlineData("TBC 19880709", "target-burst-capacity: \"19870709\"")]
    [InlineData("TBC -1", "target-burst-capacity: \"-1\"")]
    [InlineData("annotation /window is valid for class KPA", "window: 7s", "class: kpa.autoscaling.knative.dev")]
    [InlineData("valid 0 last pod scaledown timeout", "scale-to-zero-pod-retention-period: \"0\"")]
    [InlineData("valid positive last pod scaledown timeout", "scale-to-zero-pod-retention-period: 21m31s")]
    [InlineData("valid 0 scale down delay", "scale-down-delay: \"0\"")]
    [InlineData("valid positive scale down delay", "scale-down-delay: 21m31s")]
    [InlineData("all together now, succeed", "panic-threshold-percentage: \"125\"", "panic-window-percentage: \"75\"", "min-scale: \"5\"", "max-scale: \"8\"", "window: 1984s")]
    [InlineData("valid class KPA with metric RPS", "metric: rps")]
    [InlineData("valid class KPA with metric Concurrency", "metric: concurrency")]
    [InlineData("initial scale is greater than 0", "initial-scale: \"2\"")]
    public void Knative_accepts_and_so_do_we(string name, params string[] annotations)
    {
        var candidate = ManifestImporter.Import("svc.yaml", Service(annotations), new Dictionary<string, string>(), Catalog);

        Assert.True(candidate["policy"]!.ToString() == "knative", name);
    }

    [Theory]
    [InlineData("invalid class", "class", "class: unsupported.knative.dev")]
    [InlineData("minScale is -1", "minScale", "minScale: \"-1\"")]
    [InlineData("maxScale is huuuuuuuge", "maxScale", "maxScale: \"2147483648\"")]
    [InlineData("maxScale is -1", "maxScale", "maxScale: \"-1\"")]
    [InlineData("minScale is foo", "minScale", "minScale: foo")]
    [InlineData("maxScale is bar", "maxScale", "maxScale: bar")]
    [InlineData("minScale is 5, maxScale is 2", "maxScale", "minScale: \"5\"", "maxScale: \"2\"")]
    [InlineData("min-scale is greater than activation-scale", "activation-scale", "min-scale: \"3\"", "activation-scale: \"2\"")]
    [InlineData("max-scale is less than activation-scale", "activation-scale", "max-scale: \"1\"", "activation-scale: \"2\"")]
    [InlineData("random algorithm on KPA", "metric-aggregation-algorithm", "metric-aggregation-algorithm: random-selection")]
    [InlineData("panic window percentage bad", "panic-window-percentage", "panic-window-percentage: \"-1\"")]
    [InlineData("panic window percentage bad2", "panic-window-percentage", "panic-window-percentage: \"202\"")]
    [InlineData("panic window percentage bad3", "panic-window-percentage", "panic-window-percentage: fifty")]
    [InlineData("panic threshold percentage bad2", "panic-threshold-percentage", "panic-threshold-percentage: \"109\"")]
    [InlineData("panic threshold percentage bad2.5", "panic-threshold-percentage", "panic-threshold-percentage: \"10009\"")]
    [InlineData("panic threshold percentage bad3", "panic-threshold-percentage", "panic-threshold-percentage: fifty")]
    [InlineData("target negative", "target", "target: \"-11\"")]
    [InlineData("target 0", "target", "target: \"0\"")]
    [InlineData("invalid target", "target", "target: \"100}\"")]
    [InlineData("TBC negative", "target-burst-capacity", "target-burst-capacity: \"-11\"")]
    [InlineData("TBC invalid", "target-burst-capacity", "target-burst-capacity: qarashen")]
    [InlineData("TU too small", "target-utilization-percentage", "target-utilization-percentage: \"0\"")]
    [InlineData("TU too big", "target-utilization-percentage", "target-utilization-percentage: \"101\"")]
    [InlineData("TU invalid", "target-utilization-percentage", "target-utilization-percentage: dghyak")]
    [InlineData("window invalid", "window", "window: jerry-was-a-racecar-driver")]
    [InlineData("window too short", "window", "window: 1s")]
    [InlineData("window too long", "window", "window: 365h")]
    [InlineData("window too precise", "window", "window: 1m9s82ms")]
    [InlineData("invalid positive last pod scaledown timeout", "scale-to-zero-pod-retention-period", "scale-to-zero-pod-retention-period: 311m")]
    [InlineData("invalid negative last pod scaledown timeout", "scale-to-zero-pod-retention-period", "scale-to-zero-pod-retention-period: -42s")]
    [InlineData("invalid last pod scaledown timeout", "scale-to-zero-pod-retention-period", "scale-to-zero-pod-retention-period: twenty-two-minutes-and-five-seconds")]
    [InlineData("invalid positive scale down delay", "scale-down-delay", "scale-down-delay: 311m")]
    [InlineData("invalid positive scale down delay - too precise", "scale-down-delay", "scale-down-delay: 42.5s")]
    [InlineData("invalid negative scale down delay", "scale-down-delay", "scale-down-delay: -42s")]
    [InlineData("invalid scale down delay", "scale-down-delay", "scale-down-delay: twenty-two-minutes-and-five-seconds")]
    [InlineData("invalid metric for default class(KPA)", "metric", "metric: cpu")]
    [InlineData("initial scale is less than 0", "initial-scale", "initial-scale: \"-1\"")]
    [InlineData("initial scale non-parseable", "initial-scale", "initial-scale: invalid")]
    public void Knative_refuses_and_so_do_we_naming_the_annotation(string name, string named, params string[] annotations)
    {
        var e = Assert.Throws<ConfigException>(() => ManifestImporter.Import("svc.yaml", Service(annotations), new Dictionary<string, string>(), Catalog));

        Assert.True(e.Message.Contains(named, StringComparison.Ordinal), $"{name}: {e.Message}");
        Assert.DoesNotContain('\n', e.Message);
    }
}
