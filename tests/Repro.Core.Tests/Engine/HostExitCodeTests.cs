namespace Repro.Core.Tests.Engine;

/// <summary>
/// The F# host's configuration errors: exit code 3 with the error itself, never Argu's usage text (which is for a
/// command line it cannot parse). None of these reach LibTorch, so each runs in a second or two.
/// </summary>
public sealed class HostExitCodeTests : IDisposable
{
    private const int ConfigExitCode = 3;

    private readonly string dir = Directory.CreateTempSubdirectory("repro-host-").FullName;

    public HostExitCodeTests()
    {
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        File.WriteAllText(Path.Combine(dir, "experiments.yaml"), """
            datasets:
              sample:
                kind: idx
                root: data
            experiments:
              - name: a
                dataset: sample
            """);
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private (int ExitCode, List<string> Lines) Host(params string[] arguments) => HostProcess.Exec(dir, arguments);

    private static void NoUsage(List<string> lines) =>
        Assert.DoesNotContain(lines, l => l.Contains("USAGE", StringComparison.Ordinal));

    [Fact]
    public void Split_NegativeSeed_ExitsConfigWithOneLine()
    {
        var (exitCode, lines) = Host("split", "--experiment", "a", "--seed", "-1");

        Assert.Equal(ConfigExitCode, exitCode);
        Assert.Equal(["error: a: stage 'split': --seed must be 0 or more, not -1"], lines);
    }

    [Fact]
    public void Split_UnknownExperiment_ExitsConfigWithItsError()
    {
        var (exitCode, lines) = Host("split", "--experiment", "b");

        Assert.Equal(ConfigExitCode, exitCode);
        Assert.Equal([$"{Path.Combine(dir, "experiments.yaml")}(1,1): error REPRO130: no experiment named 'b' (defined: a)"], lines);
    }

    [Fact]
    public void Split_InvalidConfig_ExitsConfigWithEachError()
    {
        File.AppendAllText(Path.Combine(dir, "experiments.yaml"), "\n    epoch: 3\n");

        var (exitCode, lines) = Host("split", "--experiment", "a");

        Assert.Equal(ConfigExitCode, exitCode);
        Assert.Contains(lines, l => l.EndsWith("(8,5): error REPRO119: unknown key 'epoch'; did you mean 'epochs'?", StringComparison.Ordinal));
        NoUsage(lines);
    }

    [Fact]
    public void Split_MissingConfigFile_ExitsConfigWithItsError()
    {
        var (exitCode, lines) = Host("split", "--experiment", "a", "--config", "missing.yaml");

        Assert.Equal(ConfigExitCode, exitCode);
        Assert.Contains(lines, l => l.EndsWith("error REPRO100: file not found", StringComparison.Ordinal));
        NoUsage(lines);
    }
}
