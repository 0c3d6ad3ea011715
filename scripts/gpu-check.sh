#!/usr/bin/env bash
# The GPU check for a short loan of a machine with an NVIDIA GPU: runs the CUDA tests, the
# WebGPU tests (the backend's own and the whole webgpu project) and the GPU benchmark rows,
# each under a time limit so the whole run fits the budget (default 480 s), then prints one
# summary. Node need not be installed there: the script starts from a carried binary.
#
#   scripts/gpu-check.sh [--budget SECONDS] [--only PHASES] [--dry-run]
#   scripts/gpu-check.sh --pack     # here: writes .node/node.xz and .node/modules.tar.xz
#
# PHASES is a comma-separated list of: cuda, webgpu-unit, webgpu, bench-webgpu, bench-cuda.
# GPU_CHECK_PROBE (default "nvidia-smi -L") is the command that says whether a GPU is there.
# Exit status: 0 when every phase passed, 1 when one did not, 2 for a usage error.
set -u
cd "$(dirname "$0")/.."

ALL="cuda webgpu-unit webgpu bench-webgpu bench-cuda"
# Each phase's share of the budget, in seconds of the default 480.
declare -A SHARE=([cuda]=120 [webgpu-unit]=90 [webgpu]=180 [bench-webgpu]=45 [bench-cuda]=45)
declare -A WHAT=(
  [cuda]="CUDA backend tests (tests/backends/cuda, AUGERINO_REQUIRE_CUDA=1)"
  [webgpu-unit]="WebGPU backend tests (tests/backends/webgpu, AUGERINO_REQUIRE_WEBGPU=1)"
  [webgpu]="the webgpu test project (every test on WebGPU)"
  [bench-webgpu]="bench rows: ours on WebGPU beside jax-js webgpu"
  [bench-cuda]="bench rows: ours on CUDA"
)

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
fail_usage() {
  echo "gpu-check: $1" >&2
  echo "usage: scripts/gpu-check.sh [--budget SECONDS] [--only PHASES] [--dry-run] | --pack" >&2
  exit 2
}

BUDGET=480
ONLY="$ALL"
DRY=0
PACK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --budget)
      [ $# -ge 2 ] || fail_usage "--budget needs a number of seconds"
      [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge 60 ] || fail_usage "--budget must be a whole number of seconds, at least 60, got '$2'"
      BUDGET=$2
      shift 2
      ;;
    --only)
      [ $# -ge 2 ] || fail_usage "--only needs a comma-separated list of phases ($ALL)"
      ONLY=${2//,/ }
      for p in $ONLY; do [ -n "${SHARE[$p]+x}" ] || fail_usage "unknown phase '$p'; phases: $ALL"; done
      shift 2
      ;;
    --dry-run) DRY=1; shift ;;
    --pack) PACK=1; shift ;;
    -h | --help) usage ;;
    *) fail_usage "unknown option '$1'" ;;
  esac
done

# --pack: what the device tool carries (.node is git-ignored; node_modules is too large to
# carry as is, so the packages the GPU check does not load are left out).
if [ "$PACK" = 1 ]; then
  mkdir -p .node
  node_bin=$(readlink -f "$(command -v node)") || { echo "gpu-check --pack: no node on PATH" >&2; exit 1; }
  xz -T2 -c "$node_bin" > .node/node.xz
  modules=$(readlink -f node_modules)
  [ -d "$modules" ] || { echo "gpu-check --pack: no node_modules here (npm ci first)" >&2; exit 1; }
  tar -C "$(dirname "$modules")" -cf - \
    --exclude='node_modules/@tensorflow' --exclude='node_modules/gpu.js' --exclude='node_modules/gl' \
    --exclude='node_modules/@typescript' --exclude='node_modules/typescript' --exclude='node_modules/core-js' \
    --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' \
    --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='node_modules/.cache' \
    "$(basename "$modules")" | xz -T2 -6 > .node/modules.tar.xz
  ls -l .node
  echo "gpu-check --pack: carry .node ($(du -sm .node | cut -f1) MiB)"
  exit 0
fi

# Dawn wants a runtime directory; tests needing datasets skip without AUGERINO_DATA_DIR.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
LOGS=${GPU_CHECK_LOGS:-$(mktemp -d /tmp/gpu-check.XXXXXX)}
mkdir -p "$LOGS"
START=$(date +%s)
declare -A STATUS SECONDS_TAKEN DETAIL

# Node: on PATH, else the carried binary; a `node` on PATH lets package scripts (#!/usr/bin/env node) run.
setup_node() {
  if command -v node > /dev/null; then return 0; fi
  [ -f .node/node.xz ] || { echo "no node on PATH and no .node/node.xz (make it with scripts/gpu-check.sh --pack)"; return 1; }
  xz -dc .node/node.xz > /tmp/node && chmod +x /tmp/node || { echo "could not unpack .node/node.xz"; return 1; }
  mkdir -p /tmp/gpu-check-bin && ln -sf /tmp/node /tmp/gpu-check-bin/node
  export PATH="/tmp/gpu-check-bin:$PATH"
}

