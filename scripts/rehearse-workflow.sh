#!/usr/bin/env bash
# Rehearses .github/workflows/repro.yml as a GitHub-hosted runner runs it, on this machine (scripts/rehearse/runner.mjs
# runs the jobs; scripts/rehearse/fake-github.mjs answers the comment step's REST calls on loopback):
#   - a non-root user `runner` with passwordless sudo, as on GitHub's Ubuntu runners (created when run as root; run
#     as another user, the rehearsal uses that user, whose sudo is then needed for the install step);
#   - an "origin" repository holding this checkout's HEAD (the pull request's base) and a pull request #7 on top;
#   - the events, in order:
#       A  pull_request (opened)       every job; the comment job creates the comment
#       B  pull_request (synchronize)  a second push whose lock claims 20 points more accuracy than the code gives:
#                                      verification fails, the diff and the comment (updated, not duplicated) still come
#       C  B's comment job re-run      after 120 other comments were made before ours: ours is found on page 2
#       D  B's comment job re-run      with a diff over GitHub's 65,536-character limit: the body is shortened with a note
#       E  workflow_dispatch           the lock-platform job records this runner's results for seed 1 in the lock (an artifact)
#   then checks what each run must have done, and prints every step, the step summaries and the comment bodies.
#
#   scripts/rehearse-workflow.sh                 everything above (about 7.5 minutes on 2 cores)
#   REHEARSE_TEST_FILTER=…                       the test step's filter (default: the Slurm and Config tests, which
#                                                 show the non-root skips in seconds; .ci/run runs the whole suite)
#   REHEARSE_DISPATCH_EXPERIMENT=…               what event E records (default sample-densenet121)
#   REHEARSE_DISPATCH_SEEDS=…                    the dispatch's `seeds` input (default 1: the seed VerifyExperiments
#                                                 re-runs, a fifth of the sweep's time, to keep .ci/run under 20 minutes;
#                                                 empty: every locked seed)
# Last line: "N passed, M failed" over the checks; exit status 1 when any failed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${REHEARSE_WORK:-/tmp/repro-rehearsal}"
filter="${REHEARSE_TEST_FILTER:-FullyQualifiedName~SlurmSchedulerTests|FullyQualifiedName~Repro.Config.Tests}"
dispatch_experiment="${REHEARSE_DISPATCH_EXPERIMENT:-sample-densenet121}"
dispatch_seeds="${REHEARSE_DISPATCH_SEEDS-1}"
repository="repro-org/repro"

# ---- the runner user ----
if [ "$(id -u)" = 0 ]; then
  command -v sudo >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sudo >/dev/null; }
  id runner >/dev/null 2>&1 || useradd -m -s /bin/bash runner
  echo 'runner ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/repro-runner
  chmod 440 /etc/sudoers.d/repro-runner
  # The machine's own network settings (a proxy, its CA bundle, NuGet's revocation mode) reach the runner user as
  # they reach root: a self-hosted runner behind the same proxy would have them.
  network=NODE_EXTRA_CA_CERTS,SSL_CERT_FILE,SSL_CERT_DIR,CURL_CA_BUNDLE,GIT_SSL_CAINFO,NUGET_CERT_REVOCATION_MODE,HTTP_PROXY,HTTPS_PROXY,NO_PROXY,http_proxy,https_proxy,no_proxy
  as_runner() { sudo -u runner -H "--preserve-env=REHEARSE_NODE_MODULES,$network" "$@"; }
  user=runner
else
  as_runner() { "$@"; }
  user=$(id -un)
fi
rm -rf "$work"
mkdir -p "$work"
[ "$(id -u)" != 0 ] || chown runner: "$work"
as_runner git config --global --get-all safe.directory 2>/dev/null | grep -qx '\*' || as_runner git config --global --add safe.directory '*'

