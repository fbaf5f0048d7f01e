using System.Reflection;
using Repro.Config;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Engine;

/// <summary>Process-wide LibTorch settings that decide speed and reproducibility.</summary>
public static class TorchRuntime
{
    /// <summary>Resolves the experiment's device, failing clearly when CUDA is asked for but absent.</summary>
    public static Device ResolveDevice(DeviceChoice device) => device switch
    {
        DeviceChoice.Cpu => CPU,
        DeviceChoice.Cuda when cuda.is_available() => CUDA,
        DeviceChoice.Cuda => throw new InvalidOperationException("device 'cuda' was asked for, but CUDA is not available (is the build using -p:ReproTorchBackend=cuda and is an NVIDIA driver present?)"),
        DeviceChoice.Auto => cuda.is_available() ? CUDA : CPU,
        _ => throw new ArgumentOutOfRangeException(nameof(device), device, null),
    };

    /// <summary>
    /// Fixes the thread count (CPU reductions are only reproducible for a fixed count), asks LibTorch for
    /// deterministic algorithms and sets TF32 on CUDA.
    /// </summary>
    /// <returns>Whether LibTorch confirmed deterministic algorithms (see <see cref="DeterministicAlgorithms"/>).</returns>
    public static bool Configure(int threads, Device device, bool tf32)
    {
        torch.set_num_threads(threads);
        bool deterministic = SetDeterministicAlgorithms(true);
        // Since LibTorch 2.1 the deterministic mode also fills every new uninitialised tensor with NaN
        // (torch.utils.deterministic.fill_uninitialized_memory), a guard against kernels that read memory they
        // never wrote. Every kernel Repro runs writes its whole output, so the fill only costs time: it was 3-4 %
        // of an evaluation step on the CPU (batch norm and oneDNN outputs, `perf record`; docs/benchmarks.md).
        SetDeterministicFillUninitializedMemory(false);
        if (device.type == DeviceType.CUDA)
        {
            torch.backends.cuda.matmul.allow_tf32 = tf32;
            torch.backends.cudnn.allow_tf32 = tf32;
        }
        return deterministic;
    }

    /// <summary>
    /// Moves a host batch to <paramref name="device"/>. On CUDA the batch goes through page-locked (pinned) host
    /// memory and the copy is asynchronous (non_blocking), as PyTorch's DataLoader(pin_memory=True) +
    /// <c>.to(device, non_blocking=True)</c> do; on the CPU it is <c>to(device)</c> unchanged.
    /// </summary>
    public static Tensor ToDevice(Tensor hostTensor, Device device)
    {
        if (device.type != DeviceType.CUDA || hostTensor.device_type != DeviceType.CPU)
            return hostTensor.to(device);
        using var pinned = hostTensor.pin_memory();
        return pinned.to(device, non_blocking: true);
    }

    /// <summary>Seeds LibTorch's CPU and CUDA generators (TorchSharp's manual_seed seeds the CPU one only).</summary>
    public static void Seed(ulong seed)
    {
        long s = unchecked((long)(seed & 0x7fff_ffff_ffff_ffffUL));
        torch.manual_seed(s);
        if (cuda.is_available())
            torch.cuda.manual_seed_all(s);
    }

    /// <summary>TorchSharp's assembly version, e.g. 0.107.0.</summary>
    public static string TorchSharpVersion =>
        typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(torch).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>The LibTorch version TorchSharp was built against.</summary>
    public static string LibTorchVersion => torch.__version__;

