using System.CommandLine;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using Autoscale.Policies.Catalog;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Autoscale.Cli.UserPolicies;

/// <summary>Several <c>error: ...</c> lines at once (compile errors), exit code 2.</summary>
internal sealed class UserInputLinesException(IReadOnlyList<string> lines) : Exception(string.Join(Environment.NewLine, lines))
{
    public IReadOnlyList<string> Lines { get; } = lines;
}

/// <summary>
/// The options that bring a user's policies into the catalog: <c>--assembly DLL</c>, <c>--project CSPROJ</c>
/// (built with <c>dotnet build</c>) and <c>--policy-file FILE.cs</c> (compiled with Roslyn against the
/// policy contract). Their policy classes are then named in a config by class name, full name, or
/// <c>Namespace.Type, Assembly</c>.
/// </summary>
internal sealed class UserPolicyLoader
{
    public Option<string[]> Assemblies { get; } = new("--assembly") { Description = "A compiled assembly (.dll) whose policy classes can then be named like the built-in ones. Repeatable." };

    public Option<string[]> Projects { get; } = new("--project") { Description = "A .csproj to build (dotnet build); its policy classes can then be named like the built-in ones. Repeatable." };

    public Option<string[]> Files { get; } = new("--policy-file") { Description = "A C# file to compile against the policy contract; its policy classes can then be named like the built-in ones. Repeatable." };

    public void AddTo(Command command)
    {
        command.Options.Add(Assemblies);
        command.Options.Add(Projects);
        command.Options.Add(Files);
    }

    /// <summary>Loads everything the command line names into <paramref name="catalog"/>.</summary>
    /// <remarks>
    /// The native (AOT) build cannot load or compile code at run time: there, naming a user's policy is a
    /// user error that says which build to use, and the compiler is not part of the executable.
    /// </remarks>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Guarded by RuntimeFeature.IsDynamicCodeSupported: loading users' code happens only in the framework-dependent build, which is not trimmed.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Guarded by RuntimeFeature.IsDynamicCodeSupported.")]
    public Task LoadAsync(ParseResult parse, PolicyCatalog catalog, TextWriter stderr, CancellationToken cancellationToken)
    {
        var named = new[] { Assemblies, Projects, Files }.FirstOrDefault(o => parse.GetValue(o) is { Length: > 0 });
        if (named is null)
        {
            return Task.CompletedTask;
        }

        if (!RuntimeFeature.IsDynamicCodeSupported)
        {
            throw new UserInputException($"{named.Name}: this native build of autoscale cannot load code at run time; run your own policies with the framework-dependent command: the .NET tool (dotnet tool install), dotnet run --project src/Autoscale.Cli -- ..., or any dotnet build or publish without -p:Native=true");
        }

        return LoadUserCodeAsync(parse, catalog, stderr, cancellationToken);
    }

