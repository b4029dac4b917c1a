using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Autoscale.Tests.Builds;

/// <summary>docs/architecture.md is the truth for the projects and their references: the table and the .csproj files agree.</summary>
public sealed class ArchitectureTests
{
    private static Dictionary<string, string[]> Documented()
    {
        var rows = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(Path.Combine(TestPaths.Root, "docs", "architecture.md")))
        {
            var match = Regex.Match(line, @"^\| `((?:src|policies)/[^`]+)` \| .* \| ([^|]+) \|$");
            if (match.Success)
            {
                var references = match.Groups[2].Value.Trim();
                rows[match.Groups[1].Value] = references == "none" ? [] : references.Split(", ").Select(r => r.Trim()).Order(StringComparer.Ordinal).ToArray();
            }
        }

        return rows;
    }

    private static Dictionary<string, string[]> Actual()
    {
        var projects = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var folder in new[] { "src", "policies" })
        {
            foreach (var csproj in Directory.GetFiles(Path.Combine(TestPaths.Root, folder), "*.csproj", SearchOption.AllDirectories))
            {
                var references = XDocument.Load(csproj).Descendants("ProjectReference")
                    .Where(r => (string?)r.Element("ReferenceOutputAssembly") != "false" && (string?)r.Attribute("ReferenceOutputAssembly") != "false")
                    .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')))
                    .Order(StringComparer.Ordinal)
                    .ToArray();
                projects[$"{folder}/{Path.GetFileNameWithoutExtension(csproj)}"] = references;
            }
        }

        return projects;
    }

    [Fact]
    public void The_documented_projects_are_the_projects()
    {
        Assert.Equal(Actual().Keys.Order(StringComparer.Ordinal), Documented().Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Each_project_references_exactly_what_the_architecture_says()
    {
        var documented = Documented();
        foreach (var (project, references) in Actual())
        {
            Assert.True(documented.TryGetValue(project, out var expected), $"{project} is not in docs/architecture.md");
            Assert.True(expected!.SequenceEqual(references), $"{project} references {string.Join(", ", references)}; docs/architecture.md says {string.Join(", ", expected)}");
        }
    }

    /// <summary>Product assemblies meet only through public API: each one shows its internals to the two test projects at most.</summary>
    [Fact]
    public void No_product_assembly_sees_another_ones_internals()
    {
        var products = Actual().Keys.Select(p => p[(p.IndexOf('/') + 1)..]).ToHashSet(StringComparer.Ordinal);
        var shown = new List<string>();
        foreach (var folder in new[] { "src", "policies" })
        {
            foreach (var csproj in Directory.GetFiles(Path.Combine(TestPaths.Root, folder), "*.csproj", SearchOption.AllDirectories))
            {
                var friends = XDocument.Load(csproj).Descendants("InternalsVisibleTo").Select(e => (string?)e.Attribute("Include") ?? "").ToList();
                Assert.All(friends, f => Assert.True(f is "Autoscale.Tests" or "Autoscale.IntegrationTests" or "Autoscale.Benchmarks", $"{Path.GetFileName(csproj)} shows its internals to {f}"));
                shown.AddRange(friends.Where(products.Contains));
            }

            foreach (var file in Directory.GetFiles(Path.Combine(TestPaths.Root, folder), "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
            {
                Assert.DoesNotContain("InternalsVisibleTo", File.ReadAllText(file), StringComparison.Ordinal);
            }
        }

        Assert.Empty(shown);
    }

    [Fact]
    public void Doc_comments_point_only_to_files_in_the_repository()
    {
        var missing = new List<string>();
        foreach (var folder in new[] { "src", "policies" })
        {
            foreach (var file in Directory.GetFiles(Path.Combine(TestPaths.Root, folder), "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
            {
                foreach (Match match in Regex.Matches(File.ReadAllText(file), @"///.*?\b((?:docs|examples|traces|notebooks)/[\w./-]+\.\w+|[A-Z]+\.md)\b"))
                {
                    var target = match.Groups[1].Value.TrimEnd('.');
                    if (!File.Exists(Path.Combine(TestPaths.Root, target)))
                    {
                        missing.Add($"{Path.GetRelativePath(TestPaths.Root, file)} points to {target}");
                    }
                }
            }
        }

        Assert.Empty(missing);
    }
}
