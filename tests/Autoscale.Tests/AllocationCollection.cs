namespace Autoscale.Tests;

/// <summary>
/// The tests that count the bytes a replay allocates run alone, after the others, so that what they measure on their
/// thread is the replay's own work (a one-off 3,760 bytes was seen once under the whole suite's load, as the runtime
/// tiered hot code). The rare 36,000 bytes of the serving test were real: a Debug check summed the ready replicas with
/// LINQ, boxing the list's enumerator every tick, which tiered code's escape analysis usually took away; run with
/// DOTNET_TieredCompilation=0 it showed every time, and it is a loop now.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationCollection
{
    public const string Name = "allocation counts";
}
