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


rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
steps = defaultdict(lambda: defaultdict(lambda: {"wall": [], "cpu": [], "rss": [], "batch": 32}))
epochs = defaultdict(lambda: {"first": [], "later": [], "rss": [], "peak": []})
noop = []
for r in rows:
    if r["mode"] in ("train", "eval"):
        d = steps[(r["mode"], r["model"], r["size"], bool(r.get("channels_last")))][r["side"]]
        d["wall"] += r["step_s"]
        d["cpu"] += r.get("cpu_s", [])
        d["rss"].append(r["rss_peak_mb"])
        d["batch"] = r["batch"]
    elif r["mode"] == "epoch":
        e = epochs[r["side"]]
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
    py, rp = epochs.get("pytorch"), epochs.get("repro")
    any_side = py or rp
    label = f"{any_side['model']} {any_side['size']}x{any_side['size']} b{any_side['batch']}, {any_side['images']} JPEGs"
    for which in ("first", "later"):
        a = median(py[which]) if py else float("nan")
        c = median(rp[which]) if rp else float("nan")
        rss_py = " ".join(fmt(x, 0) for x in py["rss"][0]) if py else "-"
        rss_rp = " ".join(fmt(x, 0) for x in rp["rss"][0]) if rp else "-"
        peak = f"{fmt(median(py['peak']) if py else float('nan'), 0)} / {fmt(median(rp['peak']) if rp else float('nan'), 0)}"
        name = "first epoch" if which == "first" else "later epochs"
        print(f"| {label}, {name} | {fmt(a)} | {fmt(c)} | {fmt(c / a, 2)}x | {rss_py if which == 'first' else ''} | {rss_rp if which == 'first' else ''} | {peak if which == 'first' else ''} |")

if noop:
    print()
    print(f"No-op `dotnet build -t:RunExperiments` (everything up to date): median {median(noop):.1f} s of {len(noop)} runs "
          f"({', '.join(f'{x:.1f}' for x in noop)} s); no PyTorch counterpart.")
