#!/usr/bin/env bash
# GPU check: a short ResNet50 and DenseNet121 training (and evaluation) on an NVIDIA GPU with Repro and with
# PyTorch, images/s of both and the ratio Repro/PyTorch.
#
#   scripts/gpu-check.sh --prepare   # on the build machine: a self-contained bench bundle in artifacts/gpu-bundle
#                                    # (no .NET needed on the GPU machine; LibTorch's CPU libraries left out)
#   scripts/gpu-check.sh             # on the GPU machine, from a copy of the working tree with that bundle
#                                    # (artifacts/gpu-bundle, or artifacts/gpu-bundle.tar.xz, which it unpacks)
#
# Repro's CUDA build needs TorchSharp-cuda-linux (-p:ReproTorchBackend=cuda), which cannot be restored offline.
# Without it the only route is the plain TorchSharp managed assembly + its native shim (libLibTorchSharp.so,
# built against LibTorch 2.10) on the GPU machine's Python PyTorch libraries:
#   LD_LIBRARY_PATH=<site-packages>/torch/lib:<site-packages>/nvidia/*/lib, LD_BIND_NOW=1 (unresolved symbols
#   are reported at load instead of at first call). The script tries that and records exactly what fails.
# Settings: PYTHON (python3), MODELS ("resnet50 densenet121"), SIZE (224), BATCH (32), STEPS (20), WARMUP (5),
# THREADS (4), TF32 (1), LAYOUTS ("nchw channels-last": each step also with channels-last input; PyTorch converts
# the model too). Output: artifacts/gpu-check/ (log, JSON lines, summary).
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bundle=artifacts/gpu-bundle

if [ "${1:-}" = --prepare ]; then
  set -e
  rm -rf "$bundle"
  dotnet publish bench/Repro.Bench/Repro.Bench.csproj -c Release -r linux-x64 --self-contained -nologo -v q \
    -p:ArtifactsPath="$repo/artifacts/gpu-publish" -o "$bundle"
  # LibTorch's CPU build must not be loaded next to PyTorch's CUDA build: keep only the TorchSharp shim.
  (cd "$bundle" && rm -f libtorch*.so* libc10*.so* libgomp*.so* libfbgemm*.so* libasmjit*.so* libbackend_with_compiler*.so* libnnapi_backend*.so* libshm*.so* libtorch_global_deps*.so* libjitbackend_test*.so* libtorchbind_test*.so* libaoti_custom_ops*.so* 2>/dev/null || true)
  # dotnet publish copies the shim from the NuGet cache, not the copy the build marked GLIBCXX_3.4.32-weak
  # (README, "TorchSharp on Debian 12"): take the marked one.
  marked=$(find artifacts/gpu-publish/bin/Repro.Bench -name libLibTorchSharp.so | head -n1)
  [ -n "$marked" ] && cp "$marked" "$bundle/"
  du -sh "$bundle"
  # About 100 MB unpacked (the .NET runtime, SkiaSharp, the shim): the xz archive (~30 MB) is what to carry.
  tar -C artifacts -cJf artifacts/gpu-bundle.tar.xz gpu-bundle
  ls -l artifacts/gpu-bundle.tar.xz
  exit 0
fi
if [ ! -d "$bundle" ] && [ -f artifacts/gpu-bundle.tar.xz ]; then
  tar -C artifacts -xJf artifacts/gpu-bundle.tar.xz
fi

out=${OUT_DIR:-artifacts/gpu-check}
mkdir -p "$out"
log="$out/log.txt"
results="$out/results.jsonl"
: >"$log"
: >"$results"
python=${PYTHON:-python3}
models=${MODELS:-resnet50 densenet121}
layouts=${LAYOUTS:-nchw channels-last}
size=${SIZE:-224}
batch=${BATCH:-32}
steps=${STEPS:-20}
warmup=${WARMUP:-5}
threads=${THREADS:-4}
tf32=()
[ "${TF32:-1}" = 1 ] && tf32=(--tf32)
say() { echo "$*" | tee -a "$log" >&2; }

say "== machine"
nvidia-smi -L 2>&1 | tee -a "$log" >&2 || say "nvidia-smi not found"
say "$(uname -a)"
say "$("$python" -c 'import torch, sys; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "available", torch.cuda.is_available(), "Python", sys.version.split()[0])' 2>&1)"
site=$("$python" -c 'import torch, os; print(os.path.dirname(os.path.dirname(torch.__file__)))')
say "site-packages: $site"

