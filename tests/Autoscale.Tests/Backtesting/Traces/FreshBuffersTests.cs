using Autoscale.Traces.IO;
using Xunit;

namespace Autoscale.Tests.Backtesting.Traces;

public class FreshBuffersTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData((1 << 19) - 1)]
    [InlineData(1 << 19)]
    [InlineData(1 << 20)]
    [InlineData((1 << 20) + 12_345)]
    public void ArraysComeZeroedAndOfTheirLength(int length)
    {
        // Reused memory first, so a pinned array not cleared would show what the last one held.
        for (var round = 0; round < 2; round++)
        {
            var array = FreshBuffers.Longs(length);
            Assert.Equal(length, array.Length);
            Assert.True(Array.TrueForAll(array, v => v == 0));
            Array.Fill(array, -1L);
        }
    }
}
