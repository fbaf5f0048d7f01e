"""Markdown tables from the JSON lines of scripts/bench.sh: medians over all timed steps of all rounds, ratios
Repro/PyTorch as throughput ratios (above 1.0x: Repro faster). Usage: bench-table.py results.jsonl"""
import json
import sys
from collections import defaultdict


def median(v):
    s = sorted(v)
    if not s:
        return float("nan")
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2


# A case the CPU refuses (channels-last where oneDNN would crash) is a line with "skipped": no timing.
rows = [r for r in (json.loads(l) for l in open(sys.argv[1]) if l.strip()) if "skipped" not in r]
steps = defaultdict(lambda: defaultdict(lambda: {"wall": [], "cpu": [], "rss": [], "batch": 32}))
epochs = defaultdict(lambda: {"first": [], "later": [], "rss": [], "peak": []})
# Repro's default layout on the benchmarked platform, as Repro.Bench reads it: the schema's default unless the layout
# table refuses it there (CPUs hiding their cache sizes run NCHW, src/Core/Engine/LayoutTable.cs). Files from before
# 2026-12-07 recorded the schema's default alone (true even where the run went NCHW); files from before it was recorded
# at all get channels-last, right for the issue 15 files of 2026-12-06 and not for the 2026-11-29 ones (NCHW then).
# PyTorch's default is NCHW.
REPRO_DEFAULT_CL = next((r["repro_default_channels_last"] for r in rows if "repro_default_channels_last" in r), True)
noop = []
for r in rows:
    if r["mode"] in ("train", "eval"):
        d = steps[(r["mode"], r["model"], r["size"], bool(r.get("channels_last")))][r["side"]]
        d["wall"] += r["step_s"]
        d["cpu"] += r.get("cpu_s", [])
        d["rss"].append(r["rss_peak_mb"])
        d["batch"] = r["batch"]
    elif r["mode"] == "epoch":
        e = epochs[(r["side"], bool(r.get("channels_last")))]
        e["first"].append(r["epoch_images_per_s"][0])
        e["later"] += r["epoch_images_per_s"][1:]
        e["rss"].append(r["rss_mb_per_epoch"])
        e["peak"].append(r["rss_peak_mb"])
        e["model"], e["size"], e["images"], e["batch"] = r["model"], r["size"], r["images"], r["batch"]
    elif r["mode"] == "noop-build":
        noop.append(r["wall_s"])


def fmt(x, p=1):
    return "-" if x != x else f"{x:,.{p}f}"


print("| step | PyTorch img/s | Repro img/s | Repro/PyTorch | plain TorchSharp img/s | TorchSharp/PyTorch | CPU s/step PyTorch / Repro / plain | CPU ratio | peak RSS MB PyTorch / Repro |")
print("|---|---|---|---|---|---|---|---|---|")
for (mode, model, size, cl), sides in sorted(steps.items(), key=lambda kv: (kv[0][0] != "train", kv[0][1], -kv[0][2], kv[0][3])):
    py, rp, raw = sides.get("pytorch"), sides.get("repro"), sides.get("raw")
    b = (py or rp)["batch"]
    ips = lambda d: b / median(d["wall"]) if d else float("nan")
    cpu = lambda d: median(d["cpu"]) if d and d["cpu"] else float("nan")
    n = lambda d: len(d["wall"]) if d else 0
    layout = ", channels-last" if cl else ""
    print(f"| {mode} {model} {size}x{size} b{b}{layout} (n={n(py)}/{n(rp)}/{n(raw)}) | {fmt(ips(py))} | {fmt(ips(rp))} | "
          f"{fmt(ips(rp) / ips(py), 2)}x | {fmt(ips(raw))} | {fmt(ips(raw) / ips(py), 2)}x | "
          f"{fmt(cpu(py), 2)} / {fmt(cpu(rp), 2)} / {fmt(cpu(raw), 2)} | {fmt(cpu(py) / cpu(rp), 2)}x | "
          f"{fmt(median(py['rss']) if py else float('nan'), 0)} / {fmt(median(rp['rss']) if rp else float('nan'), 0)} |")

