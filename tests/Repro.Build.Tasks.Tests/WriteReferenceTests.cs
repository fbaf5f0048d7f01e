using Repro.Config;

namespace Repro.Build.Tasks.Tests;

public sealed class WriteReferenceTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-reference-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private (bool Ok, RecordingBuildEngine Engine) Run(string file)
    {
        var engine = new RecordingBuildEngine();
        return (new WriteReference { BuildEngine = engine, File = file }.Execute(), engine);
    }

    [Fact]
    public void Execute_StaleTables_RewritesThemOnceThenLeavesTheFile()
    {
        string file = Path.Combine(dir, "reference.md");
        File.WriteAllText(file, string.Concat(ReferenceDocs.Parts.Keys.Select(p => $"# {p}\n<!-- generated: {p} -->\n| stale |\n<!-- end: {p} -->\n")));

        Assert.True(Run(file).Ok);
        string written = File.ReadAllText(file);
        var stamp = File.GetLastWriteTimeUtc(file);
        File.SetLastWriteTimeUtc(file, stamp.AddHours(-1));
        var (ok, engine) = Run(file);

        Assert.True(ok);
        Assert.DoesNotContain("| stale |", written);
        Assert.Contains(ErrorCodes.MarkdownTable(), written);
        Assert.Equal(stamp.AddHours(-1), File.GetLastWriteTimeUtc(file));
        Assert.Contains(engine.Messages, m => m.Message!.EndsWith("is up to date", StringComparison.Ordinal));
    }

    [Fact]
    public void Execute_MarkersMissing_Repro400NamingThePart()
    {
        string file = Path.Combine(dir, "reference.md");
        File.WriteAllText(file, "# no markers\n");

        var (ok, engine) = Run(file);

        Assert.False(ok);
        var error = Assert.Single(engine.Errors);
        Assert.Equal(("REPRO400", file), (error.Code, error.File));
        Assert.Contains("'dataset-keys'", error.Message);
    }
}
