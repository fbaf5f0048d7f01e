#!/usr/bin/env python3
"""CPU time of a benchmark by kind of work, from `perf record` data: oneDNN's convolution
kernels, LibTorch's own kernels by family, the OpenMP runtime, malloc, the kernel (page faults, scheduling), the .NET
runtime and managed code, the Python interpreter. docs/benchmarks.md ("Where a 32 px step goes") has the commands.

    scripts/perf-split.py repro.data pytorch.data   # percent of samples per kind, side by side

Samples in code that neither a symbol table nor a perf map names are oneDNN's generated kernels (.NET's own JIT code
is named through DOTNET_PerfMapEnabled=1).
"""
import re
import subprocess
import sys
from collections import defaultdict

KINDS = [
    ("oneDNN convolution", lambda dso, sym: "dnnl" in dso or "dnnl::" in sym or "mkldnn" in sym
        or (dso.startswith("[JIT]") and re.fullmatch(r"0x[0-9a-f]+", sym) is not None)),
    ("managed code (.NET)", lambda dso, sym: dso.startswith("[JIT]") or dso.endswith(".dll") or dso.startswith("memfd:doublemapper")),
    (".NET runtime", lambda dso, sym: dso.startswith(("libcoreclr", "libclrjit", "libSystem.", "libLibTorchSharp"))),
    ("Python interpreter", lambda dso, sym: dso.startswith(("python3", "libpython", "libtorch_python"))),
    ("OpenMP runtime (libgomp)", lambda dso, sym: dso.startswith("libgomp")),
    ("malloc / free", lambda dso, sym: dso.startswith("libc.so") and re.search(r"malloc|free|unlink_chunk|consolidate|_int_|tcache|mremap|munmap|mmap", sym) is not None),
    ("libc other (memcpy, memset)", lambda dso, sym: dso.startswith(("libc.so", "libstdc++", "ld-linux"))),
    ("kernel (page faults, scheduling)", lambda dso, sym: dso.startswith("[kernel")),
    ("BatchNorm", lambda dso, sym: "batch_norm" in sym),
    ("optimizer arithmetic (sqrt, div, addcdiv, addcmul, mul, add, fill)",
        lambda dso, sym: re.search(r"sSqrt|vssqrt|sqrt_kernel|div_true_kernel|addcdiv|addcmul|mul_kernel|add_kernel|fill_kernel", sym) is not None),
    ("pooling, ReLU, other ATen kernels", lambda dso, sym: re.search(r"at::native|at::vec|vml|mkl_", sym) is not None),
    ("dispatch and bookkeeping (c10, TensorIterator, autograd)", lambda dso, sym: dso.startswith(("libtorch", "libc10"))),
]


def split(path):
    counts = defaultdict(int)
    script = subprocess.run(["perf", "script", "-i", path, "-F", "ip,sym,dso"], capture_output=True, text=True, check=True)
    for line in script.stdout.splitlines():
        m = re.match(r"\s*([0-9a-f]+)\s+(.*)\s+\((.*)\)\s*$", line)
        if not m:
            continue
        ip, sym, dso = m.group(1), m.group(2).strip(), m.group(3).split("/")[-1]
        if re.fullmatch(r"perf-\d+\.map", dso):
            dso = "[JIT]"
        if sym in ("[unknown]", ""):
            sym = "0x" + ip
        counts[next((k for k, test in KINDS if test(dso, sym)), "other")] += 1
    total = sum(counts.values())
    return {k: 100.0 * n / total for k, n in counts.items()}, total


def main():
    splits = [split(p) for p in sys.argv[1:]]
    sides = [s for s, _ in splits]
    print("| work | " + " | ".join(f"{p} ({n} samples)" for p, (_, n) in zip(sys.argv[1:], splits)) + " |")
    print("|---|" + "---:|" * len(sides))
    for kind in [k for k, _ in KINDS] + ["other"]:
        if any(s.get(kind, 0) >= 0.05 for s in sides):
            print(f"| {kind} | " + " | ".join(f"{s.get(kind, 0):.1f} %" for s in sides) + " |")


if __name__ == "__main__":
    main()
