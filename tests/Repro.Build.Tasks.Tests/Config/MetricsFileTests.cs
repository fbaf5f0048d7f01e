namespace Repro.Config.Tests;

public sealed class MetricsFileTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-metrics-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static MetricsFile Sample(double loss = 0.4567891) => new(
        "e", "0123456789abcdef", "fedcba9876543210", ["b.png", "a.png"], 1,
        new NumericsPlatformRecord("p1", [KeyValuePair.Create("cpu_brand", "\"AMD EPYC\""), KeyValuePair.Create("threads", "\"2\"")]),
        new TestResult(4, 3, loss, 0.75, null, 0.5,
            [new ClassResult("cat", 2, 2, 1, 0.6666666, 0.8), new ClassResult("dog", 2, 1, 0.5, 1, 0.6666666)],
            [[2, 0], [1, 1]]),
        [new EpochResult(1, 1.2345678, 0.5, 0.9, 0.75, 0.0002)]);

    [Fact]
    public void ReadToJson_RoundTrip_SameBytes()
    {
        string path = Path.Combine(dir, "metrics.json");
        string json = Sample().ToJson();
        File.WriteAllText(path, json);

        Assert.Equal(json, MetricsFile.Read(path).ToJson());
    }

    [Fact]
    public void ToJson_FixedDecimals_SkippedSortedAndPlatformAfterEpochs()
    {
        string json = Sample().ToJson();

        Assert.Contains("\"loss\": 0.456789,", json);
        Assert.Contains("\"lr\": 0.0002000000", json);
        Assert.Contains("\"files\": [\n      \"a.png\",\n      \"b.png\"\n    ]", json);
        Assert.True(json.IndexOf("\"epochs\"", StringComparison.Ordinal) < json.IndexOf("\"platform\"", StringComparison.Ordinal));
        Assert.Contains("[2, 0]", json);
    }

    [Fact]
    public void Numbers_NonFiniteLoss_LeftOutOfTheSummaryNullInTheFile()
    {
        var metrics = Sample(loss: double.NaN);

        Assert.DoesNotContain("loss", metrics.Test.Numbers().Keys);
        Assert.Contains("\"loss\": null,", metrics.ToJson());
    }

    [Fact]
    public void Read_NotMetrics_NamesTheFile()
    {
        string path = Path.Combine(dir, "metrics.json");
        File.WriteAllText(path, "{\"experiment\": \"e\"}");

        var error = Assert.Throws<InvalidDataException>(() => MetricsFile.Read(path));

        Assert.StartsWith(path + ": not a Repro metrics.json", error.Message);
    }

    [Fact]
    public void ToJson_SeedAndLayout_SeedAfterExperimentLayoutAfterEpochsAndReadBack()
    {
        string path = Path.Combine(dir, "metrics.json");
        string json = (Sample() with { Seed = 3, Layout = InputLayout.ChannelsLast }).ToJson();
        File.WriteAllText(path, json);

        var read = MetricsFile.Read(path);

        Assert.Matches("\"experiment\": \"e\",\n  \"seed\": 3,\n  \"config\"", json);
        Assert.Matches("\"epochs\": 1,\n  \"layout\": \"channels-last\",\n  \"platform\"", json);
        Assert.Equal((3UL, InputLayout.ChannelsLast), (read.Seed!.Value, read.Layout!.Value));
    }

    [Fact]
    public void Read_FileWithoutSeedAndLayout_NullsAndSameBytes()
    {
        string path = Path.Combine(dir, "metrics.json");
        File.WriteAllText(path, Sample().ToJson());

        var read = MetricsFile.Read(path);

        Assert.Null(read.Seed);
        Assert.Null(read.Layout);
        Assert.Equal(Sample().ToJson(), read.ToJson());
    }

    [Fact]
    public void Read_UnknownLayout_InvalidDataNamingTheFile()
    {
        string path = Path.Combine(dir, "metrics.json");
        File.WriteAllText(path, (Sample() with { Layout = InputLayout.Nchw }).ToJson().Replace("\"nchw\"", "\"nhwc\"", StringComparison.Ordinal));

        var error = Assert.Throws<InvalidDataException>(() => MetricsFile.Read(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("nhwc", error.Message);
    }
}
