using Autoscale.Shared;

namespace Autoscale.Reporting;

/// <summary>
/// Writes a report folder whole or not at all: the files are written into a hidden folder beside it, then moved in;
/// a report written over an earlier one removes that one's files this one does not write (other files stay).
/// </summary>
public static class ReportFolder
{
    /// <summary>Writes the folder <paramref name="directory"/>.</summary>
    /// <param name="directory">The report folder, as the user named it (created if missing; its parent must exist).</param>
    /// <param name="write">Writes the report's files into the folder it is given.</param>
    /// <param name="isReportFile">Whether a file name is one this kind of report writes (the stale ones are removed).</param>
    /// <param name="cancellationToken">Cancels the writing; nothing is moved in then.</param>
    /// <exception cref="IOException">The folder cannot be written; the message names it.</exception>
    public static async Task WriteAsync(string directory, Func<string, CancellationToken, Task> write, Func<string, bool> isReportFile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(isReportFile);
        var full = Check(directory);
        using var scratch = Scratch.Beside(full, directory: true, directory);
        var staging = scratch.Path;
        await write(staging, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        Directory.CreateDirectory(full);
        var written = Directory.GetFiles(staging).Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(staging))
        {
            File.Move(file, Path.Combine(full, Path.GetFileName(file)), overwrite: true);
        }

        foreach (var stale in Directory.GetFiles(full).Where(f => isReportFile(Path.GetFileName(f)) && !written.Contains(Path.GetFileName(f))))
        {
            File.Delete(stale);
        }
    }

    /// <summary>The folder's full path, once it is known to be one a report can be written into.</summary>
    /// <exception cref="IOException">It cannot be: its parent is missing, it is a file, a dangling link or a device path.</exception>
    public static string Check(string directory)
    {
        if (string.IsNullOrWhiteSpace(directory))
        {
            throw new IOException("--out: the report folder's name is empty");
        }

        var full = Path.GetFullPath(directory);
        var parent = Path.GetDirectoryName(full) ?? throw new DirectoryNotFoundException(directory);
        if (!Directory.Exists(parent))
        {
            throw new DirectoryNotFoundException($"{directory}: the folder {parent} does not exist");
        }

        if (AtomicFile.IsSpecial(full + "/"))
        {
            throw new IOException($"{directory} is in the system's device or process trees, not a folder to write the report into");
        }

        if (new FileInfo(full).LinkTarget is not null && !Directory.Exists(full))
        {
            throw new IOException($"{directory} is a symbolic link to no folder (a loop, or a link to nothing or to a file), not a folder to write the report into");
        }

        if (File.Exists(full))
        {
            throw new IOException($"{directory} is a file, not a folder to write the report into");
        }

        return full;
    }
}
