/**
 * The Slurm sweep engine: writes the array script, submits the unfinished points with
 * sbatch, follows the tasks with squeue until none is left, then reads each task's final
 * state from sacct (or, on clusters without accounting, from scontrol while Slurm still
 * remembers the job) and records it in DIR/slurm/state.json, which `--resubmit-failed` reads.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { Output } from "./cli.ts";
import { describePoint, type Point, type SweepSettings } from "./sweep-grid.ts";
import { finished, type EngineResult, type Failure } from "./sweep-outcome.ts";
import { logsDir, sbatchScript, scriptPath, taskLog } from "./sweep-sbatch.ts";

/** A problem with the cluster or the folder, not with the arguments: one line, exit 2, no usage. */
export class SetupError extends Error {}

export interface SlurmOpts {
  slurm: Record<string, string>;
  resubmitFailed: boolean;
  /** The longest wait between two squeue calls, in ms (default 10 s). */
  maxPollMs?: number;
}

interface TaskRecord {
  job: string;
  state: string;
  log: string;
}

interface State {
  jobs: string[];
  tasks: Record<string, TaskRecord>;
}

const statePath = (dir: string) => join(dir, "slurm", "state.json");

function readState(dir: string): State {
  try {
    return JSON.parse(readFileSync(statePath(dir), "utf8"));
  } catch {
    return { jobs: [], tasks: {} };
  }
}

/** A Slurm client's output; bounded, so a hung controller fails the sweep instead of stalling it. SetupError with its complaint otherwise. */
function slurm(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const said = String((e as { stderr?: string }).stderr ?? "")
      .trim()
      .split("\n")[0];
    throw new SetupError(`${cmd} ${args.join(" ")} failed: ${said || (e as Error).message.split("\n")[0]}`);
  }
}

const onPath = (cmd: string) => (process.env.PATH ?? "").split(delimiter).some((d) => d !== "" && existsSync(join(d, cmd)));

// Filesystems that live on one machine: fine on a one-node cluster, invisible to the others.
const LOCAL_FS = ["tmpfs", "ramfs", "overlayfs", "ext2/ext3", "xfs", "btrfs", "zfs", "f2fs", "squashfs"];

/** The sweep folder must be one every node sees: refused when it is on a local filesystem and the cluster has several nodes. */
export function checkSharedFolder(dir: string): void {
  const nodes = new Set(slurm("sinfo", ["-h", "-N", "-o", "%N"]).split("\n").filter(Boolean)).size;
  const fs = slurm("stat", ["-f", "-c", "%T", dir]).trim();
  if (nodes > 1 && LOCAL_FS.includes(fs)) {
    throw new SetupError(
      `--out ${dir} is on ${fs}, which only this machine sees, but the cluster has ${nodes} nodes: put the sweep on a filesystem every node shares (home, project or scratch space)`,
    );
  }
}

/** "0-3" style lists are what sbatch --array takes; "1,3" works for any set. */
const arrayList = (indices: number[]) => indices.join(",");

