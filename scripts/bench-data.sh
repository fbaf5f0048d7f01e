#!/usr/bin/env bash
# Input-pipeline benchmark: Repro (SkiaSharp + Transforms) against torchvision + PIL on the same JPEGs in the
# same run, each on one pinned core, decoding plus the training transform. Usage: scripts/bench-data.sh [count]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
count=${1:-300}
crop=${CROP:-224}
work="$repo/artifacts/bench-data"
images="$work/images-$count"
python=${PYTHON:-/usr/bin/python3}
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi

dotnet build -c Release "$repo/bench/Repro.Bench" -v q -nologo >/dev/null
bench="$repo/artifacts/bin/Repro.Bench/release/Repro.Bench.dll"
if [ ! -d "$images" ]; then
  dotnet "$bench" generate "$images" "$count"
fi
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
tv=$("${pin[@]}" "$python" "$repo/scripts/bench-data.py" "$images" "$crop")
echo "$tv"
rp=$(DOTNET_gcServer=0 "${pin[@]}" dotnet "$bench" data "$images" "$crop")
echo "$rp"
tv_rate=$(sed -E 's/.*decode\+transform=([0-9.]+).*/\1/' <<<"$tv")
rp_rate=$(sed -E 's/.*decode\+transform=([0-9.]+).*/\1/' <<<"$rp")
awk -v a="$rp_rate" -v b="$tv_rate" 'BEGIN { printf "ratio repro/torchvision = %.2fx\n", a / b }'
