using System.Reflection;

namespace Repro.Testing;

/// <summary>A system outside the repository that some tests need and a fresh clone may not have.</summary>
public enum ExternalSystem
{
    /// <summary>A Slurm cluster answering <c>sinfo</c> (scripts/slurm-local.sh starts a one-node one).</summary>
    Slurm,

    /// <summary><c>/usr/bin/python3</c> importing torch and torchvision (Debian's python3-torch, python3-torchvision).</summary>
    PyTorch,

    /// <summary>Real Fashion-MNIST at /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist).</summary>
    FashionMnist,

    /// <summary>qemu-user's x86-64 emulator (Debian's qemu-user), to run the host on an emulated CPU of another kind.</summary>
    Qemu,
}

/// <summary>
/// Whether each <see cref="ExternalSystem"/> is here, and what a test that needs an absent one does: it is reported as
/// skipped with the reason and the command that enables it, unless <c>REPRO_REQUIRE_&lt;SYSTEM&gt;=1</c> (e.g.
/// <c>REPRO_REQUIRE_SLURM=1</c>; <c>REPRO_REQUIRE_ALL=1</c> for every system) is set, as CI does: then it runs and fails
/// with the same reason. So a developer's <c>dotnet test</c> passes without a cluster, and CI cannot pass by skipping.
/// </summary>
public static class ExternalSystems
{
    public const string Python = "/usr/bin/python3";

    public const string FashionMnistFolder = "/usr/share/datasets/fashion-mnist";

    public const string Qemu = "/usr/bin/qemu-x86_64";

    private static readonly Dictionary<ExternalSystem, Lazy<string?>> Absence = new()
    {
        [ExternalSystem.Slurm] = new(SlurmAbsence),
        [ExternalSystem.PyTorch] = new(PyTorchAbsence),
        [ExternalSystem.FashionMnist] = new(() => Directory.Exists(FashionMnistFolder) ? null : $"{FashionMnistFolder} is missing"),
        [ExternalSystem.Qemu] = new(QemuAbsence),
    };

    /// <summary>The environment variable that turns a skip into a failure, e.g. REPRO_REQUIRE_SLURM.</summary>
    public static string RequireVariable(ExternalSystem system) => system switch
    {
        ExternalSystem.Slurm => "REPRO_REQUIRE_SLURM",
        ExternalSystem.PyTorch => "REPRO_REQUIRE_PYTORCH",
        ExternalSystem.FashionMnist => "REPRO_REQUIRE_FASHION_MNIST",
        ExternalSystem.Qemu => "REPRO_REQUIRE_QEMU",
        _ => throw new ArgumentOutOfRangeException(nameof(system)),
    };

    /// <summary>What makes the system available on a Debian or Ubuntu machine.</summary>
    public static string HowToEnable(ExternalSystem system) => system switch
    {
        ExternalSystem.Slurm => "to run these tests, start a one-node cluster with `sudo scripts/slurm-local.sh start` (installs slurm-wlm and munge) " +
            "and run `SLURM_CONF=$PWD/artifacts/slurm/slurm.conf dotnet test`",
        ExternalSystem.PyTorch => "to run these tests: `sudo apt-get install python3-torch python3-torchvision`",
        ExternalSystem.FashionMnist => "to run these tests: `sudo apt-get install dataset-fashion-mnist`",
        ExternalSystem.Qemu => "to run these tests: `sudo apt-get install qemu-user` and set REPRO_REQUIRE_QEMU=1 (a crash inside QEMU is retried twice)",
        _ => throw new ArgumentOutOfRangeException(nameof(system)),
    };

    /// <summary>Why the system is not usable here, or null when it is.</summary>
    public static string? Unavailable(ExternalSystem system) => Absence[system].Value;

    /// <summary>Whether CI (or the user) asked for tests needing <paramref name="system"/> to fail rather than skip.</summary>
    public static bool Required(ExternalSystem system) =>
        Environment.GetEnvironmentVariable(RequireVariable(system)) == "1" || Environment.GetEnvironmentVariable("REPRO_REQUIRE_ALL") == "1";

