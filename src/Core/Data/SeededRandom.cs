namespace Repro.Core.Data;

/// <summary>
/// Random streams whose algorithm Repro fixes, so a seed means the same numbers on every OS, runtime and
/// machine (System.Random's algorithm is an implementation detail and has changed between .NET versions).
/// Streams are keyed: <c>Create(seed, epoch, sampleIndex)</c> gives each sample of each epoch its own
/// generator, which is what makes results independent of loader threads and batch composition.
/// </summary>
public static class SeededRandom
{
    /// <summary>Stream keys that tell generators for different purposes apart.</summary>
    public static class Purpose
    {
        public const ulong Split = 0x5350_4C49_5400_0001UL;
        public const ulong Shuffle = 0x5348_5546_4C45_0002UL;
        public const ulong Augment = 0x4155_474D_454E_0003UL;
    }

    /// <summary>A generator for the stream named by <paramref name="seed"/> and <paramref name="keys"/>.</summary>
    public static Xoshiro256StarStar Create(ulong seed, params ulong[] keys) => new(Derive(seed, keys));

    /// <summary>Folds keys into a seed with SplitMix64's finaliser, so nearby keys give unrelated seeds.</summary>
    public static ulong Derive(ulong seed, params ulong[] keys)
    {
        var h = SplitMix64.Mix(seed ^ 0x9E37_79B9_7F4A_7C15UL);
        foreach (var k in keys)
        {
            h = SplitMix64.Mix(h ^ SplitMix64.Mix(k + 0x6A09_E667_F3BC_C909UL));
        }
        return h;
    }
}

/// <summary>SplitMix64 (Steele, Lea, Flood 2014), used only to expand seeds, as its authors recommend for xoshiro.</summary>
public static class SplitMix64
{
    public static ulong Next(ref ulong state)
    {
        state += 0x9E37_79B9_7F4A_7C15UL;
        return Mix(state);
    }

    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>
/// xoshiro256** 1.0 (Blackman and Vigna, https://prng.di.unimi.it/xoshiro256starstar.c), written out here
/// because no package pins this algorithm; the reference output for seed state {1,2,3,4} is tested.
/// </summary>
public sealed class Xoshiro256StarStar
{
    private ulong s0, s1, s2, s3;

    public Xoshiro256StarStar(ulong seed)
    {
        var sm = seed;
        s0 = SplitMix64.Next(ref sm);
        s1 = SplitMix64.Next(ref sm);
        s2 = SplitMix64.Next(ref sm);
        s3 = SplitMix64.Next(ref sm);
    }

    internal Xoshiro256StarStar(ulong a, ulong b, ulong c, ulong d)
    {
        (s0, s1, s2, s3) = (a, b, c, d);
    }

    public ulong NextUInt64()
    {
        var result = ulong.RotateLeft(s1 * 5, 7) * 9;
        var t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = ulong.RotateLeft(s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [low, high).</summary>
    public double NextDouble(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>Uniform integer in [0, bound) without modulo bias (Lemire's multiply-and-reject).</summary>
    public int NextInt(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        var b = (ulong)bound;
        while (true)
        {
            var hi = Math.BigMul(NextUInt64(), b, out var lo);
            if (lo >= b || lo >= (0UL - b) % b)
            {
                return (int)hi;
            }
        }
    }

    /// <summary>Fisher-Yates, from the last element down, as numpy and torch.randperm-style shuffles do.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
