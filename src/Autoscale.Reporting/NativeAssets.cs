using System.Reflection;
using System.Runtime.InteropServices;

namespace Autoscale.Reporting;

/// <summary>
/// Finds the plotting library's native parts (libSkiaSharp, libHarfBuzzSharp) where a framework-dependent
/// publish puts them, <c>runtimes/RID/native/</c> beside the managed assembly, when the process did not
/// list them itself: a notebook kernel or another host that loads our assemblies from a folder of their own.
/// </summary>
/// <remarks>Installed once per process; thread-safe.</remarks>
internal static class NativeAssets
{
    private static readonly Lock Gate = new();
    private static bool _installed;

    public static void EnsureResolvers()
    {
        lock (Gate)
        {
            if (_installed)
            {
                return;
            }

            _installed = true;
            Install(typeof(SkiaSharp.SKObject).Assembly);
            Install(typeof(HarfBuzzSharp.Blob).Assembly);
        }
    }

    private static void Install(Assembly assembly)
    {
        try
        {
            NativeLibrary.SetDllImportResolver(assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // The host set a resolver of its own: it knows where its native libraries are.
        }
    }

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("SingleFile", "IL3000", Justification = "An empty location (single-file or native builds, whose native parts sit beside the executable) falls back to the default probing.")]
    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (NativeLibrary.TryLoad(name, assembly, searchPath, out var handle))
        {
            return handle;
        }

        var directory = Path.GetDirectoryName(assembly.Location);
        if (string.IsNullOrEmpty(directory))
        {
            return IntPtr.Zero;
        }

        foreach (var rid in RuntimeIds())
        {
            var folder = Path.Combine(directory, "runtimes", rid, "native");
            foreach (var file in FileNames(name))
            {
                var path = Path.Combine(folder, file);
                if (File.Exists(path) && NativeLibrary.TryLoad(path, out handle))
                {
                    return handle;
                }
            }
        }

        return IntPtr.Zero;
    }

    private static IEnumerable<string> RuntimeIds()
    {
        yield return RuntimeInformation.RuntimeIdentifier;
        var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        if (OperatingSystem.IsLinux())
        {
            yield return $"linux-{arch}";
            yield return $"linux-musl-{arch}";
        }
        else if (OperatingSystem.IsMacOS())
        {
            yield return "osx";
            yield return $"osx-{arch}";
        }
        else if (OperatingSystem.IsWindows())
        {
            yield return $"win-{arch}";
        }
    }

    private static IEnumerable<string> FileNames(string name)
    {
        yield return name;
        if (OperatingSystem.IsWindows())
        {
            yield return name + ".dll";
        }
        else
        {
            var lib = name.StartsWith("lib", StringComparison.Ordinal) ? name : "lib" + name;
            yield return lib + (OperatingSystem.IsMacOS() ? ".dylib" : ".so");
        }
    }
}
