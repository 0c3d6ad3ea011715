#!/usr/bin/env bash
# A one-node Slurm on this machine for the sweep tests: `start` installs Debian's slurm-wlm
# and munge when missing, writes a slurm.conf (this host, its CPUs), starts munged,
# slurmctld and slurmd and waits for the node; `stop` ends exactly the daemons `start`
# started, by the PIDs it recorded. Everything lives under $AUGERINO_SLURM_DIR.
# `start` prints the SLURM_CONF line to export for sbatch, squeue, scontrol and sacct.
set -euo pipefail
DIR="${AUGERINO_SLURM_DIR:-/tmp/augerino-slurm}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

install() {
  command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1 && return
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_conf() {
  local host cpus user
  host="$(hostname -s)"; cpus="$(nproc)"; user="$(id -un)"
  mkdir -p "$DIR/spool" "$DIR/state" "$DIR/munge"
  # CR_CPU makes each CPU a slot, so several one-CPU array tasks run at once; sched/builtin
  # starts a queued task as soon as a CPU frees (backfill waits for its interval). No slurmdbd:
  # finished jobs stay visible to scontrol for MinJobAge seconds instead of through sacct.
  cat >"$DIR/slurm.conf" <<EOF
ClusterName=augerino-ci
SlurmctldHost=$host
SlurmUser=$user
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=3600
KillWait=5
SchedulerType=sched/builtin
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmdSpoolDir=$DIR/spool
StateSaveLocation=$DIR/state
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  # stdout carries only the export line (callers eval it); apt's chatter goes to stderr.
  install >&2
  write_conf
  export SLURM_CONF="$DIR/slurm.conf"
  # munged keeps its socket and pid under $DIR (slurm.conf's AuthInfo names the socket), so a
  # system munged, if any, is left alone; --force because CI runs it as root, not as munge.
  $SUDO /usr/sbin/munged --force --socket="$DIR/munge/munge.socket" --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/munged.seed"
  $SUDO /usr/sbin/slurmctld -f "$SLURM_CONF"
  $SUDO /usr/sbin/slurmd -f "$SLURM_CONF"
  for _ in $(seq 60); do
    if sinfo -h -o '%t' 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; then
      echo "export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 1
  done
  echo "slurm.sh: the node did not come up within 60 s; see $DIR/slurmctld.log and $DIR/slurmd.log" >&2
  stop
  return 1
}

stop() {
  # Only the daemons started here, by the PIDs they wrote; slurmd first, then the controller, then munge.
  for pidfile in "$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$DIR/munge/munged.pid"; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    if $SUDO kill "$pid" 2>/dev/null; then
      for _ in $(seq 20); do $SUDO kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      $SUDO kill -9 "$pid" 2>/dev/null || true
    fi
    $SUDO rm -f "$pidfile"
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: .ci/slurm.sh start|stop" >&2; exit 2 ;;
esac