    /// <summary>A human name for the device: CPU model or "CUDA".</summary>
    public static string DeviceName(Device device)
    {
        if (device.type == DeviceType.CUDA)
            return "CUDA device " + device.index;
        try
        {
            var model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (model is not null)
                return model[(model.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
        }
        return RuntimeInformation.ProcessArchitecture.ToString() + " CPU";
    }

    /// <summary>
    /// Whether LibTorch's deterministic-algorithms flag is on, read back from LibTorch itself; <c>null</c> when
    /// its entry points cannot be reached (then the report says so).
    /// </summary>
    public static bool? DeterministicAlgorithms => ContextFlag("_ZNK2at7Context23deterministicAlgorithmsEv");

    /// <summary>Sets LibTorch's deterministic-algorithms flag; true when it reads back as asked.</summary>
    // TorchSharp exposes no setter for at::globalContext().setDeterministicAlgorithms (Python's
    // torch.use_deterministic_algorithms); libtorch_cpu exports the C++ member at::Context::setDeterministicAlgorithms(bool,
    // bool warn_only) (ATen/Context.h) only under its Itanium-mangled name, so it is looked up by that name.
    public static bool SetDeterministicAlgorithms(bool on)
    {
        if (Context() is not (var lib, var context) || !NativeLibrary.TryGetExport(lib, "_ZN2at7Context26setDeterministicAlgorithmsEbb", out var set))
            return false;
        unsafe
        {
            ((delegate* unmanaged<IntPtr, byte, byte, void>)set)(context, on ? (byte)1 : (byte)0, 0);
        }
        return DeterministicAlgorithms == on;
    }

    /// <summary>Whether deterministic mode fills new tensors with NaN, read back from LibTorch; <c>null</c> when unreachable.</summary>
    public static bool? DeterministicFillUninitializedMemory => ContextFlag("_ZNK2at7Context36deterministicFillUninitializedMemoryEv");

    private static void SetDeterministicFillUninitializedMemory(bool on) =>
        SetContextFlag("_ZN2at7Context39setDeterministicFillUninitializedMemoryEb", on);

    /// <summary>
    /// Whether LibTorch may route CPU operators (convolutions above all) to oneDNN, read back from LibTorch
    /// (<c>at::Context::userEnabledMkldnn</c>, Python's <c>torch.backends.mkldnn.enabled</c>); <c>null</c> when unreachable.
    /// </summary>
    public static bool? OneDnnEnabled => ContextFlag("_ZNK2at7Context17userEnabledMkldnnEv");

    /// <summary>Sets <see cref="OneDnnEnabled"/>; off, convolutions run ATen's own kernels (im2col + BLAS GEMM). Returns the value read back.</summary>
    public static bool? SetOneDnnEnabled(bool on) => SetContextFlag("_ZN2at7Context20setUserEnabledMkldnnEb", on) ? OneDnnEnabled : null;

    /// <summary>
    /// Whether LibTorch may use NNPACK for CPU convolution forwards (batches of 16 and more, when NNPACK initialises on
    /// the CPU), read back (<c>at::Context::userEnabledNNPACK</c>); <c>null</c> when unreachable.
    /// </summary>
    public static bool? NnpackEnabled => ContextFlag("_ZNK2at7Context17userEnabledNNPACKEv");

    /// <summary>
    /// Whether NNPACK initialised on this CPU (<c>at::native::_nnpack_available()</c>; the first call tries, and LibTorch
    /// warns when it cannot); <c>null</c> when unreachable. Where it is false, NNPACK never runs whatever the switch says.
    /// </summary>
    public static bool? NnpackAvailable()
    {
        if (!TryGetLibTorchExport("_ZN2at6native17_nnpack_availableEv", out var available))
            return null;
        unsafe
        {
            return ((delegate* unmanaged<byte>)available)() != 0;
        }
    }

    /// <summary>Sets <see cref="NnpackEnabled"/>. Returns the value read back.</summary>
    public static bool? SetNnpackEnabled(bool on) => SetContextFlag("_ZN2at7Context20setUserEnabledNNPACKEb", on) ? NnpackEnabled : null;

    // A `void at::Context::set…(bool)` member by its mangled name; false when unreachable.
    private static bool SetContextFlag(string mangledSetter, bool on)
    {
        if (Context() is not (var lib, var context) || !NativeLibrary.TryGetExport(lib, mangledSetter, out var set))
            return false;
        unsafe
        {
            ((delegate* unmanaged<IntPtr, byte, void>)set)(context, on ? (byte)1 : (byte)0);
        }
        return true;
    }

    /// <summary>Calls a <c>bool at::Context::…() const</c> getter by its mangled name; <c>null</c> when unreachable.</summary>
    internal static bool? ContextFlag(string mangledGetter) => ContextByte(mangledGetter) is { } b ? b != 0 : null;

    /// <summary>
    /// Calls an <c>at::Context::…() const</c> getter returning a bool or a one-byte enum by its mangled name and
    /// gives the raw byte; <c>null</c> when unreachable.
    /// </summary>
    internal static byte? ContextByte(string mangledGetter)
    {
        if (Context() is not (var lib, var context) || !NativeLibrary.TryGetExport(lib, mangledGetter, out var get))
            return null;
        unsafe
        {
            return ((delegate* unmanaged<IntPtr, byte>)get)(context);
        }
    }

    /// <summary>
    /// Calls a LibTorch function <c>std::string f()</c> by its mangled name (e.g. <c>at::get_cpu_capability()</c>,
    /// which TorchSharp does not wrap); <c>null</c> when unreachable. Only on Linux x64, where the layout of
    /// libstdc++'s std::string (pointer, length, 16-byte local buffer) and the System V ABI (a non-trivial return
    /// value goes through a hidden pointer in the first argument register) are known; other platforms say null.
    /// </summary>
    internal static string? CxxStringFunction(string mangledName)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64
            || LibTorch is not { } lib || !NativeLibrary.TryGetExport(lib, mangledName, out var function))
            return null;
        unsafe
        {
            byte* text = stackalloc byte[32];
            ((delegate* unmanaged<byte*, byte*>)function)(text);
            byte* data = *(byte**)text;
            long length = *(long*)(text + 8);
            string value = System.Text.Encoding.UTF8.GetString(data, checked((int)length));
            // Short strings live in the local buffer; a longer one was allocated with operator new and must be
            // given back with libstdc++'s operator delete.
            if (data != text + 16 && NativeLibrary.TryLoad("libstdc++.so.6", out var cxx) && NativeLibrary.TryGetExport(cxx, "_ZdlPv", out var delete))
                ((delegate* unmanaged<byte*, void>)delete)(data);
            return value;
        }
    }

