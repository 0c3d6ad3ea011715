/**
 * The sbatch array script of a Slurm sweep: one task per grid point, the task's index
 * choosing its `augerino reproduce` arguments. It is written into the sweep folder so it
 * can be read, edited and resubmitted by hand (`sbatch --array=1,3 DIR/slurm/sweep.sbatch`).
 */
import { join } from "node:path";
import { UsageError } from "./cli.ts";
import { parseAssignments } from "./config-overrides.ts";
import { describePoint, reproduceArgs, type Point, type SweepSettings } from "./sweep-grid.ts";

/** The sbatch options `--slurm key=value` passes through; others are refused rather than guessed at. */
export const SLURM_KEYS = ["partition", "time", "mem", "mem-per-cpu", "gres", "gpus-per-task", "cpus-per-task", "account", "qos", "constraint", "nodelist", "exclude"];

export function parseSlurmOptions(entries: string[] = []): Record<string, string> {
  const opts = parseAssignments("slurm", entries);
  for (const [k, v] of Object.entries(opts)) {
    if (!SLURM_KEYS.includes(k)) throw new UsageError(`--slurm: unknown key "${k}" (passed through: ${SLURM_KEYS.join(", ")})`);
    if (v === "" || /[\s'"\\]/.test(v)) throw new UsageError(`--slurm ${k} needs a value without spaces or quotes, got ${JSON.stringify(v)}`);
  }
  return opts;
}

/** Single-quoted for bash. */
export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export const logsDir = (dir: string) => join(dir, "slurm", "logs");
export const scriptPath = (dir: string) => join(dir, "slurm", "sweep.sbatch");
/** Where Slurm writes the output of task `index` of job `job` (the script's --output pattern). */
export const taskLog = (dir: string, job: string, index: number) => join(logsDir(dir), `${job}_${index}.log`);

export function sbatchScript(dir: string, s: SweepSettings, points: Point[], slurm: Record<string, string>): string {
  const repo = new URL("..", import.meta.url).pathname;
  const bin = new URL("./bin.js", import.meta.url).pathname;
  const opts = { "cpus-per-task": "1", ...slurm };
  return [
    "#!/bin/bash",
    `# Written by \`augerino sweep ${s.experiment} --engine slurm\`: one array task per grid point.`,
    "# Submit all points with --array=0-" + (points.length - 1) + ", or some with e.g. --array=1,3.",
    `#SBATCH --job-name=augerino-${s.experiment}`,
    `#SBATCH --output=${join(logsDir(dir), "%A_%a.log")}`,
    ...Object.entries(opts).map(([k, v]) => `#SBATCH --${k}=${v}`),
    "set -uo pipefail",
    // Without a shared folder the task could not even open its log; say so where it can.
    `[ -d ${shq(dir)} ] || { echo "augerino sweep: ${dir} is not visible on $(hostname); the sweep folder must be on a filesystem every node shares" >&2; exit 3; }`,
    `cd ${shq(repo)}`,
    // The CPU backend uses the CPUs Slurm gave the task, not every core of the node.
    'export AUGERINO_THREADS="${SLURM_CPUS_PER_TASK:-1}"',
    'case "$SLURM_ARRAY_TASK_ID" in',
    ...points.map((p) => `  ${p.index}) args=(${reproduceArgs(dir, s, p).map(shq).join(" ")}) ;; # ${describePoint(p)}`),
    '  *) echo "augerino sweep: this sweep has no point $SLURM_ARRAY_TASK_ID" >&2; exit 2 ;;',
    "esac",
    'echo "augerino sweep: task $SLURM_ARRAY_TASK_ID of job $SLURM_ARRAY_JOB_ID on $(hostname): augerino ${args[*]}"',
    `exec ${shq(process.execPath)} ${shq(bin)} "\${args[@]}"`,
    "",
  ].join("\n");
}
