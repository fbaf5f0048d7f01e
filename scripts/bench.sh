#!/usr/bin/env bash
# Repro against PyTorch + torchvision, side by side in the same run (see docs/benchmarks.md).
#
#   scripts/bench.sh                      # everything, defaults below
#   ROUNDS=2 SIZES="64" MODELS=resnet50 scripts/bench.sh
#
# Settings (environment): ROUNDS (3) rounds, each running every case on both sides, the order of the sides
# alternating between rounds; THREADS (2) LibTorch threads on both sides; SIZES ("224 64"); MODELS
# ("resnet50 densenet121"); MODES ("train eval"); NCHW (1; 0 = channels-last cases only); BATCH (32); STEPS (3) timed steps after WARMUP (1); EVAL_SIZES (= SIZES);
# EPOCH_IMAGES (256) generated JPEGs for the end-to-end epoch, EPOCH_CROP (64), EPOCH_EPOCHS (3),
# EPOCH_MODEL (resnet50), LOADER_THREADS (2; PyTorch: DataLoader num_workers); RAW (1) also times plain
# TorchSharp (no Repro loop) to separate LibTorch from Repro; NOOP_BUILD (1) times a no-op
# `dotnet build -t:RunExperiments` (run once before so that the quick suite is up to date); SKIP_BUILD (0)
# uses the bench binaries already in artifacts/bin (e.g. carried to another machine); PYTHON (/usr/bin/python3);
# CHANNELS_LAST (1) also times train, eval and the epoch with channels-last input on both sides (Repro:
# `channels_last: true`, the experiments' default; PyTorch: model and input in torch.channels_last). Repro's eval
# folds BatchNorm into the convolutions as Evaluator does (Repro.Bench eval --no-fold times it unfolded). The "plain TorchSharp" side runs the model without Repro's loop
# and without Repro's LibTorch settings (--loop raw --plain-runtime). PORTABLE (0) = 1 adds the "portable" side: Repro
# with `numerics: portable` (docs/numerics.md), alternating with the native side like every other; PYTORCH (1) = 0
# leaves the PyTorch side out (e.g. PORTABLE=1 PYTORCH=0 RAW=0 to time portable against native only).
# Output: JSON lines in artifacts/bench/results-<time>.jsonl and a markdown table on stdout.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
python=${PYTHON:-/usr/bin/python3}
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
sizes=${SIZES:-224 64}
eval_sizes=${EVAL_SIZES:-$sizes}
models=${MODELS:-resnet50 densenet121}
batch=${BATCH:-32}
steps=${STEPS:-3}
warmup=${WARMUP:-1}
raw=${RAW:-1}
epoch_images=${EPOCH_IMAGES:-256}
epoch_crop=${EPOCH_CROP:-64}
epoch_epochs=${EPOCH_EPOCHS:-3}
epoch_model=${EPOCH_MODEL:-resnet50}
loader_threads=${LOADER_THREADS:-2}
modes=${MODES:-train eval}
layouts=(""); [ "${CHANNELS_LAST:-1}" = 1 ] && layouts+=(--channels-last)
[ "${NCHW:-1}" = 1 ] || layouts=(--channels-last)
mkdir -p artifacts/bench
out="artifacts/bench/results-$(date -u +%Y%m%dT%H%M%SZ).jsonl"

if [ "${PYTORCH:-1}" = 1 ] && ! "$python" -c 'import torch, torchvision' 2>/dev/null; then
  echo "installing Debian's python3-torch and python3-torchvision" >&2
  sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get install -y python3-torch python3-torchvision >&2
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  dotnet build -c Release bench/Repro.Bench -v q -nologo >/dev/null
fi
bench=(dotnet artifacts/bin/Repro.Bench/release/Repro.Bench.dll)