    /// <summary>LibTorch's library handle and <c>at::globalContext()</c>, once TorchSharp has loaded it.</summary>
    private static (IntPtr Library, IntPtr Context)? Context()
    {
        if (LibTorch is not { } lib || !NativeLibrary.TryGetExport(lib, "_ZN2at13globalContextEv", out var getContext))
            return null;
        unsafe
        {
            return (lib, ((delegate* unmanaged<IntPtr>)getContext)());
        }
    }

    /// <summary>Looks up an export of libtorch_cpu by its (mangled) name.</summary>
    internal static bool TryGetLibTorchExport(string name, out IntPtr address)
    {
        address = IntPtr.Zero;
        return LibTorch is { } lib && NativeLibrary.TryGetExport(lib, name, out address);
    }

    private static readonly Lazy<IntPtr?> libTorch = new(LoadLibTorch);

    private static IntPtr? LibTorch => libTorch.Value;

    // By bare name the loader returns the copy TorchSharp already loaded; the explicit paths cover hosts whose
    // loader does not match by name (the packages place it under runtimes/<rid>/native).
    private static IntPtr? LoadLibTorch()
    {
        _ = torch.get_num_threads();
        string name = OperatingSystem.IsWindows() ? "torch_cpu.dll" : OperatingSystem.IsMacOS() ? "libtorch_cpu.dylib" : "libtorch_cpu.so";
        string[] candidates =
        [
            name,
            Path.Combine(AppContext.BaseDirectory, name),
            Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native", name),
        ];
        foreach (var candidate in candidates)
            if (NativeLibrary.TryLoad(candidate, out var handle))
                return handle;
        return null;
    }
}