say "== PyTorch"
for layout in $layouts; do
  cl=(); [ "$layout" = channels-last ] && cl=(--channels-last)
  for model in $models; do
    for mode in train eval; do
      line=$("$python" scripts/bench-train.py "$mode" --device cuda "${tf32[@]}" "${cl[@]}" --model "$model" --size "$size" --batch "$batch" \
        --steps "$steps" --warmup "$warmup" --threads "$threads" 2>>"$log" | tail -n1)
      say "$line"
      [ -n "$line" ] && echo "$line" >>"$results"
    done
  done
done

say "== Repro (TorchSharp on PyTorch's libraries)"
if [ -x "$bundle/Repro.Bench" ]; then
  bench=("$bundle/Repro.Bench")
elif [ -f artifacts/bin/Repro.Bench/release/Repro.Bench.dll ] && command -v dotnet >/dev/null; then
  # Framework-dependent build: copy it without LibTorch's CPU libraries.
  tmp=$(mktemp -d)
  cp -r artifacts/bin/Repro.Bench/release/. "$tmp/"
  (cd "$tmp" && find . -name 'libtorch*.so*' -o -name 'libc10*.so*' -o -name 'libgomp*.so*' | xargs rm -f)
  bench=(dotnet "$tmp/Repro.Bench.dll")
else
  say "no bench binaries: run 'scripts/gpu-check.sh --prepare' on a machine with the .NET SDK and carry artifacts/gpu-bundle"
  bench=()
fi
libs="$site/torch/lib"
for d in "$site"/nvidia/*/lib; do [ -d "$d" ] && libs="$libs:$d"; done
shim=$(find "${bundle}" "${tmp:-/nonexistent}" -name libLibTorchSharp.so 2>/dev/null | head -n1)
if [ -n "$shim" ]; then
  say "-- ldd of $shim with PyTorch's libraries first:"
  LD_LIBRARY_PATH="$libs" ldd "$shim" 2>&1 | grep -E 'torch|c10|not found' | tee -a "$log" >&2
  say "-- symbols the shim needs that PyTorch's libraries lack (first 20):"
  if command -v nm >/dev/null; then
    nm -D --undefined-only "$shim" | awk '{ print $2 }' | grep -E '^_ZN(2at|3c10|5torch)' | sort -u >"$out/shim-needs.txt"
    for l in libtorch_cpu.so libtorch_cuda.so libc10.so libc10_cuda.so libtorch.so; do
      [ -f "$site/torch/lib/$l" ] && nm -D --defined-only "$site/torch/lib/$l" | awk '{ print $3 }'
    done | sort -u >"$out/pytorch-has.txt"
    comm -23 "$out/shim-needs.txt" "$out/pytorch-has.txt" >"$out/missing-symbols.txt"
    say "$(wc -l <"$out/missing-symbols.txt") of $(wc -l <"$out/shim-needs.txt") LibTorch symbols missing (full list: $out/missing-symbols.txt)"
    head -n 20 "$out/missing-symbols.txt" | (command -v c++filt >/dev/null && c++filt || cat) | tee -a "$log" >&2
  fi
fi
if [ ${#bench[@]} -gt 0 ]; then
  for layout in $layouts; do
    cl=(); [ "$layout" = channels-last ] && cl=(--channels-last)
    for model in $models; do
      for mode in train eval; do
        line=$(LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" LD_BIND_NOW=1 "${bench[@]}" "$mode" --device cuda "${cl[@]}" --model "$model" \
          --size "$size" --batch "$batch" --steps "$steps" --warmup "$warmup" --threads "$threads" 2>>"$log" | tail -n1)
        rc=$?
        if [ -n "$line" ] && [ "${line:0:1}" = "{" ]; then
          say "$line"
          echo "$line" >>"$results"
        else
          say "Repro $mode $model $layout failed (rc $rc); stderr in $log:"
          tail -n 15 "$log" >&2
        fi
      done
    done
  done
fi

say "== summary (images/s)"
"$python" - "$results" <<'EOF' | tee -a "$log"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault((r["mode"], r["model"], r["size"], bool(r.get("channels_last"))), {})[r["side"]] = r["images_per_s"]
print("| step | PyTorch img/s | Repro img/s | Repro/PyTorch |")
print("|---|---|---|---|")
for (mode, model, size, cl), s in sorted(by.items()):
    p, q = s.get("pytorch"), s.get("repro")
    f = lambda v: f"{v:,.1f}" if v else "failed"
    print(f"| {mode} {model} {size}x{size}{', channels-last' if cl else ''} | {f(p)} | {f(q)} | {f'{q / p:.2f}x' if p and q else '-'} |")
EOF
