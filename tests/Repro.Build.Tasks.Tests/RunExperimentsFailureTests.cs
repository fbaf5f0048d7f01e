namespace Repro.Build.Tasks.Tests;

/// <summary>
/// Failures through the targets, with a shell script standing in for the host (-p:_ReproHostCommand): one
/// experiment's stage dies by a signal, as LibTorch's oneDNN does with SIGFPE on some CPUs, the next succeeds.
/// </summary>
[Collection("experiment builds")]
public sealed class RunExperimentsFailureTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-crash-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string ConfigFile()
    {
        TinyIdxDataset.Write(Path.Combine(dir, "tiny"));
        string config = Path.Combine(dir, "experiments.yaml");
        File.WriteAllText(config, """
            datasets:
              tiny:
                kind: idx
                root: tiny
            experiments:
              - name: crash
                dataset: tiny
              - name: fine
                dataset: tiny
            """);
        return config;
    }

    /// <summary>
    /// Arguments: exec &lt;host.dll&gt; &lt;stage&gt; --run-stamp &lt;artifacts/experiments/NAME/stamps/run.json&gt;; the
    /// experiment's name is the stamp's grandparent folder.
    /// </summary>
    private string Host()
    {
        string path = Path.Combine(dir, "host.sh");
        File.WriteAllText(path, """
            #!/bin/sh
            name=$(basename "$(dirname "$(dirname "$5")")")
            echo "$name: $3: working"
            if [ "$name" = crash ]; then kill -FPE $$; fi
            """ + "\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public void RunExperiments_StageKilledBySigfpeThenAnotherSucceeds_FailsWithRepro200NamingSignalAndNoMsb4181()
    {
        string config = ConfigFile();

        var result = ExperimentBuild.Run(config, "RunExperiments", "Experiment=crash%3Bfine", "_ReproHostCommand=" + Host());

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("error REPRO200: experiment 'crash' failed in stage 'split': the host process was killed by SIGFPE (arithmetic fault in native code) (exit code 136)", result.Log);
        Assert.Contains("crash: split: working", result.Log);
        Assert.Contains("docs/troubleshooting.md#a-stage-killed-by-a-signal", result.Log);
        // The experiment after the failed one still ran: one failure does not hide the others' results.
        Assert.Contains("fine:test", result.Ran);
        Assert.DoesNotContain("MSB4181", result.Log);
        Assert.All(result.Log.Split('\n').Where(l => l.Contains(" error ", StringComparison.Ordinal)), l => Assert.Contains("error REPRO200", l));
    }
}
