#!/usr/bin/env python3
"""Runs Repro's numerics probe under each setting and CPU kind and writes the tables of docs/numerics.md.

    scripts/numerics-table.py                      # every setting on this CPU, every qemu CPU model below
    scripts/numerics-table.py --cpus native        # this CPU only
    scripts/numerics-table.py --cpus Haswell,EPYC --settings default,portable
    scripts/numerics-table.py --render-only        # redraw the tables from artifacts/numerics/*.json

Each (CPU kind, setting) runs `Repro.Experiments numerics-probe --json --item-markers` once, with
ONEDNN_VERBOSE=1 so that every oneDNN primitive it executes names its implementation; the verbose lines after
`# probe-item <name>` belong to that item. Other CPU kinds are emulated with qemu-user (`qemu-x86_64 -cpu
<model>`, Debian's qemu-user), which changes the vendor, family, model, cache leaves and instruction sets the
process sees; QEMU 7.2's TCG has AVX2 but not AVX-512. Results go to artifacts/numerics/<cpu>--<setting>.json;
the tables replace the text between the `numerics-table` markers of docs/numerics.md.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOST = REPO / "artifacts/bin/Repro.Experiments/release/Repro.Experiments.dll"
OUT = REPO / "artifacts/numerics"
DOC = REPO / "docs/numerics.md"

# (name, environment, host arguments, description). The environment reaches LibTorch from process start.
SETTINGS = [
    ("default", {}, [], "as experiments run (threads 2, deterministic algorithms on)"),
    ("onednn-avx2", {"ONEDNN_MAX_CPU_ISA": "AVX2"}, [], "ONEDNN_MAX_CPU_ISA=AVX2"),
    ("onednn-avx512", {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}, [], "ONEDNN_MAX_CPU_ISA=AVX512_CORE"),
    ("onednn-avx", {"ONEDNN_MAX_CPU_ISA": "AVX"}, [], "ONEDNN_MAX_CPU_ISA=AVX"),
    ("aten-default", {"ATEN_CPU_CAPABILITY": "default"}, [], "ATEN_CPU_CAPABILITY=default"),
    ("aten-avx2", {"ATEN_CPU_CAPABILITY": "avx2"}, [], "ATEN_CPU_CAPABILITY=avx2"),
    ("aten-avx512", {"ATEN_CPU_CAPABILITY": "avx512"}, [], "ATEN_CPU_CAPABILITY=avx512"),
    ("mkl-auto", {"MKL_CBWR": "AUTO"}, [], "MKL_CBWR=AUTO"),
    ("mkl-compatible", {"MKL_CBWR": "COMPATIBLE"}, [], "MKL_CBWR=COMPATIBLE"),
    ("mkl-avx2", {"MKL_CBWR": "AVX2"}, [], "MKL_CBWR=AVX2"),
    ("mkl-avx512", {"MKL_CBWR": "AVX512"}, [], "MKL_CBWR=AVX512"),
    ("mkl-avx2-strict", {"MKL_CBWR": "AVX2,STRICT"}, [], "MKL_CBWR=AVX2,STRICT"),
    ("mkl-avx512-strict", {"MKL_CBWR": "AVX512,STRICT"}, [], "MKL_CBWR=AVX512,STRICT"),
    ("all-avx2", {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"}, [],
     "ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2 (issue 28's attempt)"),
    ("onednn-off", {}, ["--no-onednn"], "oneDNN off (setUserEnabledMkldnn(false))"),
    ("onednn-off-nnpack-off", {}, ["--no-onednn", "--no-nnpack"], "oneDNN and NNPACK off"),
    ("nondeterministic", {}, ["--no-deterministic"], "deterministic algorithms off"),
    ("threads-1", {}, ["--threads", "1"], "1 thread"),
    ("onednn-off-threads-1", {}, ["--no-onednn", "--threads", "1"], "oneDNN off, 1 thread"),
    ("vml-avx2", {"MKL_VML_DEBUG_CPU_TYPE": "3"}, [], "MKL_VML_DEBUG_CPU_TYPE=3 (MKL's vector math on its AVX2 path)"),
    ("pins-avx2-strict", {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2,STRICT", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_VML_DEBUG_CPU_TYPE": "3"},
     ["--no-onednn", "--no-nnpack"], "the portable pins with MKL_CBWR=AVX2,STRICT instead of COMPATIBLE (a candidate set aside)"),
    ("pins-vml-unpinned", {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "AVX2"}, ["--no-onednn", "--no-nnpack"],
     "the portable pins without MKL_VML_DEBUG_CPU_TYPE (a candidate set aside)"),
    ("portable", {}, ["--numerics", "portable"],
     "numerics: portable (Repro's pins: oneDNN and NNPACK off, ATEN_CPU_CAPABILITY=avx2, MKL_CBWR=COMPATIBLE, MKL_VML_DEBUG_CPU_TYPE=3, ONEDNN_MAX_CPU_ISA=AVX2; threads 2)"),
    ("portable-threads-1", {}, ["--numerics", "portable", "--threads", "1"], "numerics: portable, 1 thread"),
    ("portable-env-avx512", {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE", "ATEN_CPU_CAPABILITY": "avx512", "MKL_CBWR": "AVX512", "MKL_VML_DEBUG_CPU_TYPE": "5"},
     ["--numerics", "portable"], "numerics: portable with AVX-512 caps already in the environment (portable overrides them)"),
]

# qemu-user CPU models: (model, vendor and ISA as QEMU 7.2's TCG presents them).
QEMU_CPUS = {
    "Haswell": "GenuineIntel family 6 model 60, AVX2+FMA, caches in leaf 4",
    "Skylake-Client": "GenuineIntel family 6 model 94, AVX2+FMA, caches in leaf 4",
    "EPYC": "AuthenticAMD family 23 model 1 (Zen), AVX2+FMA, caches hidden (no topoext)",
    "Nehalem": "GenuineIntel family 6 model 26, SSE4.2, no AVX",
}
QEMU_SETTINGS = {
    "Haswell": ["portable", "default", "onednn-avx2", "pins-avx2-strict", "pins-vml-unpinned", "portable-threads-1"],
    "EPYC": ["portable", "default", "onednn-avx2", "pins-avx2-strict", "pins-vml-unpinned"],
    "Skylake-Client": ["portable", "default"],
    "Nehalem": ["portable", "default"],
}

ITEM_COLUMNS = [
    ("conv3x3", ["y", "dx", "dw"]),
    ("conv3x3-cl", ["y", "dx", "dw"]),
    ("conv1x1s2", ["y", "dx", "dw"]),
    ("conv1x1s2-cl", ["y", "dx", "dw"]),
    ("linear", ["y", "dx", "dw", "db"]),
    ("elementwise", ["sqrt", "exp", "log", "tanh", "sigmoid", "adam"]),
    ("resnet50-step", ["init"]),
    ("resnet50-step", ["loss", "grads", "params"]),
    ("resnet50-step-cl", ["loss", "grads", "params"]),
    ("densenet121-step", ["init"]),
    ("densenet121-step", ["loss", "grads", "params"]),
    ("densenet121-step-cl", ["loss", "grads", "params"]),
]


def column_name(item, parts):
    if parts == ["init"]:
        return item.replace("-step", " init")
    return item


def run_probe(cpu, setting, timeout):
    name, env_extra, args, _ = setting
    env = dict(os.environ)
    for key in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "MKL_CBWR", "MKL_VML_DEBUG_CPU_TYPE", "MKL_ENABLE_INSTRUCTIONS"):
        env.pop(key, None)
    env.update(env_extra)
    env["ONEDNN_VERBOSE"] = "1"
    dotnet = shutil.which("dotnet")
    command = [os.path.realpath(dotnet), "exec", str(HOST), "numerics-probe", "--json", "--item-markers", *args]
    if cpu != "native":
        # QEMU 7.2's TCG itself dies with SIGSEGV in MKL's vector math on the 'elementwise' item (every -cpu model, native
        # or portable), which would lose the items after it: emulated runs leave it out.
        emulated = [item for item, _ in ITEM_COLUMNS if item != "elementwise"]
        command += ["--items", *dict.fromkeys(emulated)]
        command = ["qemu-x86_64", "-cpu", cpu, *command]
        # .NET maps its JIT-compiled code twice (W^X: a writable and an executable view of the same pages); qemu-user
        # does not see writes through the other view, runs stale translations and dies with SIGSEGV (first seen when
        # the GC patched code). With one mapping it runs. Code mappings do not touch tensor arithmetic.
        env["DOTNET_EnableWriteXorExecute"] = "0"
    start = time.time()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.time() - start
    record = {"cpu": cpu, "setting": name, "seconds": round(seconds, 1), "exit": proc.returncode}
    if proc.returncode != 0:
        tail = [l for l in proc.stderr.splitlines() if "TCG doesn't support" not in l][-5:]
        markers = [l.split()[2] for l in proc.stdout.splitlines() if l.startswith("# probe-item ")]
        where = f" in item {markers[-1]}" if markers else ""
        record["error"] = f"exit {proc.returncode}{where}: " + (" / ".join(tail) or "no message")
        return record
    stdout = proc.stdout
    json_start = stdout.find("\n{")
    record["probe"] = json.loads(stdout[json_start + 1:])
    impls, item = {}, None
    for line in stdout[:json_start].splitlines():
        if line.startswith("# probe-item "):
            item = line.split()[2]
            continue
        if item and line.startswith("onednn_verbose") and ",exec," in line:
            fields = line.split(",")
            i = fields.index("exec")
            kind, impl, prop = fields[i + 2], fields[i + 3], fields[i + 4]
            if kind == "reorder":
                continue
            # oneDNN's verbose lines carry no direction for backward kernels other than prop_kind.
            entry = f"{kind} {prop}: {impl}"
            impls.setdefault(item, [])
            if entry not in impls[item]:
                impls[item].append(entry)
    record["onednn"] = impls
    return record


def digest(values):
    return hashlib.sha256(" ".join(values).encode()).hexdigest()[:6]


def render(records):
    """The markdown tables from the saved records."""
    lines = []
    cpus = []
    for r in records:
        if r["cpu"] not in cpus:
            cpus.append(r["cpu"])
    setting_order = [s[0] for s in SETTINGS]
    records = sorted(records, key=lambda r: (cpus.index(r["cpu"]), setting_order.index(r["setting"]) if r["setting"] in setting_order else 99))
    # Per column, letters in order of first appearance: equal letters, equal bytes.
    letters = [dict() for _ in ITEM_COLUMNS]
    lines.append("| CPU kind | setting | " + " | ".join(column_name(i, p) for i, p in ITEM_COLUMNS) + " |")
    lines.append("|---|---|" + "---|" * len(ITEM_COLUMNS))
    for r in records:
        cells = []
        if "probe" not in r:
            cells = [f"crashed: {r.get('error', '')}"] + [""] * (len(ITEM_COLUMNS) - 1)
        else:
            for c, (item, parts) in enumerate(ITEM_COLUMNS):
                entry = r["probe"]["items"].get(item)
                if entry is None or "skipped" in entry:
                    cells.append("skipped")
                    continue
                d = digest(entry[p] for p in parts)
                letter = letters[c].setdefault(d, chr(ord("A") + len(letters[c])))
                cells.append(f"{letter} `{d}`")
        lines.append(f"| {r['cpu']} | {r['setting']} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Each cell: a letter per distinct result in its column (equal letters = identical bytes), and the first 6 hex")
    lines.append("digits of the SHA-256 over the item's hashes (convolutions: y, dx, dw; linear: y, dx, dw, db; elementwise:")
    lines.append("sqrt, exp, log, tanh, sigmoid, one Adam update; init: the seeded initial weights; step: loss, all gradients,")
    lines.append("all parameters after one Adam step). `numerics-probe --json` prints every hash.")
    lines.append("")
    lines.append("Settings (environment variables and `numerics-probe` options):")
    lines.append("")
    for name, _, _, description in SETTINGS:
        if any(r["setting"] == name for r in records):
            lines.append(f"- `{name}`: {description}")
    lines.append("")
    lines.append("CPU kinds:")
    lines.append("")
    for cpu in cpus:
        sample = next((r for r in records if r["cpu"] == cpu and "probe" in r), None)
        seen = sample["probe"]["settings"]["cpu"] if sample else "no successful run"
        how = "this machine, no emulation" if cpu == "native" else f"qemu-x86_64 -cpu {cpu} ({QEMU_CPUS.get(cpu, '')})"
        lines.append(f"- `{cpu}`: {how}; the probe saw: {seen}")
    lines.append("")
    lines.append("oneDNN implementations each item ran (ONEDNN_VERBOSE=1, reorders left out), one row per distinct set;")
    lines.append("settings where oneDNN ran nothing (oneDNN off) are not listed:")
    lines.append("")
    impl_items = ["conv3x3", "conv1x1s2", "resnet50-step", "densenet121-step"]
    lines.append("| runs (CPU kind: setting) | " + " | ".join(impl_items) + " |")
    lines.append("|---|" + "---|" * len(impl_items))
    groups = {}
    for r in records:
        if "probe" not in r or not any(r["onednn"].get(i) for i in impl_items):
            continue
        cells = tuple("<br>".join(sorted(i.replace("convolution ", "") for i in r["onednn"].get(item, []))) or "-" for item in impl_items)
        groups.setdefault(cells, []).append(f"{r['cpu']}: {r['setting']}")
    for cells, runs in groups.items():
        lines.append(f"| {', '.join(runs)} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Effective settings the probe read back (ATen capability, oneDNN ISA, oneDNN on/off, MKL CBWR, threads):")
    lines.append("")
    lines.append("| CPU kind | setting | aten_isa | onednn_isa | onednn | nnpack (initialised) | mkl_cbwr | mkl_vml_path | threads | probe wall s |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in records:
        if "probe" not in r:
            continue
        s = r["probe"]["settings"]
        lines.append(f"| {r['cpu']} | {r['setting']} | {s['aten_isa']} | {s['onednn_isa']} | {s['onednn']} | {s['nnpack']} ({s.get('nnpack_available', '-')}) | {s['mkl_cbwr']} | {s.get('mkl_vml_path', '-')} | {s['threads']} | {r['seconds']} |")
    return "\n".join(lines) + "\n"


def write_doc(table):
    text = DOC.read_text()
    begin, end = "<!-- numerics-table:begin -->\n", "<!-- numerics-table:end -->"
    if begin not in text or end not in text:
        sys.exit(f"{DOC}: no '{begin.strip()}' ... '{end}' markers to write the tables between")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    DOC.write_text(head + begin + table + end + tail)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpus", default="native," + ",".join(QEMU_CPUS), help="native and/or qemu CPU models, comma-separated")
    parser.add_argument("--settings", default="", help="settings to run (default: all on native, a subset under qemu)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per probe run")
    parser.add_argument("--render-only", action="store_true", help="only redraw the tables from artifacts/numerics")
    parser.add_argument("--no-build", action="store_true", help="use the host already built in Release")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.render_only:
        if not args.no_build:
            subprocess.run(["dotnet", "build", "-c", "Release", str(REPO / "src/Experiments"), "-v", "q", "-nologo"], check=True, stdout=subprocess.DEVNULL)
        by_name = {s[0]: s for s in SETTINGS}
        for cpu in args.cpus.split(","):
            if cpu != "native" and not shutil.which("qemu-x86_64"):
                print(f"{cpu}: qemu-x86_64 not found (apt-get install qemu-user); skipped", file=sys.stderr)
                continue
            names = args.settings.split(",") if args.settings else ([s[0] for s in SETTINGS] if cpu == "native" else QEMU_SETTINGS.get(cpu, ["default", "portable"]))
            for name in names:
                record = run_probe(cpu, by_name[name], args.timeout)
                path = OUT / f"{cpu}--{name}.json"
                path.write_text(json.dumps(record, indent=1) + "\n")
                status = record.get("error", "ok")
                print(f"{cpu} {name}: {record['seconds']} s, {status}", file=sys.stderr)
    records = [json.loads(p.read_text()) for p in sorted(OUT.glob("*--*.json"))]
    table = render(records)
    write_doc(table)
    print(table)


if __name__ == "__main__":
    main()