# ---- npm: the clients github-script bundles, and a YAML parser ----
tools="$work/tools"
as_runner mkdir -p "$tools"
as_runner cp "$root/scripts/rehearse/package.json" "$tools/"
as_runner npm install --silent --no-audit --no-fund --prefix "$tools" >/dev/null
export REHEARSE_NODE_MODULES="$tools/node_modules"

# ---- origin: HEAD as main, and pull request #7 (two pushes) ----
origin="$work/origin.git"
git clone -q --bare "$root" "$origin"
base=$(git -C "$root" rev-parse HEAD)
pr="$work/pr-author"
git clone -q "$origin" "$pr"
git -C "$pr" checkout -q -b feature
printf '\n<!-- rehearsal: a pull request that touches only documentation -->\n' >> "$pr/docs/benchmarks.md"
git -C "$pr" -c user.name=rehearsal -c user.email=rehearsal@example.com commit -qam "docs: a documentation-only change"
head1=$(git -C "$pr" rev-parse HEAD)
# The second push claims results the code does not give: every locked accuracy 20 points higher (beyond even the
# one-seed band's reach on a platform the lock does not hold).
python3 - "$pr/results/experiments.lock.json" <<'PY'
import re, sys
p = sys.argv[1]
text = open(p).read()
text = re.sub(r'("accuracy": )(\d\.\d{6})', lambda m: f'{m.group(1)}{min(1.0, float(m.group(2)) + 0.20):.6f}', text)
open(p, 'w').write(text)
PY
git -C "$pr" -c user.name=rehearsal -c user.email=rehearsal@example.com commit -qam "results: lock accuracies 20 points higher than the code reproduces"
head2=$(git -C "$pr" rev-parse HEAD)
git -C "$pr" push -q origin "$head1:refs/pull/7/head"
git -C "$pr" push -q -f origin "$head2:refs/heads/feature" "$head2:refs/pull/7/head"
chown -R "$user": "$work" 2>/dev/null || true

event() { # event NAME ACTION HEAD -> path of the event payload
  local file="$work/event-$1-$2.json"
  python3 - "$file" "$1" "$2" "$3" "$base" "$repository" "$dispatch_experiment" "$dispatch_seeds" <<'PY'
import json, sys
file, name, action, head, base, repo, experiment, seeds = sys.argv[1:]
repository = {"full_name": repo, "name": repo.split("/")[1], "owner": {"login": repo.split("/")[0]}}
if name == "pull_request":
    payload = {"action": action, "number": 7, "repository": repository, "sender": {"login": "contributor"},
               "pull_request": {"number": 7, "head": {"sha": head, "ref": "feature", "repo": {"full_name": repo}},
                                "base": {"sha": base, "ref": "main", "repo": {"full_name": repo}}}}
else:
    payload = {"inputs": {"experiment": experiment, "seeds": seeds}, "ref": "refs/heads/main", "repository": repository, "sender": {"login": "maintainer"}}
json.dump(payload, open(file, "w"), indent=2)
PY
  echo "$file"
}

# ---- the fake GitHub ----
state="$work/github-state.json"
requests="$work/github-requests.jsonl"
as_runner touch "$requests"
# Its output goes to a file: a process left holding this script's stdout would keep a `| tee` waiting after it ends.
as_runner node "$root/scripts/rehearse/fake-github.mjs" --state "$state" --log "$requests" --port-file "$work/port" --pid-file "$work/fake.pid" \
  > "$work/fake-github.log" 2>&1 &
# sudo does not pass on a signal from this script's own process group, so the server is stopped by its own pid.
trap 'kill "$(cat "$work/fake.pid" 2>/dev/null)" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
api="http://127.0.0.1:$(cat "$work/port")"

