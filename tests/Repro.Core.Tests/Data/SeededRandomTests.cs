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
}
