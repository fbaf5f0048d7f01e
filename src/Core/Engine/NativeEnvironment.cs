using System.Runtime.InteropServices;

namespace Repro.Core.Engine;

/// <summary>
/// The process environment as native libraries see it. On Unix, .NET's <see cref="Environment.SetEnvironmentVariable(string, string)"/>
/// changes only the runtime's own copy: LibTorch, oneDNN and MKL read the C library's <c>environ</c> through
/// <c>getenv</c>, which it never reaches. Variables they read once, at their first use (ATEN_CPU_CAPABILITY,
/// ONEDNN_MAX_CPU_ISA, MKL_CBWR), must be set here before that use.
/// </summary>
public static partial class NativeEnvironment
{
    /// <summary>Sets <paramref name="name"/> for native code (libc <c>setenv</c>) and for .NET alike.</summary>
    /// <exception cref="PlatformNotSupportedException">On Windows, whose C runtimes each keep their own environment copy.</exception>
    public static void Set(string name, string value)
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException($"setting {name} for LibTorch from inside the process is supported on Linux and macOS only");
        if (UnixSetEnv(name, value, 1) != 0)
            throw new InvalidOperationException($"could not set {name} for native code (setenv: errno {Marshal.GetLastPInvokeError()})");
        Environment.SetEnvironmentVariable(name, value);
    }

    /// <summary>The value native code reads (libc <c>getenv</c>); null when unset.</summary>
    public static string? Get(string name) =>
        OperatingSystem.IsWindows() ? Environment.GetEnvironmentVariable(name) : Marshal.PtrToStringUTF8(UnixGetEnv(name));

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int UnixSetEnv(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr UnixGetEnv(string name);
}
