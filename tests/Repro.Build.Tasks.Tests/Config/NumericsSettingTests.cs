namespace Repro.Config.Tests;

/// <summary>The experiment key <c>numerics</c>: parsing, validation and its place in the stage stamps.</summary>
public sealed class NumericsSettingTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-numerics-").FullName;

    public NumericsSettingTests() => Directory.CreateDirectory(Path.Combine(dir, "data"));

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private ExperimentsFile Parse(string settings) =>
        ExperimentsFile.Parse(new StringReader($"""
            datasets:
              sample:
                kind: idx
                root: data
            experiments:
              - name: a
                dataset: sample
            {settings}
            """), Path.Combine(dir, "experiments.yaml"));

    [Fact]
    public void Parse_Unset_NativeAndStampsAsBeforeTheKeyExisted()
    {
        var a = Assert.Single(Parse("").Experiments);

        Assert.Equal(NumericsMode.Native, a.Runtime.Numerics);
        // Left out at its default, so every existing experiment keeps its fingerprints and locked results.
        Assert.DoesNotContain("numerics", a.Canonical(Stage.Train, dir));
        Assert.DoesNotContain("numerics", a.Canonical(Stage.Test, dir));
        Assert.Equal(Assert.Single(Parse("    numerics: native").Experiments).Fingerprint(Stage.Train, dir), a.Fingerprint(Stage.Train, dir));
    }

    [Fact]
    public void Parse_Portable_InTrainAndTestStampsNotSplit()
    {
        var file = Parse("    numerics: portable");

        Assert.Empty(file.Errors);
        var a = Assert.Single(file.Experiments);
        Assert.Equal(NumericsMode.Portable, a.Runtime.Numerics);
        Assert.Contains("\"numerics\": \"portable\"", a.Canonical(Stage.Train, dir));
        Assert.Contains("\"numerics\": \"portable\"", a.Canonical(Stage.Test, dir));
        Assert.DoesNotContain("numerics", a.Canonical(Stage.Split, dir));
        Assert.NotEqual(Assert.Single(Parse("").Experiments).Fingerprint(Stage.Train, dir), a.Fingerprint(Stage.Train, dir));
    }

    [Fact]
    public void Parse_UnknownMode_Repro124ListsTheModes()
    {
        var error = Assert.Single(Parse("    numerics: portabel").Errors);

        Assert.Equal((ErrorCodes.NotAChoice, "'numerics' must be one of native, portable, not 'portabel'; did you mean 'portable'?"), (error.Code, error.Message));
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("cuda")]
    public void Parse_PortableOffTheCpu_Repro128AtTheKey(string device)
    {
        var file = Parse($"    device: {device}\n    numerics: portable");

        var error = Assert.Single(file.Errors);
        Assert.Equal((ErrorCodes.PortableNeedsCpu, $"'numerics: portable' needs 'device: cpu' (it pins the CPU's kernels; CUDA results depend on the GPU), not '{device}'"),
            (error.Code, error.Message));
        Assert.Equal(9, error.Line);
    }

    [Fact]
    public void ScheduledRun_Portable_SurvivesTheRunStamp()
    {
        var a = Assert.Single(Parse("    numerics: portable").Experiments);
        string stamp = Path.Combine(dir, "run.json");
        File.WriteAllText(stamp, ScheduledRun.Create(Path.Combine(dir, "experiments.yaml"), a, null, Path.Combine(dir, "artifacts")).ToJson());

        Assert.Contains("\"numerics\": \"portable\"", File.ReadAllText(stamp));
        Assert.Equal(NumericsMode.Portable, ScheduledRun.Read(stamp).Spec.Runtime.Numerics);
    }

    [Fact]
    public void ScheduledRun_StampFromBeforeTheKey_ReadsAsNative()
    {
        var a = Assert.Single(Parse("").Experiments);
        string stamp = Path.Combine(dir, "run.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(ScheduledRun.Create(Path.Combine(dir, "experiments.yaml"), a, null, Path.Combine(dir, "artifacts")).ToJson())!;
        Assert.True(json["spec"]!["runtime"]!.AsObject().Remove("numerics"));
        File.WriteAllText(stamp, json.ToJsonString());

        Assert.DoesNotContain("\"numerics\"", File.ReadAllText(stamp));
        Assert.Equal(NumericsMode.Native, ScheduledRun.Read(stamp).Spec.Runtime.Numerics);
    }
}
