namespace Autoscale.Backtesting;

/// <summary>
/// Writes a file so that it appears only when complete: into a hidden file beside it, then moved
/// over the target. A failure leaves nothing behind, never a half-written output.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>, atomically.</summary>
    public static async Task WriteAsync(string path, Func<Stream, Task> write, CancellationToken cancellationToken = default)
    {
        await using var pending = PendingFile.Create(path);
        await write(pending.Stream);
        cancellationToken.ThrowIfCancellationRequested();
        await pending.CommitAsync();
    }

    /// <summary>Writes text to <paramref name="path"/>, atomically, as UTF-8 without a byte-order mark.</summary>
    public static Task WriteTextAsync(string path, string text, CancellationToken cancellationToken = default) =>
        WriteAsync(path, async stream =>
        {
            await using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), leaveOpen: true);
            await writer.WriteAsync(text.AsMemory(), cancellationToken);
        }, cancellationToken);
}

/// <summary>
/// A file being written beside its final path. <see cref="CommitAsync"/> moves it into place;
/// disposing it uncommitted deletes it.
/// </summary>
public sealed class PendingFile : IAsyncDisposable
{
    private readonly string _target;
    private readonly string _temp;
    private bool _committed;

    private PendingFile(string target, string temp, FileStream stream)
    {
        _target = target;
        _temp = temp;
        Stream = stream;
    }

    /// <summary>The stream to write to.</summary>
    public FileStream Stream { get; }

    /// <summary>Starts writing <paramref name="path"/>; its folder must exist.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public static PendingFile Create(string path)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"{path}: the folder {directory} does not exist");
        }

        var temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        return new PendingFile(full, temp, new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16));
    }

    /// <summary>Flushes, closes and moves the file into place.</summary>
    public async Task CommitAsync()
    {
        await Stream.FlushAsync();
        await Stream.DisposeAsync();
        File.Move(_temp, _target, overwrite: true);
        _committed = true;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Stream.DisposeAsync();
        if (!_committed && File.Exists(_temp))
        {
            File.Delete(_temp);
        }
    }
}