    /// <summary>The skip text for a test needing <paramref name="system"/>: null when it is here or required.</summary>
    public static string? SkipReason(ExternalSystem system) =>
        Unavailable(system) is { } why && !Required(system) ? $"{why}; {HowToEnable(system)} ({RequireVariable(system)}=1 makes this a failure instead of a skip)" : null;

    /// <summary>Throws with the reason when the system is absent: the first line of a test or fixture that needs it.</summary>
    public static void Require(ExternalSystem system)
    {
        if (Unavailable(system) is { } why)
            throw new InvalidOperationException($"{why} ({RequireVariable(system)}=1 requires it); {HowToEnable(system)}");
    }

    /// <summary>The slurm.conf the tests use: $SLURM_CONF, else the one scripts/slurm-local.sh writes under the repository's artifacts/.</summary>
    public static string SlurmConf(string repositoryRoot) =>
        Environment.GetEnvironmentVariable("SLURM_CONF") is { Length: > 0 } c ? c : Path.Combine(repositoryRoot, "artifacts", "slurm", "slurm.conf");

    private static string? SlurmAbsence()
    {
        var (code, output) = Run("sinfo", ["-h"], TimeSpan.FromSeconds(20));
        if (code == -2)
            return "Slurm is not installed (no sinfo on PATH)";
        string conf = Environment.GetEnvironmentVariable("SLURM_CONF") is { Length: > 0 } c ? $"SLURM_CONF={c}" : "SLURM_CONF unset";
        return code == 0 ? null : $"no Slurm cluster answers sinfo ({conf}): {output.Trim().Split('\n')[0]}";
    }

    // qemu-x86_64 emulates x86-64 CPUs for an x86-64 host process only. Opt-in even where it is installed: QEMU 7.2's
    // TCG kills the .NET host with SIGSEGV inside the emulator in some runs (seen on -cpu Haswell and EPYC alike), and a
    // test that fails by chance on every machine with qemu-user would teach people to ignore failures.
    private static string? QemuAbsence() =>
        !File.Exists(Qemu) ? $"{Qemu} not found"
        : !OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64
            ? "qemu-x86_64 emulates x86-64 CPUs for an x86-64 Linux process; this is not one"
            : !Required(ExternalSystem.Qemu)
                ? "emulated-CPU tests are opt-in: QEMU 7.2 itself dies with SIGSEGV in some runs of the .NET host (docs/numerics.md)"
                : null;

    private static string? PyTorchAbsence()
    {
        if (!File.Exists(Python))
            return $"{Python} not found";
        var (code, output) = Run(Python, ["-c", "import torch, torchvision"], TimeSpan.FromSeconds(60));
        return code == 0 ? null : $"{Python} cannot import torch and torchvision: {output.Trim().Split('\n')[^1]}";
    }

    /// <summary>The repository's scripts/<paramref name="fileName"/>, found from the test project directory the build recorded.</summary>
    public static string Script(string fileName)
    {
        string project = Assembly.GetExecutingAssembly().GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "ReproTestProjectDirectory").Value!;
        return Path.GetFullPath(Path.Combine(project, "..", "..", "scripts", fileName));
    }

    /// <summary>Exit code and output; -1 on time-out, -2 when the program cannot be started.</summary>
    public static (int Code, string Output) Run(string program, string[] arguments, TimeSpan timeout) =>
        Repro.Config.IO.ChildProcess.Run(program, arguments, timeout);
}

/// <summary>A fact that needs <see cref="ExternalSystem"/>: skipped with the reason where it is absent (failed under REPRO_REQUIRE_…=1).</summary>
public sealed class RequiresFactAttribute : FactAttribute
{
    public RequiresFactAttribute(ExternalSystem system) => Skip = ExternalSystems.SkipReason(system);
}

/// <summary>A theory that needs <see cref="ExternalSystem"/>, as <see cref="RequiresFactAttribute"/>.</summary>
public sealed class RequiresTheoryAttribute : TheoryAttribute
{
    public RequiresTheoryAttribute(ExternalSystem system) => Skip = ExternalSystems.SkipReason(system);
}
