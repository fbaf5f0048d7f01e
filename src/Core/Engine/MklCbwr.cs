using System.Globalization;

namespace Repro.Core.Engine;

/// <summary>
/// Intel MKL's Conditional Numerical Reproducibility (CNR) setting, which LibTorch's statically linked MKL reads
/// from MKL_CBWR at its first call: the code branch (ISA class) MKL's kernels run, and with STRICT, results that do
/// not depend on the thread count either (for ?gemm, ?trsm, ?symm). Values and names as in mkl_cbwr.h. LibTorch
/// does not export <c>mkl_cbwr_set/get</c>; it exports the service functions behind them,
/// <c>mkl_serv_cbwr_set/get</c>, with the same arguments and results.
/// </summary>
public static class MklCbwr
{
    /// <summary>MKL_CBWR_STRICT: added to a branch, reproducible whatever the thread count.</summary>
    public const int Strict = 0x10000;

    // mkl_cbwr.h: MKL_CBWR_OFF 0 … MKL_CBWR_AVX512_E1 14 (5 is unused).
    private static readonly (int Value, string Name)[] Branches =
    [
        (0, "OFF"), (1, "BRANCH_OFF"), (2, "AUTO"), (3, "COMPATIBLE"), (4, "SSE2"), (6, "SSSE3"), (7, "SSE4_1"), (8, "SSE4_2"),
        (9, "AVX"), (10, "AVX2"), (11, "AVX512_MIC"), (12, "AVX512"), (13, "AVX512_MIC_E1"), (14, "AVX512_E1"),
    ];

    /// <summary>MKL's setting as its MKL_CBWR spelling ("AVX2,STRICT"), or null when LibTorch does not export the getter.</summary>
    public static string? Current() => Get() is { } value ? Name(value) : null;

    /// <summary>mkl_cbwr_get(MKL_CBWR_ALL): the whole setting (reads MKL_CBWR if nothing was set yet); null when unreachable.</summary>
    public static int? Get()
    {
        if (!TorchRuntime.TryGetLibTorchExport("mkl_serv_cbwr_get", out var get))
            return null;
        unsafe
        {
            return ((delegate* unmanaged<int, int>)get)(-1);
        }
    }

    /// <summary>
    /// mkl_cbwr_set: only before MKL's first computation (afterwards MKL keeps its branch and answers
    /// MKL_CBWR_ERR_MODE_CHANGE_FAILURE unless the value is unchanged). Returns MKL's status (0 = success) or null
    /// when unreachable.
    /// </summary>
    public static int? Set(int value)
    {
        if (!TorchRuntime.TryGetLibTorchExport("mkl_serv_cbwr_set", out var set))
            return null;
        unsafe
        {
            return ((delegate* unmanaged<int, int>)set)(value);
        }
    }

    /// <summary>The MKL_CBWR spelling of a setting: the branch, then ",STRICT" when set.</summary>
    public static string Name(int value)
    {
        int branch = value & 0xFFFF;
        string name = Branches.FirstOrDefault(b => b.Value == branch).Name ?? branch.ToString(CultureInfo.InvariantCulture);
        return (value & Strict) != 0 ? name + ",STRICT" : name;
    }

    /// <summary>Parses an MKL_CBWR spelling ("AVX2", "AVX2,STRICT", "COMPATIBLE").</summary>
    public static int Parse(string text)
    {
        int value = 0;
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.Equals("STRICT", StringComparison.OrdinalIgnoreCase))
                value |= Strict;
            else if (Branches.FirstOrDefault(b => b.Name.Equals(part, StringComparison.OrdinalIgnoreCase)) is { Name: not null } branch)
                value |= branch.Value;
            else
                throw new ArgumentException($"unknown MKL_CBWR branch '{part}' (known: {string.Join(", ", Branches.Select(b => b.Name))}, and STRICT)");
        }
        return value;
    }

    /// <summary>
    /// The code path MKL's vector math (VML: the sqrt, exp, log, tanh… ATen's float kernels call, aten/src/ATen/cpu/vml.h)
    /// runs, as <c>mkl_vml_serv_cpu_detect()</c> answers: chosen from CPUID unless MKL_VML_DEBUG_CPU_TYPE names one
    /// (0-9), read once. 3 is the AVX2 path; null when LibTorch does not export the function.
    /// </summary>
    public static int? VmlCodePath()
    {
        if (!TorchRuntime.TryGetLibTorchExport("mkl_vml_serv_cpu_detect", out var detect))
            return null;
        unsafe
        {
            return ((delegate* unmanaged<int>)detect)();
        }
    }

    /// <summary>MKL's status codes (mkl_cbwr.h MKL_CBWR_ERR_*), for messages.</summary>
    public static string Status(int status) => status switch
    {
        0 => "success",
        -1 => "invalid settings",
        -2 => "invalid input",
        -3 => "branch not supported by this CPU",
        -4 => "unknown branch",
        -8 => "MKL already ran with another setting (mode change failure)",
        _ => "status " + status.ToString(CultureInfo.InvariantCulture),
    };
}
