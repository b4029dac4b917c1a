using System.Text;

namespace Autoscale.Shared;

/// <summary>
/// Reads a user's text file with its size limit applied while reading, so a device (<c>/dev/zero</c>), a pipe or a
/// file that grows is refused at the limit instead of being read whole first. Linked as source into each assembly
/// that reads user files; every problem is an <see cref="IOException"/> whose message is the line to print after
/// the file's name.
/// </summary>
internal static class BoundedFile
{
    /// <summary>Why <paramref name="path"/> cannot be read as a file, or null when it can be opened (a missing file, a folder, a link that leads nowhere).</summary>
    public static string? Problem(string path)
    {
        if (Directory.Exists(path))
        {
            return "is a folder, not a file";
        }

        try
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is not null)
            {
                // A link's final target: a loop or a dangling link throws or resolves to nothing.
                var target = info.ResolveLinkTarget(returnFinalTarget: true);
                if (target is null || !target.Exists)
                {
                    return "is a symbolic link to nothing that exists";
                }
            }

            return info.Exists ? null : "no such file";
        }
        catch (IOException)
        {
            return "is a symbolic link that loops back on itself";
        }
        catch (UnauthorizedAccessException)
        {
            return "cannot be read (permission denied)";
        }
    }

    /// <summary>The bytes of <paramref name="path"/>, at most <paramref name="maxBytes"/>, counted as they are read.</summary>
    public static byte[] ReadBytes(string path, long maxBytes)
    {
        if (Problem(path) is { } problem)
        {
            throw new IOException(problem);
        }

        using var stream = Open(path);
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new IOException($"is larger than {Size(maxBytes)}, the most this file may hold (is it a device or a stream?)");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// The whole text of <paramref name="path"/> as strict UTF-8 (a BOM skipped), at most <paramref name="maxBytes"/>
    /// bytes, decoded as it is read: a NUL byte or a byte that begins no character ends the read at once (a device of
    /// zeros or random bytes is refused in its first block, not at the size limit).
    /// </summary>
    public static string ReadText(string path, long maxBytes)
    {
        using var reader = Lines(path, maxBytes, int.MaxValue);
        return reader.ReadToEnd();
    }

    /// <summary>A reader of <paramref name="path"/>'s lines, each at most <paramref name="maxLineChars"/> characters, the file at most <paramref name="maxBytes"/> bytes.</summary>
    public static LineReader Lines(string path, long maxBytes, int maxLineChars)
    {
        if (Problem(path) is { } problem)
        {
            throw new IOException(problem);
        }

        return new LineReader(Open(path), maxBytes, maxLineChars);
    }

    private static FileStream Open(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        }
        catch (UnauthorizedAccessException)
        {
            throw new IOException("cannot be read (permission denied)");
        }
    }

    /// <summary>A size as people read it: 1 MiB, 64 MiB, 512 KiB.</summary>
    public static string Size(long bytes) => bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? $"{bytes >> 20} MiB" : bytes >= 1 << 10 && bytes % (1 << 10) == 0 ? $"{bytes >> 10} KiB" : $"{bytes} bytes";

    /// <summary>Lines read under a limit on the whole and on each line; a NUL byte marks the file as not text.</summary>
    public sealed class LineReader : IDisposable
    {
        private readonly StreamReader _reader;
        private readonly Stream _stream;
        private readonly long _maxBytes;
        private readonly int _maxLineChars;
        private readonly StringBuilder _line = new();

        internal LineReader(Stream stream, long maxBytes, int maxLineChars)
        {
            _stream = stream;
            _maxBytes = maxBytes;
            _maxLineChars = maxLineChars;
            _reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: true, bufferSize: 65536);
        }

        /// <summary>The line number of the line last read (1-based).</summary>
        public int Line { get; private set; }

        /// <summary>The next line without its end, or null at the end of the file.</summary>
        public string? ReadLine()
        {
            _line.Clear();
            var any = false;
            while (true)
            {
                int c;
                try
                {
                    c = _reader.Read();
                }
                catch (DecoderFallbackException)
                {
                    throw new IOException($"line {Line + 1}: is not UTF-8 text");
                }

                if (c < 0)
                {
                    break;
                }

                any = true;
                if (c == '\n')
                {
                    break;
                }

                if (c == '\0')
                {
                    throw new IOException($"line {Line + 1}: holds a NUL byte: not a text file");
                }

                if (_line.Length >= _maxLineChars)
                {
                    throw new IOException($"line {Line + 1}: is longer than {_maxLineChars:N0} characters");
                }

                if (_stream.Position > _maxBytes)
                {
                    throw new IOException($"is larger than {Size(_maxBytes)}, the most this file may hold (is it a device or a stream?)");
                }

                _line.Append((char)c);
            }

            if (!any)
            {
                return null;
            }

            Line++;
            if (_line.Length > 0 && _line[^1] == '\r')
            {
                _line.Length--;
            }

            return _line.ToString();
        }

        /// <summary>The rest of the file as one string, under the same limits (a NUL byte refused).</summary>
        public string ReadToEnd()
        {
            var text = new StringBuilder();
            var block = new char[65536];
            int read;
            while ((read = Read(block)) > 0)
            {
                if (block.AsSpan(0, read).Contains('\0'))
                {
                    throw new IOException("holds a NUL byte: not a text file");
                }

                if (_stream.Position > _maxBytes)
                {
                    throw new IOException($"is larger than {Size(_maxBytes)}, the most this file may hold (is it a device or a stream?)");
                }

                text.Append(block, 0, read);
            }

            return text.ToString();
        }

        private int Read(char[] block)
        {
            try
            {
                return _reader.Read(block, 0, block.Length);
            }
            catch (DecoderFallbackException)
            {
                throw new IOException("is not UTF-8 text");
            }
        }

        /// <inheritdoc/>
        public void Dispose() => _reader.Dispose();
    }
}
