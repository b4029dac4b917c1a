namespace Autoscale.Traces.Synthesis;

/// <summary>
/// A Mersenne Twister (MT19937) that draws exactly the numbers of CPython's <c>random</c> module for
/// an integer seed: seeded with <c>init_by_array</c> of the seed's 32-bit words, and
/// <c>random()</c> = <c>(a * 2^26 + b) / 2^53</c> with <c>a = next &gt;&gt; 5</c>, <c>b = next &gt;&gt; 6</c>.
/// It exists so the textbook's arrivals can be regenerated bit for bit.
/// </summary>
/// <remarks>Stateful; not thread-safe.</remarks>
internal sealed class PythonRandom
{
    private const int N = 624;
    private const int M = 397;
    private readonly uint[] _mt = new uint[N];
    private int _index = N + 1;

    /// <summary>Seeds the generator as <c>random.seed(seed)</c> does for a non-negative integer.</summary>
    public PythonRandom(ulong seed)
    {
        var key = seed >> 32 == 0 ? new[] { (uint)seed } : [(uint)seed, (uint)(seed >> 32)];
        InitByArray(key);
    }

    /// <summary>The next 32-bit output (CPython's <c>genrand_uint32</c>).</summary>
    public uint NextUInt32()
    {
        if (_index >= N)
        {
            Twist();
        }

        var y = _mt[_index++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        return y;
    }

    /// <summary>A double in [0, 1) with 53 random bits, exactly as <c>random.random()</c>.</summary>
    public double NextDouble()
    {
        var a = NextUInt32() >> 5;
        var b = NextUInt32() >> 6;
        return (a * 67108864.0 + b) / 9007199254740992.0;
    }

    private void InitGenrand(uint seed)
    {
        _mt[0] = seed;
        for (var i = 1; i < N; i++)
        {
            _mt[i] = 1812433253u * (_mt[i - 1] ^ (_mt[i - 1] >> 30)) + (uint)i;
        }

        _index = N;
    }

    private void InitByArray(uint[] key)
    {
        InitGenrand(19650218u);
        int i = 1, j = 0;
        for (var k = Math.Max(N, key.Length); k > 0; k--)
        {
            _mt[i] = (_mt[i] ^ ((_mt[i - 1] ^ (_mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint)j;
            i++;
            j++;
            if (i >= N)
            {
                _mt[0] = _mt[N - 1];
                i = 1;
            }

            if (j >= key.Length)
            {
                j = 0;
            }
        }

        for (var k = N - 1; k > 0; k--)
        {
            _mt[i] = (_mt[i] ^ ((_mt[i - 1] ^ (_mt[i - 1] >> 30)) * 1566083941u)) - (uint)i;
            i++;
            if (i >= N)
            {
                _mt[0] = _mt[N - 1];
                i = 1;
            }
        }

        _mt[0] = 0x80000000u;
    }

    private void Twist()
    {
        for (var k = 0; k < N; k++)
        {
            var y = (_mt[k] & 0x80000000u) | (_mt[(k + 1) % N] & 0x7fffffffu);
            _mt[k] = _mt[(k + M) % N] ^ (y >> 1) ^ ((y & 1u) != 0 ? 0x9908b0dfu : 0u);
        }

        _index = 0;
    }
}