# node_modules: here, else the carried archive (a dangling link left by a worktree is replaced).
setup_modules() {
  if [ -f node_modules/vitest/vitest.mjs ]; then return 0; fi
  [ -f .node/modules.tar.xz ] || { echo "no node_modules and no .node/modules.tar.xz (scripts/gpu-check.sh --pack)"; return 1; }
  if [ -L node_modules ]; then rm -f node_modules; fi
  xz -dc .node/modules.tar.xz | tar -xf - || { echo "could not unpack .node/modules.tar.xz"; return 1; }
}

command_of() {
  case "$1" in
    cuda) echo "env AUGERINO_REQUIRE_CUDA=1 node node_modules/vitest/vitest.mjs run --project cpu tests/backends/cuda" ;;
    webgpu-unit) echo "env AUGERINO_REQUIRE_WEBGPU=1 node node_modules/vitest/vitest.mjs run --project cpu tests/backends/webgpu" ;;
    webgpu) echo "env AUGERINO_REQUIRE_WEBGPU=1 node node_modules/vitest/vitest.mjs run --project webgpu" ;;
    bench-webgpu) echo "node node_modules/tsx/dist/cli.mjs bench/run.ts --backend webgpu --budget-ms 500" ;;
    bench-cuda) echo "node node_modules/tsx/dist/cli.mjs bench/run.ts --backend cuda --libs ours --budget-ms 500" ;;
  esac
}

limit_of() { echo $((SHARE[$1] * BUDGET / 480)); }

# The line a phase's log ends with that says how it went (vitest's counts, the bench's rows).
detail_of() {
  local log=$1 line
  line=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^ *Tests +[0-9]' | tail -1 | sed 's/^ *//;s/ \+/ /g')
  if [ -z "$line" ]; then
    local rows failed
    rows=$(grep -c '^| ' "$log" || true)
    failed=$(grep -c 'failed:' "$log" || true)
    [ "$rows" -gt 0 ] && line="$((rows - 2)) table rows, $failed cells failed"
  fi
  [ -n "$line" ] || line=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -v '^\s*$' | tail -1 | cut -c1-100)
  echo "$line"
}

summary() {
  local total=$(($(date +%s) - START)) passed=0 n=0
  echo
  echo "gpu-check summary (budget ${BUDGET} s; GPU: ${GPU_NAME}; logs in ${LOGS})"
  printf '%-13s %-8s %7s  %s\n' phase status seconds detail
  for p in $ONLY; do
    n=$((n + 1))
    [ "${STATUS[$p]}" = PASS ] && passed=$((passed + 1))
    printf '%-13s %-8s %7s  %s\n' "$p" "${STATUS[$p]}" "${SECONDS_TAKEN[$p]:--}" "${DETAIL[$p]}"
  done
  local verdict=FAIL
  [ "$passed" = "$n" ] && verdict=PASS
  echo "gpu-check: $verdict ($passed of $n phases passed) in $total s"
  [ "$verdict" = PASS ]
}

if [ "$DRY" = 1 ]; then
  echo "gpu-check plan (budget ${BUDGET} s):"
  for p in $ONLY; do printf '  %-13s %4s s  %s\n      %s\n' "$p" "$(limit_of "$p")" "${WHAT[$p]}" "$(command_of "$p")"; done
  exit 0
fi

GPU_NAME=none
probe=${GPU_CHECK_PROBE:-nvidia-smi -L}
if out=$(bash -c "$probe" 2>&1); then
  GPU_NAME=$(echo "$out" | head -1 | cut -c1-80)
  [ -n "$GPU_NAME" ] || GPU_NAME="present"
  setup_msg=$(setup_node && setup_modules) || GPU_SETUP_FAIL=$setup_msg
else
  GPU_SETUP_FAIL="no NVIDIA GPU: '$probe' failed ($(echo "$out" | head -1 | cut -c1-80))"
fi

for p in $ONLY; do
  if [ -n "${GPU_SETUP_FAIL:-}" ]; then
    STATUS[$p]=FAIL
    DETAIL[$p]=$GPU_SETUP_FAIL
    continue
  fi
  limit=$(limit_of "$p")
  echo "== $p (${WHAT[$p]}; at most $limit s)" >&2
  t0=$(date +%s)
  # shellcheck disable=SC2046 # the command is a plain word list
  timeout --kill-after=10 "$limit" $(command_of "$p") > "$LOGS/$p.log" 2>&1
  rc=$?
  SECONDS_TAKEN[$p]=$(($(date +%s) - t0))
  DETAIL[$p]=$(detail_of "$LOGS/$p.log")
  case $rc in
    0) STATUS[$p]=PASS ;;&
    0) if [[ $p == bench-* ]] && grep -q 'failed:' "$LOGS/$p.log"; then STATUS[$p]=FAIL; fi ;;
    124 | 137) STATUS[$p]=TIMEOUT; DETAIL[$p]="stopped at $limit s; ${DETAIL[$p]}" ;;
    *) STATUS[$p]=FAIL ;;
  esac
done

summary
