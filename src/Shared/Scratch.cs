namespace Autoscale.Shared;

/// <summary>
/// A hidden file or folder beside an output, where the output is written before it is moved into place, with a
/// lock file beside it that this process holds open (an OS lock) until the scratch is gone. Disposing removes both.
/// A kill that gives no chance to clean up leaves them behind; the next scratch made in that folder removes every
/// scratch whose lock no process holds, so concurrent writers (shards writing into one folder, from one host or
/// several) never touch each other's files, and a crash's leftovers do not outlive the next run.
/// </summary>
/// <remarks>Not thread-safe; one owner.</remarks>
internal sealed class Scratch : IDisposable
{
    /// <summary>What every scratch's name holds, so leftovers are recognised as such.</summary>
    public const string Marker = ".autoscale-tmp.";

    private const string LockSuffix = ".lock";
    private readonly FileStream _lock;
    private readonly bool _directory;
    private bool _disposed;

    private Scratch(string path, FileStream @lock, bool directory)
    {
        Path = path;
        _lock = @lock;
        _directory = directory;
    }

    /// <summary>The hidden file or folder to write.</summary>
    public string Path { get; }

    /// <summary>Makes a scratch beside <paramref name="target"/> (a full path), after removing the folder's abandoned ones.</summary>
    /// <param name="target">The output's full path.</param>
    /// <param name="directory">Whether the scratch is a folder (created) or a file (for the caller to create).</param>
    /// <param name="displayName">The output as the user named it, for messages.</param>
    /// <exception cref="IOException">The folder cannot be written; the message names the output, not the hidden file.</exception>
    public static Scratch Beside(string target, bool directory, string displayName)
    {
        var folder = System.IO.Path.GetDirectoryName(target)!;
        RemoveAbandoned(folder);
        var path = System.IO.Path.Combine(folder, $".{System.IO.Path.GetFileName(target)}{Marker}{Guid.NewGuid():N}");
        FileStream @lock;
        try
        {
            @lock = new FileStream(path + LockSuffix, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"{displayName}: permission denied: cannot write in {folder}", e);
        }

        var scratch = new Scratch(path, @lock, directory);
        if (directory)
        {
            try
            {
                Directory.CreateDirectory(path);
            }
            catch
            {
                scratch.Dispose();
                throw;
            }
        }

        return scratch;
    }

    /// <summary>Removes the scratch files and folders in <paramref name="folder"/> whose lock no process holds.</summary>
    public static void RemoveAbandoned(string folder)
    {
        IEnumerable<string> locks;
        try
        {
            locks = Directory.EnumerateFiles(folder, "*" + Marker + "*" + LockSuffix).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var lockFile in locks)
        {
            try
            {
                // A lock made a moment ago may not be held yet: leave young ones alone.
                if (DateTime.UtcNow - File.GetLastWriteTimeUtc(lockFile) < TimeSpan.FromSeconds(10))
                {
                    continue;
                }

                using (new FileStream(lockFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                {
                    var scratch = lockFile[..^LockSuffix.Length];
                    if (Directory.Exists(scratch))
                    {
                        Directory.Delete(scratch, recursive: true);
                    }
                    else if (File.Exists(scratch))
                    {
                        File.Delete(scratch);
                    }
                }

                File.Delete(lockFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Held by a running writer (or not ours to remove): leave it.
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (_directory && Directory.Exists(Path))
            {
                Directory.Delete(Path, recursive: true);
            }
            else if (!_directory && File.Exists(Path))
            {
                File.Delete(Path);
            }
        }
        finally
        {
            _lock.Dispose();
            File.Delete(Path + LockSuffix);
        }
    }
}
