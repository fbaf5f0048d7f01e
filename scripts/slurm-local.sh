#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the Slurm integration test and for trying -p:ReproScheduler=slurm.
#   scripts/slurm-local.sh start    install slurm-wlm + munge when missing (Debian, as root), start munged, slurmctld
#                                   and slurmd, wait until sinfo answers; on failure print the daemons' logs, exit 1
#   scripts/slurm-local.sh stop     stop the daemons this script started
#   scripts/slurm-local.sh env      print the export line clients need (SLURM_CONF)
# Everything it writes (slurm.conf, spool folders, logs, pid files, job completion log) is under artifacts/slurm/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/artifacts/slurm"
conf="$dir/slurm.conf"
export SLURM_CONF="$conf"

logs() {
  for f in "$dir"/log/*.log; do
    [ -f "$f" ] || continue
    echo "---- $f (last 40 lines)" >&2
    tail -n 40 "$f" >&2
  done
}

install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && command -v sbatch >/dev/null; then
    return
  fi
  if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
    echo "slurm-local: slurm-wlm and munge are missing and cannot be installed here (needs apt-get as root)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_conf() {
  local host cpus mem
  host="$(hostname -s)"
  cpus="$(nproc)"
  # slurmd refuses to start when RealMemory exceeds what it finds; leave headroom for the OS.
  mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) * 9 / 10 ))
  mkdir -p "$dir/log" "$dir/spool/ctld" "$dir/spool/d" "$dir/run"
  # proctrack/linuxproc and task/none need no cgroups (containers often have none writable); no slurmdbd, so job
  # states of finished jobs come from the job completion log (sacct -c) and from slurmctld's memory (MinJobAge).
  cat > "$conf" <<EOF
ClusterName=repro-local
SlurmctldHost=$host
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/spool/ctld
SlurmdSpoolDir=$dir/spool/d
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
MinJobAge=3600
ReturnToService=2
SchedulerType=sched/backfill
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
}

start() {
  install
  write_conf
  # munged: its key comes with the Debian package; it runs as the munge user when started as root.
  if ! pgrep -x munged >/dev/null; then
    mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
    if id munge >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      su -s /bin/sh munge -c /usr/sbin/munged || { echo "slurm-local: munged did not start" >&2; exit 1; }
    else
      /usr/sbin/munged || { echo "slurm-local: munged did not start" >&2; exit 1; }
    fi
  fi
  stop_daemons quiet
  slurmctld -f "$conf" || { echo "slurm-local: slurmctld did not start" >&2; logs; exit 1; }
  slurmd -f "$conf" || { echo "slurm-local: slurmd did not start" >&2; logs; exit 1; }
  for _ in $(seq 1 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; then
      echo "slurm-local: cluster up ($conf)"
      sinfo
      return
    fi
    sleep 1
  done
  echo "slurm-local: sinfo shows no idle node after 60 s" >&2
  sinfo >&2 || true
  logs
  exit 1
}

stop_daemons() {
  for name in slurmd slurmctld; do
    local pidfile="$dir/run/$name.pid" pid
    # Read once: the daemon removes its pid file as it exits.
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    rm -f "$pidfile"
  done
  [ "${1:-}" = quiet ] || echo "slurm-local: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop_daemons ;;
  env) echo "export SLURM_CONF=$conf" ;;
  logs) logs ;;
  *) echo "usage: $0 start|stop|env|logs" >&2; exit 2 ;;
esac