    [RequiresUnreferencedCode("Loads and reflects over users' assemblies.")]
    [RequiresDynamicCode("Compiles and loads users' code.")]
    private async Task LoadUserCodeAsync(ParseResult parse, PolicyCatalog catalog, TextWriter stderr, CancellationToken cancellationToken)
    {
        foreach (var path in parse.GetValue(Assemblies) ?? [])
        {
            catalog.AddAssembly(LoadAssembly(path, "--assembly"));
        }

        foreach (var project in parse.GetValue(Projects) ?? [])
        {
            catalog.AddAssembly(await BuildProjectAsync(project, stderr, cancellationToken));
        }

        var definedIn = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in parse.GetValue(Files) ?? [])
        {
            var assembly = Compile(file);
            foreach (var type in assembly.GetExportedTypes().Where(PolicyTypes.IsPolicy))
            {
                var full = type.FullName ?? type.Name;
                if (!definedIn.TryAdd(full, file))
                {
                    throw new UserInputException($"--policy-file {file}: the policy class {full} is already defined in {definedIn[full]}: rename one, or put them in namespaces of their own");
                }
            }

            catalog.AddAssembly(assembly);
        }
    }

    /// <summary>Loads a user's assembly into the process.</summary>
    [RequiresUnreferencedCode("Loads and reflects over a user's assembly.")]
    public static Assembly LoadAssembly(string path, string option)
    {
        if (!File.Exists(path))
        {
            throw new UserInputException($"{option} {path}: no such file");
        }

        try
        {
            var assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(Path.GetFullPath(path));
            _ = assembly.GetExportedTypes();
            return assembly;
        }
        catch (Exception e) when (e is BadImageFormatException or FileLoadException or FileNotFoundException or ReflectionTypeLoadException or TypeLoadException)
        {
            throw new UserInputException($"{option} {path}: the assembly does not load ({e.GetType().Name}: {e.Message.ReplaceLineEndings(" ").TrimEnd('.')})");
        }
    }

    /// <summary>Compiles one C# file against the policy contract and loads it.</summary>
    [RequiresUnreferencedCode("Loads and reflects over compiled code.")]
    [RequiresDynamicCode("Compiles and loads code.")]
    public static Assembly Compile(string path)
    {
        if (!File.Exists(path))
        {
            throw new UserInputException($"--policy-file {path}: no such file");
        }

        var tree = CSharpSyntaxTree.ParseText(File.ReadAllText(path), new CSharpParseOptions(LanguageVersion.Latest), path);
        var compilation = CSharpCompilation.Create(
            $"UserPolicies.{Path.GetFileNameWithoutExtension(path)}.{Guid.NewGuid():N}",
            [tree, CSharpSyntaxTree.ParseText("global using System; global using System.Linq; global using System.Collections.Generic; global using Autoscale; global using NodaTime;", new CSharpParseOptions(LanguageVersion.Latest))],
            References(),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, optimizationLevel: OptimizationLevel.Release));
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        if (!emitted.Success)
        {
            var lines = emitted.Diagnostics
                .Where(d => d.Severity == DiagnosticSeverity.Error)
                .OrderBy(d => d.Location.GetLineSpan().StartLinePosition.Line)
                .ThenBy(d => d.Location.GetLineSpan().StartLinePosition.Character)
                .Select(d =>
                {
                    var at = d.Location.GetLineSpan();
                    return $"{path}({at.StartLinePosition.Line + 1},{at.StartLinePosition.Character + 1}): {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
                })
                .ToList();
            throw new UserInputLinesException(lines);
        }

        image.Position = 0;
        var assembly = AssemblyLoadContext.Default.LoadFromStream(image);
        if (!assembly.GetExportedTypes().Any(PolicyTypes.IsPolicy))
        {
            throw new UserInputException($"--policy-file {path}: no public class implements Autoscale.IScalingPolicy");
        }

        return assembly;
    }

    [RequiresUnreferencedCode("Loads and reflects over a built assembly.")]
    private static async Task<Assembly> BuildProjectAsync(string project, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (!File.Exists(project) || !project.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase))
        {
            throw new UserInputException($"--project {project}: no such .csproj file");
        }

        var output = Path.Combine(Path.GetTempPath(), "autoscale-build-" + Guid.NewGuid().ToString("N"));
        var start = new ProcessStartInfo("dotnet", ["build", Path.GetFullPath(project), "-c", "Release", "-o", output, "--nologo", "-v", "quiet", "-clp:NoSummary"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        await stderr.WriteLineAsync($"building {project}");
        using var process = Process.Start(start) ?? throw new UserInputException($"--project {project}: dotnet could not be started");
        var stdout = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            var lines = (stdout + "\n" + errors).Split('\n').Select(l => l.Trim()).Where(l => l.Contains(": error ", StringComparison.Ordinal)).Distinct().ToList();
            throw new UserInputLinesException(lines.Count > 0 ? lines : [$"--project {project}: the build failed (exit code {process.ExitCode})"]);
        }

        var name = AssemblyName(project);
        return LoadAssembly(Path.Combine(output, name + ".dll"), "--project");
    }

    private static string AssemblyName(string project)
    {
        var text = File.ReadAllText(project);
        var match = System.Text.RegularExpressions.Regex.Match(text, "<AssemblyName>([^<]+)</AssemblyName>");
        return match.Success ? match.Groups[1].Value.Trim() : Path.GetFileNameWithoutExtension(project);
    }

    [UnconditionalSuppressMessage("SingleFile", "IL3000", Justification = "Only the framework-dependent build compiles users' files; its assemblies have locations.")]
    private static IEnumerable<MetadataReference> References()
    {
        var paths = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        foreach (var type in new[] { typeof(IScalingPolicy), typeof(NodaTime.Instant), typeof(PolicyCatalog), typeof(System.Text.Json.JsonElement) })
        {
            if (!string.IsNullOrEmpty(type.Assembly.Location))
            {
                paths.Add(type.Assembly.Location);
            }
        }

        return paths.Where(File.Exists).Select(p => MetadataReference.CreateFromFile(p));
    }
}
