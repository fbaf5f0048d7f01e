using System.Globalization;
using System.Runtime.InteropServices;

namespace Repro.Core.Engine;

/// <summary>
/// GPU facts TorchSharp does not expose (device name, compute capability, driver and cuDNN versions), read from the
/// CUDA driver API and cuDNN's C API by name. Every reader answers "unknown" when its library or entry point is
/// missing, so CPU-only machines never fail here.
/// </summary>
public static class CudaInfo
{
    public const string Unknown = "unknown";

    // cuDeviceGetAttribute attribute numbers (cuda.h, CUdevice_attribute).
    private const int ComputeCapabilityMajor = 75;
    private const int ComputeCapabilityMinor = 76;

    /// <summary>The driver's CUDA version (cuDriverGetVersion: 1000 * major + 10 * minor), e.g. "12.4".</summary>
    public static string DriverVersion()
    {
        if (Export(Driver, "cuDriverGetVersion") is not { } get)
            return Unknown;
        unsafe
        {
            int version = 0;
            return ((delegate* unmanaged<int*, int>)get)(&version) == 0
                ? string.Create(CultureInfo.InvariantCulture, $"{version / 1000}.{version % 1000 / 10}")
                : Unknown;
        }
    }

    /// <summary>The device's name, as cuDeviceGetName gives it.</summary>
    public static string DeviceName(int ordinal)
    {
        if (Device(ordinal) is not { } device || Export(Driver, "cuDeviceGetName") is not { } get)
            return Unknown;
        unsafe
        {
            byte* name = stackalloc byte[256];
            if (((delegate* unmanaged<byte*, int, int, int>)get)(name, 256, device) != 0)
                return Unknown;
            return Marshal.PtrToStringUTF8((IntPtr)name) ?? Unknown;
        }
    }

    /// <summary>The device's compute capability, e.g. "9.0".</summary>
    public static string ComputeCapability(int ordinal)
    {
        if (Device(ordinal) is not { } device || Export(Driver, "cuDeviceGetAttribute") is not { } get)
            return Unknown;
        unsafe
        {
            int major = 0, minor = 0;
            var attribute = (delegate* unmanaged<int*, int, int, int>)get;
            return attribute(&major, ComputeCapabilityMajor, device) == 0 && attribute(&minor, ComputeCapabilityMinor, device) == 0
                ? string.Create(CultureInfo.InvariantCulture, $"{major}.{minor}")
                : Unknown;
        }
    }

    /// <summary>
    /// The cuDNN LibTorch loaded (by soname the loader returns the copy already in the process), from cudnnGetVersion:
    /// 10000 * major + 100 * minor + patch since cuDNN 9, 1000 * major + 100 * minor + patch before.
    /// </summary>
    public static string CudnnVersion()
    {
        string[] names = OperatingSystem.IsWindows() ? ["cudnn64_9.dll", "cudnn64_8.dll"] : ["libcudnn.so.9", "libcudnn.so.8", "libcudnn.so"];
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, out var lib) || !NativeLibrary.TryGetExport(lib, "cudnnGetVersion", out var get))
                continue;
            unsafe
            {
                ulong v = (ulong)((delegate* unmanaged<nuint>)get)();
                return v >= 90000
                    ? string.Create(CultureInfo.InvariantCulture, $"{v / 10000}.{v / 100 % 100}.{v % 100}")
                    : string.Create(CultureInfo.InvariantCulture, $"{v / 1000}.{v / 100 % 10}.{v % 100}");
            }
        }
        return Unknown;
    }

    private static readonly Lazy<IntPtr?> driver = new(() =>
        NativeLibrary.TryLoad(OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1", out var lib) ? lib : null);

    private static IntPtr? Driver => driver.Value;

    private static IntPtr? Export(IntPtr? lib, string name) =>
        lib is { } handle && NativeLibrary.TryGetExport(handle, name, out var address) ? address : null;

    // cuInit is idempotent; LibTorch has called it already whenever a CUDA device was resolved.
    private static int? Device(int ordinal)
    {
        if (Export(Driver, "cuInit") is not { } init || Export(Driver, "cuDeviceGet") is not { } get)
            return null;
        unsafe
        {
            int device = 0;
            return ((delegate* unmanaged<uint, int>)init)(0) == 0 && ((delegate* unmanaged<int*, int, int>)get)(&device, ordinal) == 0
                ? device
                : null;
        }
    }
}