run() { # run LABEL RUN-ID EVENT-NAME EVENT-FILE SHA REF [runner options…]: a re-run of a job keeps its run's id (its artifacts)
  local label=$1 id=$2 name=$3 file=$4 sha=$5 ref=$6
  shift 6
  echo
  echo "################ run $label: $name at ${sha:0:12} ################"
  local started=$SECONDS status=0
  as_runner node "$root/scripts/rehearse/runner.mjs" --workflow "$root/.github/workflows/repro.yml" --event "$name" --event-path "$file" \
    --repository "$repository" --origin "file://$origin" --sha "$sha" --ref "$ref" --work "$work/runs" --api "$api" --run-id "$id" \
    --test-filter "$filter" "$@" || status=$?
  echo "################ run $label: exit $status, $((SECONDS - started)) s ################"
  for summary in "$work/runs/run-$id"/summary-*.md; do
    [ -s "$summary" ] || continue
    echo "---- step summary of job $(basename "$summary" .md | sed 's/summary-//') (run $label) ----"
    cat "$summary"
  done
}

run A 101 pull_request "$(event pull_request opened "$head1")" "$head1" refs/pull/7/merge
run B 102 pull_request "$(event pull_request synchronize "$head2")" "$head2" refs/pull/7/merge

# C: 120 comments by people before ours (GitHub lists comments oldest first, 100 a page at most).
python3 - "$state" <<'PY'
import json, sys
p = sys.argv[1]
state = json.load(open(p))
ours = [c for c in state["comments"] if c["user"]["type"] == "Bot"]
people = [{"id": i + 1, "issue_number": 7, "user": {"login": f"reviewer{i % 7}", "type": "User"},
           "body": f"review comment {i + 1} (mentions <!-- repro-diff --> in a quote)" if i == 3 else f"review comment {i + 1}"} for i in range(120)]
for n, c in enumerate(ours):
    c["id"] = 121 + n
state["comments"] = people + ours
state["next_id"] = 121 + len(ours)
json.dump(state, open(p, "w"), indent=2)
PY
chown "$user": "$state" 2>/dev/null || true
run C 102 pull_request "$work/event-pull_request-synchronize.json" "$head2" refs/pull/7/merge --jobs comment --needs "$work/runs/run-102/needs.json"

# D: the same comment job with a diff of 80,000 characters (a pull request touching many experiments).
diff_md="$work/runs/run-102/artifacts/repro-reports/artifacts/diff.md"
python3 - "$diff_md" <<'PY'
import sys
p = sys.argv[1]
rows = "".join(f"| tutorial-{i:04d} | accuracy | 70.00% ± 1.00 pp (n = 5) | 71.00% ± 1.00 pp (n = 5) | +1.00 pp | -0.46 pp to +2.46 pp | 0.150 |\n" for i in range(700))
open(p, "a").write("\n## Many experiments\n\n" + rows)
PY
run D 102 pull_request "$work/event-pull_request-synchronize.json" "$head2" refs/pull/7/merge --jobs comment --needs "$work/runs/run-102/needs.json"

run E 105 workflow_dispatch "$(event workflow_dispatch run "$base")" "$base" refs/heads/main

# ---- what the fake received ----
echo
echo "################ comment bodies the fake GitHub received ################"
python3 - "$requests" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["method"] == "GET":
        print(f"GET  {r['path']}?page={r['page']}&per_page={r['per_page']}: {r['returned']} comments")
        continue
    print(f"{r['method']:5}{r['path']}: status {r.get('status')}, id {r.get('id', '-')}, {r.get('length', 0)} characters")
    body = r.get("body", "")
    if body:
        shown = body if len(body) < 3000 else body[:1500] + f"\n[… {len(body) - 3000} characters not shown here …]\n" + body[-1500:]
        print("    " + shown.replace("\n", "\n    "))
PY

# ---- checks ----
echo
echo "################ checks ################"
python3 - "$requests" "$work/runs" "$state" "$dispatch_seeds" <<'PY'
import json, os, re, sys
requests = [json.loads(l) for l in open(sys.argv[1])]
runs = sys.argv[2]
state = json.load(open(sys.argv[3]))
dispatch_seeds = sys.argv[4]
passed = failed = 0
def check(ok, what):
    global passed, failed
    print(("PASS " if ok else "FAIL ") + what)
    passed += ok
    failed += not ok
