using Repro.Core.Data;
using Repro.Testing;
using Repro.Core.Validation;
using Xunit.Abstractions;

namespace Repro.Core.Tests.Validation;

/// <summary>torchvision's draws (scripts/distribution-samples.py), written once for the class on first use.</summary>
public sealed class DistributionSamplesFixture : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-distribution-").FullName;
    private readonly Lazy<string> samples;

    public DistributionSamplesFixture() => samples = new(() =>
    {
        var (code, log) = ExternalSystems.Run(ExternalSystems.Python, [ExternalSystems.Script("distribution-samples.py"), dir, DistributionChecks.Draws.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromMinutes(5));
        Assert.True(code == 0, log);
        return dir;
    });

    /// <summary>The folder holding init/ and augment.pth.</summary>
    public string Folder => samples.Value;

    public void Dispose() => Directory.Delete(dir, recursive: true);
}

public sealed class DistributionChecksTests(DistributionSamplesFixture fixture, ITestOutputHelper output) : IClassFixture<DistributionSamplesFixture>
{
    [RequiresFact(ExternalSystem.PyTorch)]
    public void Initialization_FreshModels_EveryTensorDistributedAsTorchvisions()
    {
        var tests = DistributionChecks.Initialization(fixture.Folder);
        output.WriteLine(DistributionChecks.Table(tests));

        Assert.Contains(tests, t => t.Subject == "resnet50 layer1.0.conv3.weight" && t.Test == "KS");
        Assert.Contains(tests, t => t.Subject == "densenet121 features.norm5.running_var" && t.Test == "constant");
        Assert.Contains(tests, t => t.Subject == "resnet50 fc.3.weight" && t.Test == "KS");
        Assert.Empty(DistributionChecks.Failures(tests));
    }

    [RequiresFact(ExternalSystem.PyTorch)]
    public void Augmentation_TenThousandDraws_BoxesAndFlipsDistributedAsTorchvisions()
    {
        var tests = DistributionChecks.Augmentation(fixture.Folder);
        output.WriteLine(DistributionChecks.Table(tests));

        Assert.Equal(DistributionChecks.Sizes.Count * 6, tests.Count);
        // 400x40 is the size where the fallback must actually be exercised, on both sides.
        var fallback = tests.Single(t => t.Subject == "400x40 centre-crop fallback");
        Assert.DoesNotContain("0.00 %", fallback.Repro);
        Assert.DoesNotContain("0.00 %", fallback.Torchvision);
        Assert.Empty(DistributionChecks.Failures(tests));
    }

    [Fact]
    public void KolmogorovSmirnov_SameDistribution_LargePValue()
    {
        var rng = SeededRandom.Create(7);
        double[] a = [.. Enumerable.Range(0, 20000).Select(_ => rng.NextDouble())];
        double[] b = [.. Enumerable.Range(0, 20000).Select(_ => rng.NextDouble())];

        var (d, p) = TwoSampleTests.KolmogorovSmirnov(a, b);

        Assert.InRange(d, 0, 0.02);
        Assert.True(p > 0.01, $"p = {p}");
    }

    [Fact]
    public void KolmogorovSmirnov_StdTwiceAsLarge_Rejected()
    {
        // The size of a fan-mode mistake on ResNet50's 1x1 expansion convolutions (fan_in 64, fan_out 256: std ratio 2),
        // on a tensor of 16,384 elements: the check must see it.
        var rng = SeededRandom.Create(8);
        double[] a = [.. Enumerable.Range(0, 16384).Select(_ => Gaussian(rng))];
        double[] b = [.. Enumerable.Range(0, 16384).Select(_ => 2 * Gaussian(rng))];

        var (_, p) = TwoSampleTests.KolmogorovSmirnov(a, b);

        Assert.True(p < 1e-10, $"p = {p}");
    }

    [Fact]
    public void KolmogorovSmirnov_IntegerSamplesWithTies_ExactStatistic()
    {
        // F_a steps 1/4 at 1, 3/4 at 2, 1 at 3; F_b 0 at 1, 1/2 at 2, 1 at 3: sup |F_a − F_b| = 1/4 at 1 and at 2.
        var (d, _) = TwoSampleTests.KolmogorovSmirnov([1, 2, 2, 3], [2, 3]);

        Assert.Equal(0.25, d, 12);
    }

    [Theory]
    [InlineData(0.5, 0.9639)]
    [InlineData(1.0, 0.2700)]
    [InlineData(1.36, 0.0494)]
    [InlineData(1.63, 0.0098)]
    public void KolmogorovQ_KnownQuantiles_MatchTables(double lambda, double expected)
    {
        Assert.Equal(expected, TwoSampleTests.KolmogorovQ(lambda), 3);
    }

    [Fact]
    public void TwoProportions_FiftyAgainstFiftyFivePercentOfTenThousand_Rejected()
    {
        double same = TwoSampleTests.TwoProportions(5000, 10000, 5030, 10000);
        double apart = TwoSampleTests.TwoProportions(5000, 10000, 5500, 10000);

        Assert.True(same > 0.5, $"p = {same}");
        Assert.True(apart < 1e-10, $"p = {apart}");
    }

    private static double Gaussian(Xoshiro256StarStar rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
