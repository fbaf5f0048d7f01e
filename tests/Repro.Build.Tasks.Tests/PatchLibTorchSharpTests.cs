using Microsoft.Build.Utilities;

namespace Repro.Build.Tasks.Tests;

public sealed class PatchLibTorchSharpTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-patch-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>The untouched shim from the NuGet cache (restored for src/Core), copied so the cache is never written.</summary>
    private string CopyOfPackageShim()
    {
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string shim = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(shim), $"TorchSharp's package is restored by this solution: {shim}");
        string copy = Path.Combine(dir, "libLibTorchSharp.so");
        File.Copy(shim, copy);
        return copy;
    }

    private static PatchLibTorchSharp Task(string file, string hostLibrary) => new()
    {
        BuildEngine = new RecordingBuildEngine(),
        Files = [new TaskItem(file)],
        HostLibStdCxx = hostLibrary,
    };

    [Fact]
    public void Execute_HostWithoutVersion_MarksOnlyThatNeedWeak()
    {
        string copy = CopyOfPackageShim();
        string oldHost = Path.Combine(dir, "libstdc++-gcc12.so.6");
        File.WriteAllText(oldHost, "GLIBCXX_3.4.30\0");
        var before = ElfVersionNeeds.Read(File.ReadAllBytes(copy), copy);
        Assert.Contains(before, n => n.Version == "GLIBCXX_3.4.32" && (n.Flags & ElfVersionNeeds.VerFlagWeak) == 0);

        var task = Task(copy, oldHost);
        Assert.True(task.Execute());

        var after = ElfVersionNeeds.Read(File.ReadAllBytes(copy), copy);
        Assert.Single(task.PatchedFiles);
        Assert.All(after.Where(n => n.Version == "GLIBCXX_3.4.32"), n => Assert.NotEqual(0, n.Flags & ElfVersionNeeds.VerFlagWeak));
        // Every other need is left exactly as it was.
        Assert.Equal(before.Where(n => n.Version != "GLIBCXX_3.4.32"), after.Where(n => n.Version != "GLIBCXX_3.4.32"));
    }

    [Fact]
    public void Execute_RunTwice_SecondRunChangesNothing()
    {
        string copy = CopyOfPackageShim();
        string oldHost = Path.Combine(dir, "libstdc++-gcc12.so.6");
        File.WriteAllText(oldHost, "GLIBCXX_3.4.30\0");
        Assert.True(Task(copy, oldHost).Execute());
        byte[] once = File.ReadAllBytes(copy);

        var second = Task(copy, oldHost);
        Assert.True(second.Execute());

        Assert.Empty(second.PatchedFiles);
        Assert.Equal(once, File.ReadAllBytes(copy));
    }

    [Fact]
    public void Execute_HostHasVersion_LeavesFileUntouched()
    {
        string copy = CopyOfPackageShim();
        byte[] original = File.ReadAllBytes(copy);
        string newHost = Path.Combine(dir, "libstdc++-gcc13.so.6");
        File.WriteAllText(newHost, "GLIBCXX_3.4.31\0GLIBCXX_3.4.32\0");

        var task = Task(copy, newHost);
        Assert.True(task.Execute());

        Assert.Empty(task.PatchedFiles);
        Assert.Equal(original, File.ReadAllBytes(copy));
    }

    [Fact]
    public void Execute_NotAnElfFile_LogsErrorNamingFile()
    {
        string bogus = Path.Combine(dir, "libLibTorchSharp.so");
        File.WriteAllText(bogus, "not a shared object");
        string oldHost = Path.Combine(dir, "libstdc++-gcc12.so.6");
        File.WriteAllText(oldHost, "GLIBCXX_3.4.30\0");
        var engine = new RecordingBuildEngine();
        var task = new PatchLibTorchSharp { BuildEngine = engine, Files = [new TaskItem(bogus)], HostLibStdCxx = oldHost };

        Assert.False(task.Execute());

        var error = Assert.Single(engine.Errors);
        Assert.Equal(bogus, error.File);
        Assert.Contains("not an ELF file", error.Message);
    }
}