ids = {"A": "101", "B": "102", "E": "105"}  # GitHub's run ids are numbers; C and D re-run B's comment job
def needs(run):
    p = os.path.join(runs, f"run-{ids[run]}", "needs.json")
    return json.load(open(p)) if os.path.exists(p) else {}
def summary(run, job):
    p = os.path.join(runs, f"run-{ids[run]}", f"summary-{job}.md")
    return open(p).read() if os.path.exists(p) else ""
# Requests grouped by run, in order: the log has no run ids, so count writes in sequence.
writes = [r for r in requests if r["method"] in ("POST", "PATCH")]
a, b = needs("A"), needs("B")
check(a.get("repro", {}).get("result") == "success", "A: the repro job passed (tests, verification, diff)")
check(len(writes) >= 1 and writes[0]["method"] == "POST" and writes[0]["status"] == 201, "A: the first run created one comment")
first_id = writes[0].get("id") if writes else None
check(b.get("repro", {}).get("result") == "failure" and "FAILED" in summary("B", "repro"), "B: verification failed on the lock that claims more than the code gives")
check("| experiment | metric |" in summary("B", "repro"), "B: the diff still ran and reached the step summary")
check(len(writes) >= 2 and writes[1]["method"] == "PATCH" and writes[1].get("id") == first_id and "FAILED" in writes[1].get("body", ""),
      "B: the second push updated the same comment, saying verification failed")
check(sum(1 for w in writes if w["method"] == "POST") == 1, "A-D: exactly one comment was ever created")
pages = [r for r in requests if r["method"] == "GET" and r["page"] == 2]
check(len(writes) >= 3 and writes[2]["method"] == "PATCH" and writes[2].get("id") == 121 and len(pages) >= 1,
      "C: with 120 comments before it, our comment was found on page 2 and updated")
check(len(writes) >= 4 and writes[3]["method"] == "PATCH" and writes[3]["status"] == 200 and writes[3]["length"] <= 65536
      and "Shortened" in writes[3].get("body", ""), "D: a body over 65,536 characters was shortened with a note, and GitHub took it")
check(not any(r.get("status") == 422 for r in requests), "A-D: GitHub never refused a body as too long")
lock_dirs = [d for d in os.listdir(os.path.join(runs, "run-105", "artifacts")) if d.startswith("repro-lock-")] if os.path.isdir(os.path.join(runs, "run-105", "artifacts")) else []
platform = lock_dirs[0][len("repro-lock-"):] if lock_dirs else ""
lock = os.path.join(runs, "run-105", "artifacts", lock_dirs[0], "results", "experiments.lock.json") if lock_dirs else ""
locked = json.load(open(lock))["experiments"] if os.path.exists(lock) else {}
check(bool(platform) and any(platform in e["platforms"] for e in locked.values()),
      f"E: the dispatched job uploaded a lock holding this runner's platform {platform or '(none)'}")
# The seeds input: only the first k seeds ran, and the lock still holds every seed's settings (part of a sweep joins it).
log = os.path.join(runs, "run-105", "artifacts", lock_dirs[0], "lock-platform.log") if lock_dirs else ""
trained = {}
for name in re.findall(r"(\S+)/seed-\d+: trained", open(log).read() if os.path.exists(log) else ""):
    trained[name] = trained.get(name, 0) + 1
if dispatch_seeds:
    check(bool(trained) and all(n == int(dispatch_seeds) and len(locked.get(e, {}).get("seeds", {})) > n for e, n in trained.items()),
          f"E: with seeds = {dispatch_seeds}, only the first seed(s) ran ({trained}) and the lock kept every seed of the sweep")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
