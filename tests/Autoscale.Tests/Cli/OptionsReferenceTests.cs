using Autoscale.Cli.Reference;
using Autoscale.Policies.Catalog;

namespace Autoscale.Tests.Cli;

/// <summary>docs/options.md is generated from the options classes; it must never drift from the code.</summary>
public sealed class OptionsReferenceTests
{
    private static readonly string Committed = Path.Combine(TestPaths.Root, "docs", "options.md");

    [Fact]
    public void The_committed_reference_is_what_the_code_generates()
    {
        var generated = OptionsReference.Markdown(PolicyCatalog.CreateBuiltIn(), XmlDocs.Embedded);

        Assert.True(File.ReadAllText(Committed) == generated,
            "docs/options.md is stale: regenerate it with `dotnet run --project src/Autoscale.Cli -- policy list --options > docs/options.md`");
    }

    [Fact]
    public async Task Policy_list_options_prints_the_reference()
    {
        var (exit, output, _) = await CliRunner.RunAsync("policy", "list", "--options");

        Assert.Equal(0, exit);
        Assert.Equal(File.ReadAllText(Committed), output);
    }

    [Fact]
    public void Every_option_has_a_meaning_and_every_number_a_unit_or_none_by_design()
    {
        var rows = File.ReadAllLines(Committed).Where(l => l.StartsWith("| `", StringComparison.Ordinal)).ToList();

        Assert.True(rows.Count > 60, $"only {rows.Count} options in the reference");
        foreach (var row in rows)
        {
            var cells = row.Split(" | ");
            Assert.False(string.IsNullOrWhiteSpace(cells[^1].TrimEnd('|', ' ')), $"an option without a meaning: {row}");
        }
    }

    [Fact]
    public void A_changed_default_changes_the_reference()
    {
        var catalog = PolicyCatalog.CreateBuiltIn();
        var before = OptionsReference.Markdown(catalog, XmlDocs.Embedded);
        catalog.Add<ChangedTextbookOptions>("textbook", o => new Autoscale.Policies.Fixed.FixedPolicy(new() { Replicas = o.BaseReplicas }), "changed");

        var after = OptionsReference.Markdown(catalog, XmlDocs.Embedded);

        Assert.Contains("| `baseReplicas` | integer | replicas | 2 |", before, StringComparison.Ordinal);
        Assert.Contains("| `baseReplicas` | integer | replicas | 7 |", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Describe_prints_one_policy_and_refuses_an_unknown_one()
    {
        var (exit, output, _) = await CliRunner.RunAsync("policy", "describe", "warm-floor");
        Assert.Equal(0, exit);
        Assert.StartsWith("### warm-floor\n", output, StringComparison.Ordinal);
        Assert.Contains("`minReplicas` 2, `scaleDownStabilizationSeconds` 600", output, StringComparison.Ordinal);

        var bad = await CliRunner.RunAsync("policy", "describe", "warm-flor");
        Assert.Equal(2, bad.Exit);
        Assert.StartsWith("error: unknown policy \"warm-flor\"", bad.Err, StringComparison.Ordinal);
    }

    public sealed class ChangedTextbookOptions : IValidatableOptions
    {
        [Option(Unit = "replicas", Min = 0)]
        public int BaseReplicas { get; set; } = 7;

        public IReadOnlyList<string> Validate() => [];
    }
}