if epochs:
    print()
    print("| end-to-end epoch | PyTorch img/s | Repro img/s | Repro/PyTorch | resident MB after each epoch PyTorch | Repro | peak RSS MB PyTorch / Repro |")
    print("|---|---|---|---|---|---|---|")
    for cl in sorted({k[1] for k in epochs}):
        py, rp = epochs.get(("pytorch", cl)), epochs.get(("repro", cl))
        any_side = py or rp
        layout = ", channels-last" if cl else ""
        label = f"{any_side['model']} {any_side['size']}x{any_side['size']} b{any_side['batch']}{layout}, {any_side['images']} JPEGs"
        for which in ("first", "later"):
            a = median(py[which]) if py else float("nan")
            c = median(rp[which]) if rp else float("nan")
            rss_py = " ".join(fmt(x, 0) for x in py["rss"][0]) if py else "-"
            rss_rp = " ".join(fmt(x, 0) for x in rp["rss"][0]) if rp else "-"
            peak = f"{fmt(median(py['peak']) if py else float('nan'), 0)} / {fmt(median(rp['peak']) if rp else float('nan'), 0)}"
            name = f"first epoch (n={len(py['first']) if py else 0}/{len(rp['first']) if rp else 0})" if which == "first" else "later epochs"
            print(f"| {label}, {name} | {fmt(a)} | {fmt(c)} | {fmt(c / a, 2)}x | {rss_py if which == 'first' else ''} | {rss_rp if which == 'first' else ''} | {peak if which == 'first' else ''} |")


def rate(sides, side):
    d = sides.get(side)
    return d["batch"] / median(d["wall"]) if d and d["wall"] else float("nan")


# Issue 15's goals: each Repro default at least PyTorch's default (NCHW), Repro's best layout at least PyTorch's best.
cases = sorted({(m, mo, sz) for (m, mo, sz, _) in steps}, key=lambda k: (k[0] != "train", k[1], -k[2]))
if cases:
    print()
    print("| step | PyTorch default (NCHW) img/s | Repro default img/s | default ratio | PyTorch best img/s | Repro best img/s | best ratio |")
    print("|---|---|---|---|---|---|---|")
    for mode, model, size in cases:
        nchw, cl = steps.get((mode, model, size, False), {}), steps.get((mode, model, size, True), {})
        py_default, rp_default = rate(nchw, "pytorch"), rate(cl if REPRO_DEFAULT_CL else nchw, "repro")
        py_best = max((x for x in (rate(nchw, "pytorch"), rate(cl, "pytorch")) if x == x), default=float("nan"))
        rp_opts = [(x, name) for x, name in ((rate(nchw, "repro"), "NCHW"), (rate(cl, "repro"), "channels-last")) if x == x]
        rp_best, rp_best_name = max(rp_opts) if rp_opts else (float("nan"), "-")
        py_best_name = "channels-last" if py_best == rate(cl, "pytorch") else "NCHW"
        print(f"| {mode} {model} {size}x{size} | {fmt(py_default)} | {fmt(rp_default)} ({'channels-last' if REPRO_DEFAULT_CL else 'NCHW'}) | "
              f"{fmt(rp_default / py_default, 2)}x | {fmt(py_best)} ({py_best_name}) | {fmt(rp_best)} ({rp_best_name}) | {fmt(rp_best / py_best, 2)}x |")

# numerics: portable against native, both Repro (bench.sh PORTABLE=1): the cost of the same bits on every CPU of the
# class. "as an experiment runs": the default layout (channels-last) where the CPU allows it, NCHW where native
# refuses it (CPUs hiding their cache sizes; portable never refuses, its convolutions are not oneDNN's).
portable_cases = sorted({(m, mo, sz) for (m, mo, sz, _), sides in steps.items() if "portable" in sides},
                        key=lambda k: (k[0] != "train", k[1], k[2]))
if portable_cases:
    print()
    print("| step | native NCHW img/s | native channels-last img/s | portable NCHW img/s | portable channels-last img/s | as an experiment runs: portable time / native time | CPU s/step native / portable (as run) |")
    print("|---|---|---|---|---|---|---|")
    for mode, model, size in portable_cases:
        nchw, cl = steps.get((mode, model, size, False), {}), steps.get((mode, model, size, True), {})
        native = (cl if REPRO_DEFAULT_CL and "repro" in cl else nchw).get("repro")
        port = (cl if REPRO_DEFAULT_CL and "portable" in cl else nchw).get("portable")
        native_name = "channels-last" if native is cl.get("repro") and native is not None else "NCHW"
        port_name = "channels-last" if port is cl.get("portable") and port is not None else "NCHW"
        ratio = median(port["wall"]) / median(native["wall"]) if native and port else float("nan")
        cpu = lambda d: median(d["cpu"]) if d and d["cpu"] else float("nan")
        b = (native or port)["batch"]
        print(f"| {mode} {model} {size}x{size} b{b} | {fmt(rate(nchw, 'repro'))} | {fmt(rate(cl, 'repro'))} | {fmt(rate(nchw, 'portable'))} | "
              f"{fmt(rate(cl, 'portable'))} | {fmt(ratio, 2)}x ({port_name} / {native_name}) | {fmt(cpu(native), 2)} / {fmt(cpu(port), 2)} |")

if noop:
    print()
    print(f"No-op `dotnet build -t:RunExperiments` (everything up to date): median {median(noop):.1f} s of {len(noop)} runs "
          f"({', '.join(f'{x:.1f}' for x in noop)} s); no PyTorch counterpart.")
