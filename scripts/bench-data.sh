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
# Rounds alternate the sides so that load from other processes hits them alike; the best round counts.
# Repro runs at full decode size (as torchvision), with the default decode size (JPEG short side >= crop / 0.875,
# what the cache holds), and with DecodeShortSide = crop and = 140 (libjpeg-turbo 3/8 scale for 500x375 images).
# VIPS=1 adds issue 15's JPEG lever, measured and not taken (docs/benchmarks.md): NetVips (libvips with SIMD
# libjpeg-turbo) at full size and with shrink-on-load, everything after the decode Repro's (bench/Repro.Bench.Vips).
vips=${VIPS:-0}
if [ "$vips" = 1 ]; then
  dotnet build -c Release "$repo/bench/Repro.Bench.Vips" -v q -nologo >/dev/null
  vips_bench="$repo/artifacts/bin/Repro.Bench.Vips/release/Repro.Bench.Vips.dll"
  dotnet "$vips_bench" same "$images" | tail -n1
fi
rounds=${ROUNDS:-3}
declare -A best=([tv]=0 [full]=0 [default]=0 [crop]=0 [small]=0 [vips]=0 [vips-shrink]=0)
rate() { sed -E 's/.*decode\+transform=([0-9.]+).*/\1/' <<<"$1"; }
keep() { best[$1]=$(awk -v a="${best[$1]}" -v b="$2" 'BEGIN { print (b > a ? b : a) }'); }
for r in $(seq "$rounds"); do
  tv=$("${pin[@]}" "$python" "$repo/scripts/bench-data.py" "$images" "$crop"); echo "round $r: $tv"; keep tv "$(rate "$tv")"
  rp=$("${pin[@]}" dotnet "$bench" data "$images" "$crop" 3 1000000); echo "round $r: $rp"; keep full "$(rate "$rp")"
  rp=$("${pin[@]}" dotnet "$bench" data "$images" "$crop"); echo "round $r: $rp"; keep default "$(rate "$rp")"
  rp=$("${pin[@]}" dotnet "$bench" data "$images" "$crop" 3 "$crop"); echo "round $r: $rp"; keep crop "$(rate "$rp")"
  rp=$("${pin[@]}" dotnet "$bench" data "$images" "$crop" 3 140); echo "round $r: $rp"; keep small "$(rate "$rp")"
  if [ "$vips" = 1 ]; then
    for d in vips vips-shrink; do
      rp=$("${pin[@]}" dotnet "$vips_bench" data "$images" "$crop" 3 "$d"); echo "round $r: $rp"; keep "$d" "$(rate "$rp")"
    done
  fi
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
keys=(full default crop small); [ "$vips" = 1 ] && keys+=(vips vips-shrink)
for k in "${keys[@]}"; do
  awk -v k="$k" -v a="${best[$k]}" -v b="${best[tv]}" 'BEGIN { printf "best %-8s repro %.1f img/s vs torchvision %.1f img/s per core: %.2fx\n", k, a, b, a / b }'
done
