using System.Runtime.InteropServices;

namespace Autoscale.Traces.IO;

/// <summary>
/// Large arrays a read decodes a whole row group into, each touched first by the decoder. On Linux their memory is asked
/// for in huge pages where the kernel grants them (transparent huge pages in <c>madvise</c> mode): the first write to a
/// fresh 8 MB array otherwise takes 2,048 page faults, and on a virtual machine those faults were most of the count
/// replay's read. Elsewhere, or when the kernel declines, they are plain arrays; the values are the same either way.
/// </summary>
internal static partial class FreshBuffers
{
    private const int MadviseHugePage = 14;

    /// <summary>Set once madvise could not be found: no array asks again.</summary>
    private static volatile bool s_noMadvise;
    private const long HugePage = 2 << 20;

    /// <summary>Below this length (in elements) a plain array: no huge page would fit inside it.</summary>
    private const int HugeAbove = (int)(2 * HugePage / sizeof(long));

    /// <summary>A zeroed array of <paramref name="length"/> longs.</summary>
    public static long[] Longs(int length)
    {
        if (length < HugeAbove || !OperatingSystem.IsLinux())
        {
            return new long[length];
        }

        // Pinned, so the range advised stays the array's; uninitialized, so no page is touched before the advice (and zeroed
        // after it, in huge pages).
        var array = GC.AllocateUninitializedArray<long>(length, pinned: true);
        unsafe
        {
            fixed (long* p = array)
            {
                var from = ((long)p + HugePage - 1) & ~(HugePage - 1);
                var to = ((long)p + ((long)length * sizeof(long))) & ~(HugePage - 1);
                if (to > from && !s_noMadvise)
                {
                    // Advice only: refused (an older kernel, huge pages off) or not found (a libc without it), the array
                    // is as good.
                    try
                    {
                        _ = Madvise((nint)from, (nuint)(to - from), MadviseHugePage);
                    }
                    catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
                    {
                        s_noMadvise = true;
                    }
                }
            }
        }

        Array.Clear(array);
        return array;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
