namespace Autoscale.Tests.Builds;

/// <summary>
/// Tests that build what users build (the native executable, the .NET tool, the notebooks' library) and run the
/// README: one after another, so their builds never race each other.
/// </summary>
[CollectionDefinition(Name)]
public sealed class BuildCollection
{
    public const string Name = "the builds users make";
}
