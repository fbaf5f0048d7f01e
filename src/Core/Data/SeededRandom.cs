namespace Repro.Core.Data;

/// <summary>
/// Every random stream of a run, by name. Each draws from its own generator seeded from (experiment seed, stream,
/// position), so no stream's numbers depend on how much another one consumed, on thread timing or on where a run
/// resumed.
/// </summary>
public enum RandomStream
{
    /// <summary>The stratified split's per-class shuffles (managed, keyed by class).</summary>
    Split,

    /// <summary>The order of training samples in an epoch (managed, keyed by epoch).</summary>
    Shuffle,

    /// <summary>Random crops and flips (managed, keyed by epoch and sample).</summary>
    Augment,

    /// <summary>The model's initial weights (LibTorch's generator, seeded before construction).</summary>
    Initialization,

    /// <summary>Dropout during an epoch (LibTorch's generator, reseeded per epoch so a resumed epoch draws the same).</summary>
    Dropout,

    /// <summary>The batch order of cached-feature training (a LibTorch generator per epoch).</summary>
    FeatureOrder,
}

/// <summary>
/// The one owner of seed derivation. Repro fixes the algorithms, so a seed means the same numbers on every OS, runtime
/// and machine (System.Random's algorithm is an implementation detail and has changed between .NET versions): managed
/// streams are xoshiro256** seeded through SplitMix64; LibTorch's generators get seeds derived with SplitMix64's
/// finaliser. The salts below are the streams' identities since the first locked results: changing one changes results.
/// </summary>
public static class SeededRandom
{
    /// <summary>A managed generator for <paramref name="stream"/> at <paramref name="keys"/> (epoch, sample, class…).</summary>
    public static Xoshiro256StarStar Stream(RandomStream stream, ulong seed, params ulong[] keys) =>
        new(Derive(seed, [ManagedKey(stream), .. keys]));

    /// <summary>A managed generator for a seed and keys of the caller's own (tests, benchmarks).</summary>
    public static Xoshiro256StarStar Create(ulong seed, params ulong[] keys) => new(Derive(seed, keys));

    /// <summary>The seed of LibTorch's generator for <paramref name="stream"/> in <paramref name="epoch"/> (0 for Initialization).</summary>
    public static ulong TorchSeed(RandomStream stream, ulong seed, ulong epoch = 0)
    {
        ulong salt = stream switch
        {
            RandomStream.Initialization => 0x1417,
            RandomStream.Dropout => 0xD5,
            RandomStream.FeatureOrder => 0x5EED,
            _ => throw new ArgumentOutOfRangeException(nameof(stream), stream, "a managed stream; use Stream"),
        };
        // (seed, epoch, salt) through SplitMix64 (Steele et al., 2014): nearby inputs give unrelated seeds.
        return Step(seed ^ Step(epoch + Golden) ^ Step(Step(salt) + 0xD1B54A32D192ED03UL));
    }

    private const ulong Golden = 0x9E37_79B9_7F4A_7C15UL;

    /// <summary>One SplitMix64 step: advance by the golden gamma, then finalise.</summary>
    private static ulong Step(ulong z) => SplitMix64.Mix(unchecked(z + Golden));

    private static ulong ManagedKey(RandomStream stream) => stream switch
    {
        RandomStream.Split => 0x5350_4C49_5400_0001UL,
        RandomStream.Shuffle => 0x5348_5546_4C45_0002UL,
        RandomStream.Augment => 0x4155_474D_454E_0003UL,
        _ => throw new ArgumentOutOfRangeException(nameof(stream), stream, "a LibTorch stream; use TorchSeed"),
    };

    /// <summary>Folds keys into a seed with SplitMix64's finaliser, so nearby keys give unrelated seeds.</summary>
    private static ulong Derive(ulong seed, ulong[] keys)
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
