using System.Text.Json.Nodes;
using Autoscale.Tests.Hostile.Fuzz;
using Xunit;

namespace Autoscale.Tests.Policies;

/// <summary>The built command as the manifest tests run it, and its JSON output once it succeeded.</summary>
internal static class ManifestCli
{
    public static Task<FuzzRun> Cli(params string[] args) => FuzzCli.RunAsync(args);

    public static JsonObject Json(FuzzRun run)
    {
        Assert.True(run.Exit == 0, run.Err);
        return JsonNode.Parse(run.Out)!.AsObject();
    }
}
