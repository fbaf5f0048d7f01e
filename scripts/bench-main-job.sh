#!/usr/bin/env bash
# The main job against PyTorch (docs/benchmarks.md, "The main job"): the quick suite's runs as
# `dotnet build -t:RunExperiments` runs them (forced, so every stage of every seed runs), then the same runs in PyTorch
# (scripts/twin.py on each run's own split manifest and settings, as TwinExperiments does), one side after the other.
#
#   scripts/bench-main-job.sh                      # the default experiments (the quick suite, 10 runs)
#   EXPERIMENT=sample-resnet50 scripts/bench-main-job.sh
#   PYTORCH=0 scripts/bench-main-job.sh            # Repro's side only
#
# Counts the stages only: the first, untimed build restores and compiles the tasks and the host; each Repro
# run is timed from the build's "Repro: <run>: split" line to the next run's (the last to the end of its test stage),
# which covers the host processes, training, evaluation, checkpoints and reports. Each PyTorch run is one twin.py
# process, start-up and `import torch` included. Also prints the quick suite's size on disk. Run it on an idle
# machine. Output: JSON lines in artifacts/bench/main-job-<time>.jsonl and a summary on stdout.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
python=${PYTHON:-/usr/bin/python3}
selection=()
[ -n "${EXPERIMENT:-}" ] && selection=(-p:Experiment="$EXPERIMENT")
mkdir -p artifacts/bench
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="artifacts/bench/main-job-$stamp.jsonl"
log="artifacts/bench/main-job-$stamp.log"

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs; load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
dotnet build -t:_ReproBuildTools -nodeReuse:false -v:m >/dev/null

# Every line of the forced build with the time it arrived.
dotnet build -t:RunExperiments "${selection[@]}" -p:ReproForce=true -nodeReuse:false \
  | "$python" -u -c 'import sys, time
for line in sys.stdin:
    print(f"{time.time():.3f} {line}", end="")' > "$log"

"$python" - "$log" "$out" "$python" "${PYTORCH:-1}" <<'EOF'
import json, re, subprocess, sys, time, os
log, out, python, pytorch = sys.argv[1:5]
lines = [l.rstrip("\n").split(" ", 1) for l in open(log, encoding="utf-8")]
starts, last_test_end = [], None
for t, text in lines:
    m = re.match(r"\s*Repro: (\S+): split$", text)
    if m:
        starts.append((float(t), m.group(1)))
    if re.search(r": test accuracy ", text):
        last_test_end = float(t)
records = []
for i, (t, run) in enumerate(starts):
    end = starts[i + 1][0] if i + 1 < len(starts) else last_test_end
    records.append({"side": "repro", "run": run, "seconds": round(end - t, 3)})
for r in [r for r in records] if pytorch == "1" else []:
    experiment, _, seed = r["run"].partition("/seed-")
    folder = os.path.join("artifacts", "experiments", r["run"])
    began = time.time()
    subprocess.run([python, "scripts/twin.py", "--run", folder, "--config-dir", ".", "--seed", seed or "1"],
                   check=True, stdout=subprocess.DEVNULL)
    records.append({"side": "pytorch", "run": r["run"], "seconds": round(time.time() - began, 3)})
size = subprocess.run(["du", "-sb"] + sorted({os.path.join("artifacts", "experiments", r["run"].split("/")[0]) for r in records}),
                      capture_output=True, text=True, check=True).stdout
records.append({"side": "repro", "footprint_bytes": sum(int(l.split()[0]) for l in size.splitlines())})
with open(out, "w", encoding="utf-8") as f:
    for r in records:
        f.write(json.dumps(r) + "\n")
repro = sum(r["seconds"] for r in records if r.get("side") == "repro" and "seconds" in r)
torch_ = sum(r["seconds"] for r in records if r.get("side") == "pytorch")
n = len(starts)
ratio = f", PyTorch {torch_:.1f} s, Repro/PyTorch speed {torch_ / repro:.2f}x" if torch_ else ""
print(f"{n} runs: Repro {repro:.1f} s{ratio}; "
      f"on disk {records[-1]['footprint_bytes'] / 2**30:.2f} GiB -> {out}")
EOF