{
  echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "versions: .NET $(dotnet --version)$([ "${PYTORCH:-1}" = 1 ] && echo ", $("$python" -c 'import torch, torchvision, sys; print("PyTorch", torch.__version__, "torchvision", torchvision.__version__, "Python", sys.version.split()[0])')")"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out.txt" >&2

run() { # side mode args...
  local side=$1 mode=$2; shift 2
  local line
  case $side in
    pytorch) line=$("$python" scripts/bench-train.py "$mode" "$@") ;;
    repro) line=$("${bench[@]}" "$mode" --loop repro "$@") ;;
    raw) line=$("${bench[@]}" "$mode" --loop raw --plain-runtime "$@") ;;
    portable) line=$("${bench[@]}" "$mode" --loop repro --numerics portable "$@") ;;
  esac
  line=$(tail -n1 <<<"$line")
  echo "$line" | sed "s/^{/{\"round\": $round, \"parallel\": $parallel, \"load\": \"$(cut -d' ' -f1 /proc/loadavg)\", /" >>"$out"
  echo "  $side $mode $*: $(sed -E 's/.*"skipped": ?"([^"]*)".*/skipped: \1/; s/.*"images_per_s": ?([0-9.]+).*/\1 img\/s/; s/.*"epoch_images_per_s": ?\[([^]]*)\].*/epochs \1 img\/s/' <<<"$line")" >&2
}

# PARALLEL=1 runs the sides of a case at the same time (use with THREADS=1 on a busy machine: both then see
# the same load, and per-step CPU seconds, single-threaded, measure the work without the noise of other jobs).
parallel=${PARALLEL:-0}
each() { # mode args...: every side of one case, one after the other or at the same time
  local side
  if [ "$parallel" = 1 ]; then
    for side in "${order[@]}"; do
      if [ "$1" = epoch ] && [ "$side" = raw ]; then continue; fi
      run "$side" "$@" &
    done
    wait
  else
    for side in "${order[@]}"; do
      if [ "$1" = epoch ] && [ "$side" = raw ]; then continue; fi
      run "$side" "$@"
    done
  fi
}
sides=(repro)
[ "${PYTORCH:-1}" = 1 ] && sides=(pytorch repro)
[ "$raw" = 1 ] && sides+=(raw)
[ "${PORTABLE:-0}" = 1 ] && sides+=(portable)
for round in $(seq "$rounds"); do
  echo "round $round/$rounds (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  order=("${sides[@]}")
  # Alternate which side goes first, so that a change of load hits both alike.
  if [ $((round % 2)) = 0 ]; then order=(); for ((i = ${#sides[@]} - 1; i >= 0; i--)); do order+=("${sides[i]}"); done; fi
  all_sides=("${order[@]}")
  for model in $models; do
    for layout in "${layouts[@]}"; do
      # Plain TorchSharp only in NCHW: it separates LibTorch from Repro once; channels-last compares Repro with PyTorch.
      order=(); for side in "${all_sides[@]}"; do [ -n "$layout" ] && [ "$side" = raw ] || order+=("$side"); done
      [[ " $modes " == *" train "* ]] && for size in $sizes; do
        each train --model "$model" --size "$size" --batch "$batch" --steps "$steps" --warmup "$warmup" --threads "$threads" $layout
      done
      [[ " $modes " == *" eval "* ]] && for size in $eval_sizes; do
        each eval --model "$model" --size "$size" --batch "$batch" --steps "$steps" --warmup "$warmup" --threads "$threads" $layout
      done
    done
  done
  order=("${all_sides[@]}")
  if [ "$epoch_images" -gt 0 ]; then
    images="artifacts/bench-data/images-$epoch_images"
    [ -d "$images" ] || "${bench[@]}" generate "$images" "$epoch_images" >&2
    for layout in "${layouts[@]}"; do
      each epoch --model "$epoch_model" --size "$epoch_crop" --batch "$batch" --epochs "$epoch_epochs" \
        --threads "$threads" --loader-threads "$loader_threads" --dir "$images" $layout
    done
  fi
done

if [ "${NOOP_BUILD:-1}" = 1 ]; then
  for i in 1 2 3; do
    s=$(date +%s.%N)
    dotnet build -t:RunExperiments -nologo -v q >/dev/null
    e=$(date +%s.%N)
    echo "{\"side\": \"repro\", \"mode\": \"noop-build\", \"round\": $i, \"load\": \"$(cut -d' ' -f1 /proc/loadavg)\", \"wall_s\": $(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')}" >>"$out"
  done
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out.txt" >&2
"$python" scripts/bench-table.py "$out"