const FAILED_STATES = ["FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "UNKNOWN"];

/** Final state per task index of `job`: sacct where accounting runs, scontrol otherwise. */
function finalStates(job: string): Map<number, string> {
  const states = new Map<number, string>();
  try {
    for (const line of slurm("sacct", ["-n", "-P", "-X", "-j", job, "-o", "JobID,State"]).split("\n")) {
      const m = /^\d+_(\d+)\|(\S+)/.exec(line);
      if (m) states.set(Number(m[1]), m[2]);
    }
    if (states.size > 0) return states;
  } catch {
    // No accounting storage on this cluster: scontrol knows finished jobs for MinJobAge seconds.
  }
  try {
    for (const line of slurm("scontrol", ["show", "job", "-o", job]).split("\n")) {
      const task = /ArrayTaskId=(\d+)/.exec(line)?.[1];
      const state = /JobState=(\S+)/.exec(line)?.[1];
      if (task !== undefined && state) states.set(Number(task), state);
    }
  } catch {
    // Forgotten by the controller as well: the points' results.json decide below.
  }
  return states;
}

/** The tasks of `jobs` still queued or running, as "job_index" -> state. */
function activeTasks(jobs: string[]): Map<string, string> {
  const active = new Map<string, string>();
  for (const job of jobs) {
    let lines: string[];
    try {
      lines = slurm("squeue", ["-h", "-r", "-j", job, "-o", "%F %K %T"]).split("\n");
    } catch (e) {
      // A job the controller has forgotten is over; squeue calls its id invalid.
      if (/invalid job id/i.test((e as Error).message)) continue;
      throw e;
    }
    for (const line of lines) {
      const [arrayJob, task, state] = line.trim().split(/\s+/);
      if (state) active.set(`${arrayJob}_${task}`, state);
    }
  }
  return active;
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/**
 * Waits until no task of `jobs` is queued or running (or `stop.now`), printing each task's
 * changes of state and its end. squeue is asked every second after a change, backing off to
 * every `maxPollMs` while nothing moves, so long runs do not load the controller.
 */
async function follow(dir: string, jobs: string[], points: Point[], io: Output, maxPollMs: number, stop: { now: boolean }): Promise<void> {
  const seen = new Map<string, string>();
  const label = (task: string) => {
    const p = points[Number(task.split("_")[1])];
    return { p, name: `task ${task}${p ? ` (${describePoint(p)})` : ""}` };
  };
  let pollMs = 1000;
  let misses = 0;
  while (!stop.now) {
    let active: Map<string, string>;
    try {
      active = activeTasks(jobs);
      misses = 0;
    } catch (e) {
      // A busy controller times out now and then; a sweep that runs for hours should not end on one miss.
      if (++misses >= 5) throw e;
      io.err(`augerino sweep: ${(e as Error).message}; asking again`);
      await sleep(2000 * misses);
      continue;
    }
    let changed = false;
    for (const [task, state] of active) {
      if (seen.get(task) === state) continue;
      seen.set(task, state);
      changed = true;
      io.out(`${label(task).name}: ${state}`);
    }
    for (const task of [...seen.keys()].filter((t) => !active.has(t))) {
      seen.delete(task);
      changed = true;
      const { p, name } = label(task);
      io.out(`${name}: left the queue, ${p && finished(dir, p) ? "results written" : "no results"}`);
    }
    if (active.size === 0) return;
    pollMs = changed ? 1000 : Math.min(maxPollMs, pollMs * 1.5);
    await sleep(pollMs);
  }
}

function submit(dir: string, indices: number[]): string {
  const out = slurm("sbatch", ["--parsable", `--array=${arrayList(indices)}`, scriptPath(dir)]).trim();
  const job = /^(\d+)/.exec(out)?.[1];
  if (!job) throw new SetupError(`sbatch answered ${JSON.stringify(out)} instead of a job id`);
  return job;
}

export async function runSlurm(dir: string, s: SweepSettings, points: Point[], opts: SlurmOpts, io: Output): Promise<EngineResult> {
  if (!onPath("sbatch")) throw new SetupError("sbatch is not on PATH: the slurm engine runs where Slurm's commands are (a login node), or use --engine local");
  checkSharedFolder(dir);
  const state = readState(dir);
  // Tasks of an earlier run of this command that are still queued or running are followed, not submitted again.
  const stillActive = new Set([...activeTasks(state.jobs).keys()].map((t) => Number(t.split("_")[1])));
  const failedBefore = (p: Point) => FAILED_STATES.includes(state.tasks[p.index]?.state ?? "");
  const todo = points.filter((p) => !finished(dir, p) && !stillActive.has(p.index) && (!opts.resubmitFailed || failedBefore(p)));
  if (opts.resubmitFailed && todo.length === 0 && stillActive.size === 0) io.out("no failed, timed-out or cancelled tasks to resubmit");
  if (todo.length < points.length) io.out(`${points.filter((p) => finished(dir, p)).length} of ${points.length} points finished earlier; skipping them`);

  mkdirSync(logsDir(dir), { recursive: true });
  writeFileSync(scriptPath(dir), sbatchScript(dir, s, points, opts.slurm));
  const jobs = state.jobs.filter((j) => activeTasks([j]).size > 0);
  if (todo.length > 0) {
    const job = submit(
      dir,
      todo.map((p) => p.index),
    );
    io.out(`submitted array job ${job} (${todo.length} task${todo.length > 1 ? "s" : ""}: ${arrayList(todo.map((p) => p.index))}) from ${scriptPath(dir)}`);
    for (const p of todo) state.tasks[p.index] = { job, state: "PENDING", log: taskLog(dir, job, p.index) };
    state.jobs.push(job);
    jobs.push(job);
  }
  writeFileSync(statePath(dir), JSON.stringify(state, null, 2));

  // Ctrl-C stops following; the tasks keep running on the cluster and a rerun picks them up.
  const stop = { now: false };
  const onSignal = () => (stop.now = true);
  process.once("SIGINT", onSignal);
  try {
    await follow(dir, jobs, points, io, opts.maxPollMs ?? 10_000, stop);
  } finally {
    process.off("SIGINT", onSignal);
  }
  if (stop.now) {
    io.err(`augerino sweep: stopped following; the tasks of job ${jobs.join(", ")} keep running; rerun the same command to follow and collect them (scancel ${jobs.join(" ")} stops them)`);
    return { failures: [], interrupted: true };
  }

  const failures: Failure[] = [];
  for (const job of jobs) {
    const states = finalStates(job);
    for (const p of points) {
      const rec = state.tasks[p.index];
      if (!rec || rec.job !== job) continue;
      const done = finished(dir, p);
      // A task that exited 0 without results.json still failed the point.
      rec.state = done ? "COMPLETED" : (states.get(p.index) ?? "UNKNOWN").replace(/^COMPLETED$/, "FAILED");
      if (!done) failures.push({ point: p, state: rec.state, log: rec.log });
    }
  }
  writeFileSync(statePath(dir), JSON.stringify(state, null, 2));
  for (const f of failures) io.out(`task ${state.tasks[f.point.index].job}_${f.point.index} (${describePoint(f.point)}): ${f.state}; log ${f.log}`);
  if (failures.length > 0) io.out(`${failures.length} task${failures.length > 1 ? "s" : ""} failed, timed out or were cancelled; rerun with --resubmit-failed to run only those`);
  return { failures, interrupted: false };
}
