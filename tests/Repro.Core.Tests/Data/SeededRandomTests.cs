using Repro.Core.Data;

namespace Repro.Core.Tests.Data;

public class SeededRandomTests
{
    [Fact]
    public void Xoshiro256StarStar_ReferenceState_MatchesReferenceOutputs()
    {
        // Outputs of the reference C code (prng.di.unimi.it/xoshiro256starstar.c) for state {1, 2, 3, 4}.
        var rng = new Xoshiro256StarStar(1, 2, 3, 4);

        Assert.Equal(11520UL, rng.NextUInt64());
        Assert.Equal(0UL, rng.NextUInt64());
        Assert.Equal(1509978240UL, rng.NextUInt64());
    }

    [Fact]
    public void SplitMix64_Seed1234567_MatchesReferenceOutput()
    {
        var state = 1234567UL;

        Assert.Equal(6457827717110365317UL, SplitMix64.Next(ref state));
    }

    [Fact]
    public void Create_SameKeys_SameStream_OtherKeys_OtherStream()
    {
        var a = SeededRandom.Create(42, 1, 7);
        var b = SeededRandom.Create(42, 1, 7);
        var c = SeededRandom.Create(42, 1, 8);
        var d = SeededRandom.Create(42, 7, 1);

        var first = a.NextUInt64();
        Assert.Equal(first, b.NextUInt64());
        Assert.NotEqual(first, c.NextUInt64());
        Assert.NotEqual(first, d.NextUInt64());
    }

    [Fact]
    public void NextInt_SmallBound_StaysInRangeAndHitsEveryValue()
    {
        var rng = SeededRandom.Create(3);
        var seen = new int[7];
        for (var i = 0; i < 7000; i++)
        {
            seen[rng.NextInt(7)]++;
        }

        Assert.All(seen, n => Assert.InRange(n, 850, 1150));
    }

    [Fact]
    public void Shuffle_SameSeed_SamePermutation()
    {
        var x = Enumerable.Range(0, 50).ToList();
        var y = Enumerable.Range(0, 50).ToList();

        SeededRandom.Create(9).Shuffle(x);
        SeededRandom.Create(9).Shuffle(y);

        Assert.Equal(x, y);
        Assert.NotEqual(Enumerable.Range(0, 50), x);
        Assert.Equal(Enumerable.Range(0, 50), x.Order());
    }

    // Values of the LibTorch seed derivation as the first locked results were produced (TorchRuntime.Derive then):
    // a change here changes every locked result.
    [Theory]
    [InlineData(RandomStream.Initialization, 1UL, 0UL, 0xaf837a35c0c34ce0UL)]
    [InlineData(RandomStream.Dropout, 1UL, 3UL, 0xd55b1be1638b2d7cUL)]
    [InlineData(RandomStream.FeatureOrder, 7UL, 2UL, 0xd81befc0a375120aUL)]
    public void TorchSeed_LockedStreams_KeepTheirValues(RandomStream stream, ulong seed, ulong epoch, ulong expected) =>
        Assert.Equal(expected, SeededRandom.TorchSeed(stream, seed, epoch));

    [Fact]
    public void TorchSeed_EachOfSeedEpochStream_ChangesTheSeed()
    {
        ulong baseSeed = SeededRandom.TorchSeed(RandomStream.Dropout, 1, 0);

        Assert.Equal(4, new[] { baseSeed, SeededRandom.TorchSeed(RandomStream.Dropout, 2, 0), SeededRandom.TorchSeed(RandomStream.Dropout, 1, 1),
            SeededRandom.TorchSeed(RandomStream.Initialization, 1, 0) }.Distinct().Count());
    }

    [Fact]
    public void Create_ManagedStream_IsTheSeedWithTheStreamsKey()
    {
        // The managed keys are the streams' identities since the first locked results (the split's is "SPLIT\0\0\1").
        var named = SeededRandom.Stream(RandomStream.Split, 3, 4);
        var keyed = SeededRandom.Create(3, 0x5350_4C49_5400_0001UL, 4);

        Assert.Equal(keyed.NextUInt64(), named.NextUInt64());
    }
}
