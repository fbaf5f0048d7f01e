using Repro.Core.Engine;
using Repro.Core.Reports;

namespace Repro.Core.Tests.Reports;

public sealed class MetricsJsonTests
{
    private static readonly TestMetrics Metrics = new(["a", "b"], new long[,] { { 1, 0 }, { 0, 1 } }, 1.0, 2);

    [Fact]
    public void Write_SkippedImages_CountAndEveryFileInOrdinalOrderAfterData()
    {
        string json = MetricsJson.Write("x", "c", "d", Metrics, [], skipped: ["b/2.png", "a/1.jpg", "c/3.jpg", "d/4.jpg"]);

        Assert.Contains("""
              "data": "d",
              "skipped": {
                "count": 4,
                "files": [
                  "a/1.jpg",
                  "b/2.png",
                  "c/3.jpg",
                  "d/4.jpg"
                ]
              },
              "epochs": 0,
            """.ReplaceLineEndings("\n"), json);
    }

    [Fact]
    public void Write_NothingSkipped_SameBytesAsWithoutSkipCorrupt()
    {
        // skip_corrupt that found nothing leaves metrics.json as it was, so turning it on changes no locked bytes.
        Assert.Equal(MetricsJson.Write("x", "c", "d", Metrics, []), MetricsJson.Write("x", "c", "d", Metrics, [], skipped: []));
        Assert.DoesNotContain("skipped", MetricsJson.Write("x", "c", "d", Metrics, []));
    }

    [Theory]
    [InlineData(false, "nchw")]
    [InlineData(true, "channels-last")]
    public void Write_SeedAndInputFormat_RecordsSeedAndTheLayoutThatRan(bool channelsLast, string layout)
    {
        string json = MetricsJson.Write("x", "c", "d", Metrics, [], seed: 7, input: new InputFormat(TorchSharp.torch.ScalarType.Float32, channelsLast));

        Assert.Contains("\"experiment\": \"x\",\n  \"seed\": 7,", json);
        Assert.Contains($"\"epochs\": 0,\n  \"layout\": \"{layout}\",", json);
    }
}
