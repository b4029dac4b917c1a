namespace Autoscale.Shared;

/// <summary>
/// Writes a file so that it appears only when complete: into a hidden file beside it, then moved
/// over the target. A failure or an interruption leaves nothing behind, never a half-written output.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>, atomically.</summary>
    public static async Task WriteAsync(string path, Func<Stream, Task> write, CancellationToken cancellationToken = default)
    {
        var pending = PendingFile.Create(path);
        await using var pendingScope = pending.ConfigureAwait(false);
        await write(pending.Stream).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        await pending.CommitAsync().ConfigureAwait(false);
    }

    /// <summary>Writes text to <paramref name="path"/>, atomically, as UTF-8 without a byte-order mark.</summary>
    public static Task WriteTextAsync(string path, string text, CancellationToken cancellationToken = default) =>
        WriteAsync(path, async stream =>
        {
            var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), leaveOpen: true);
            await using var writerScope = writer.ConfigureAwait(false);
            await writer.WriteAsync(text.AsMemory(), cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>
    /// Checks that <paramref name="path"/> can be written as a file: not empty, its folder exists, and it is not a
    /// folder or a device (moving a finished file over <c>/dev/null</c> would replace the device).
    /// </summary>
    /// <exception cref="IOException">The path cannot be an output file; the message names it and says why.</exception>
    public static string CheckOutputFile(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new IOException("the output file's name is empty");
        }

        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new IOException($"{path} is a folder, not a file");
        }

        if (IsSpecial(full))
        {
            throw new IOException($"{path} is a device or system file, not a file to write a trace or report into");
        }

        var directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"{path}: the folder {directory} does not exist");
        }

        return full;
    }

    /// <summary>Whether a path lies in the system's device or process trees.</summary>
    public static bool IsSpecial(string fullPath) =>
        !OperatingSystem.IsWindows() && (fullPath.StartsWith("/dev/", StringComparison.Ordinal) || fullPath.StartsWith("/proc/", StringComparison.Ordinal) || fullPath.StartsWith("/sys/", StringComparison.Ordinal));
}

/// <summary>
/// A file being written beside its final path. <see cref="CommitAsync"/> moves it into place;
/// disposing it uncommitted deletes it.
/// </summary>
internal sealed class PendingFile : IAsyncDisposable
{
    private readonly string _target;
    private readonly Scratch _scratch;
    private bool _committed;

    private PendingFile(string target, Scratch scratch, FileStream stream)
    {
        _target = target;
        _scratch = scratch;
        Stream = stream;
    }

    /// <summary>The stream to write to.</summary>
    public FileStream Stream { get; }

    /// <summary>Starts writing <paramref name="path"/>; its folder must exist.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="IOException">The path is a folder, a device, or not writable (the message names the path, not the hidden file).</exception>
    public static PendingFile Create(string path)
    {
        var full = AtomicFile.CheckOutputFile(path);
        var scratch = Scratch.Beside(full, directory: false, path);
        try
        {
            return new PendingFile(full, scratch, new FileStream(scratch.Path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16));
        }
        catch
        {
            scratch.Dispose();
            throw;
        }
    }

    /// <summary>Flushes, closes and moves the file into place.</summary>
    public async Task CommitAsync()
    {
        await Stream.FlushAsync().ConfigureAwait(false);
        await Stream.DisposeAsync().ConfigureAwait(false);
        File.Move(_scratch.Path, _target, overwrite: true);
        _committed = true;
        _scratch.Dispose();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            // Closing flushes what is buffered, which fails on a full disk: the scratch goes all the same.
            await Stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException) when (!_committed)
        {
            // The write already failed or was abandoned; its own error is the one reported.
        }
        finally
        {
            if (!_committed)
            {
                _scratch.Dispose();
            }
        }
    }
}
