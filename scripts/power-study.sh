#!/usr/bin/env bash
# Which regressions VerifyExperiments catches: real code regressions, each a one-line change of a scratch clone as a
# pull request would make it, checked the four ways CI can check them:
#   (a) one re-run seed on a platform the lock does not hold: the 99 % prediction band
#   (b) 3 re-run seeds there: Welch's test            (c) 5 re-run seeds there: Welch's test
#   (d) one re-run seed on a platform the lock holds: bitwise
# "A platform the lock does not hold" is this machine with ATen's kernels capped at another ISA (STUDY_FOREIGN_ENV,
# default ATEN_CPU_CAPABILITY=avx2): its numerics platform id differs (checked below) and so do its bytes, as on another
# CPU (docs/numerics.md: every training step's hash changes). Not ONEDNN_MAX_CPU_ISA=AVX2: on an AVX-512 CPU that hides
# its caches, oneDNN's AVX2 kernels trained ResNet50 at about a tenth of the native speed.
# The foreign seeds run once per regression; (a), (b) and (c) judge seeds 1, 1-3 and 1-5 of them with the
# VerifyResults task itself. (d) is `dotnet build -t:VerifyExperiments` on this machine, whose platform the lock must
# hold (record it first with -p:ReproLockPlatform=add). Writes docs/verification-power.md (STUDY_OUT).
#
#   scripts/power-study.sh                 about 50 minutes on 2 idle cores (6 variants × 6 runs of sample-resnet50)
#   STUDY_REUSE=1 scripts/power-study.sh   judge the runs already in STUDY_WORK again, running only what is missing
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
experiment="${STUDY_EXPERIMENT:-sample-resnet50}"
foreign_env="${STUDY_FOREIGN_ENV:-ATEN_CPU_CAPABILITY=avx2}"
work="${STUDY_WORK:-/tmp/repro-power-study}"
out="${STUDY_OUT:-$root/docs/verification-power.md}"
lock="$root/results/experiments.lock.json"
[ "${STUDY_REUSE:-0}" = 1 ] || rm -rf "$work"
mkdir -p "$work"

# name|file|python regular expression|replacement|what it does
regressions=(
  "control|||| no change: the false-alarm side"
  "lr-x2|src/Core/Engine/Optimization.cs|ScheduleKind\.Constant => o\.LearningRate,|ScheduleKind.Constant => 2 * o.LearningRate,|the constant learning rate doubled"
  "normalize-half|src/Core/Data/Transforms.cs|new\(\[0\.485f, 0\.456f, 0\.406f\], \[0\.229f, 0\.224f, 0\.225f\]\)|new([0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f])|ImageNet normalisation replaced by mean/std 0.5/0.5"
  "augment-on|src/Core/ExperimentRunner.cs|TrainPipeline => new\(Spec\.Input\.Crop, Spec\.Input\.Augment,|TrainPipeline => new(Spec.Input.Crop, true,|augmentation on whatever augment: says"
  "one-epoch|src/Core/Engine/Trainer.cs|epoch < options\.Epochs; epoch\+\+|epoch < options.Epochs - 1; epoch++|one epoch fewer than epochs: says"
  "bn-momentum|src/Core/Models/BatchNorm2d.cs|momentum: 0\.1,|momentum: 0.01,|BatchNorm running statistics updated with momentum 0.01 instead of 0.1 (a code bug)"
)

tasks_dll="$root/artifacts/bin/Repro.Build.Tasks/release/Repro.Build.Tasks.dll"
cat > "$work/check.proj" <<'XML'
<Project>
  <UsingTask TaskName="Repro.Build.Tasks.VerifyResults" AssemblyFile="$(TasksAssembly)" TaskFactory="TaskHostFactory" />
  <Target Name="Check">
    <ItemGroup>
      <!-- Runs is separated by '|': a ';' or ',' in a command-line property would start another property. -->
      <_RunDirectory Include="$(Runs.Split('|'))" />
      <Run Include="@(_RunDirectory)" OutputDirectory="%(_RunDirectory.Identity)" />
    </ItemGroup>
    <VerifyResults Experiments="@(Run)" LockFile="$(Lock)" CodeFingerprint="power-study" />
  </Target>
</Project>
XML

verdict() { # verdict LOG -> caught / passed; any other error is shown as such, never counted as a pass
  local log=$1
  if grep -q "error REPRO311" "$log"; then
    echo "**caught**"
  elif grep -qE "error [A-Z]+[0-9]+" "$log"; then
    echo "error: $(grep -oE 'error [A-Z]+[0-9]+' "$log" | head -1)"
  elif grep -qE "Repro: verified [0-9]+ run\(s\) against .*: all pass" "$log"; then
    echo "passed"
  else
    echo "error: no verdict (see $log)"
  fi
}

rows=()
for spec in "${regressions[@]}"; do
  IFS='|' read -r name file pattern replacement what <<<"$spec"
  echo "==== $name: $what"
  clone="$work/$name"
  if [ ! -d "$clone" ]; then
    git clone -q "$root" "$clone"
    if [ -n "$file" ]; then
      python3 - "$clone/$file" "$pattern" "$replacement" <<'PY'
import re, sys
path, pattern, replacement = sys.argv[1:]
text = open(path).read()
new, n = re.subn(pattern, lambda m: replacement, text)
if n != 1:
    sys.exit(f"{path}: the regression's pattern matched {n} times, not once: {pattern}")
open(path, "w").write(new)
PY
    fi
  fi
  (cd "$clone" && git diff --stat | tail -1)
  # The foreign platform's five seeds, into a scratch artifacts folder and a throwaway lock (incremental: a reused
  # study runs only what is missing).
  (cd "$clone" && env $foreign_env dotnet build -t:RunExperiments -nodeReuse:false -p:Experiment="$experiment" \
      -p:ReproArtifactsDirectory="$work/$name/foreign/" -p:ReproLockFile="$work/$name/throwaway.lock.json" > "$work/$name-foreign.log" 2>&1) \
    || { tail -20 "$work/$name-foreign.log"; exit 1; }
  runs() { seq -s '|' -f "$work/$name/foreign/experiments/$experiment/seed-%g/" 1 "$1"; }
  cells=()
  for k in 1 3 5; do
    dotnet msbuild "$work/check.proj" -nologo -nodeReuse:false -p:TasksAssembly="$tasks_dll" -p:Lock="$lock" "-p:Runs=$(runs "$k")" > "$work/$name-k$k.log" 2>&1 || true
    cells+=("$(verdict "$work/$name-k$k.log")")
  done
  # (d): the production check on this machine, bitwise against its recorded bytes.
  if [ "${STUDY_REUSE:-0}" != 1 ] || ! grep -q "VerifyExperiments check: bitwise" "$work/$name-bitwise.log" 2>/dev/null; then
    (cd "$clone" && dotnet build -t:VerifyExperiments -nodeReuse:false -p:Experiment="$experiment" > "$work/$name-bitwise.log" 2>&1) || true
  fi
  grep -q "VerifyExperiments check: bitwise" "$work/$name-bitwise.log" \
    || { echo "$name: (d) did not run bitwise: record this platform in the lock first (-p:ReproLockPlatform=add)"; grep -E "check:|error" "$work/$name-bitwise.log" | head -5; exit 1; }
  cells+=("$(verdict "$work/$name-bitwise.log")")
  acc=$(grep -ho '"accuracy": [0-9.]*' "$work/$name"/foreign/experiments/"$experiment"/seed-*/metrics.json | awk '{s+=$2; n++} END {printf "%.2f", 100*s/n}')
  rows+=("| $name | $what | $acc % | ${cells[0]} | ${cells[1]} | ${cells[2]} | ${cells[3]} |")
  printf '%s\n' "${rows[-1]}"
done

foreign_id=$(grep -ho '"id": "[0-9a-f]*"' "$work/control/foreign/experiments/$experiment/seed-1/metrics.json" | head -1 | cut -d'"' -f4)
native_id=$(grep -ho 'bitwise check on numerics platform [0-9a-f]*' "$work/control-bitwise.log" | head -1 | awk '{print $NF}')
[ "$foreign_id" != "$native_id" ] || { echo "the foreign stand-in ($foreign_env) did not change the platform id ($foreign_id)"; exit 1; }
cpu=$(lscpu | sed -nE 's/^Model name: +//p' | head -1)
{
  echo "# What VerifyExperiments catches: injected regressions"
  echo
  echo "Generated by \`scripts/power-study.sh\` at commit \`$(git -C "$root" rev-parse --short HEAD)\` on $cpu ($(nproc) cores), $(date -u +%Y-%m-%d)."
  echo "Experiment: \`$experiment\` ($(python3 -c "import json,sys; e=json.load(open(sys.argv[1]))['experiments'][sys.argv[2]]; print(len(e['seeds']))" "$lock" "$experiment") seeds locked). Each regression is a one-line code change of a scratch clone;"
  echo "the lock and experiments.yaml are unchanged, so only the numbers can give it away."
  echo
  echo "- (a) one re-run seed on a platform the lock does not hold (the 99 % prediction band), (b) 3 and (c) 5 re-run seeds there"
  echo "  (Welch's test at 1 % per metric): that platform is this machine with \`$foreign_env\`, numerics platform \`$foreign_id\`,"
  echo "  where every number differs in the last bits from this machine's own platform \`$native_id\`."
  echo "- (d) one re-run seed on a platform the lock holds: bitwise (\`dotnet build -t:VerifyExperiments\` here)."
  echo "- \"caught\": VerifyExperiments fails (REPRO311); \"passed\": the regression goes through CI unseen."
  echo
  echo "| regression | change | mean accuracy of its 5 foreign seeds | (a) 1 seed, band | (b) 3 seeds, Welch | (c) 5 seeds, Welch | (d) bitwise |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "The check each cell ran is in the per-cell logs of the run (\`$work/<regression>-k<k>.log\`, \`…-bitwise.log\`); the power each"
  echo "statistical check has is stated in those logs and tabled by \`dotnet build -t:PlanVerification\`."
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
