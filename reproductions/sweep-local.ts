/**
 * The local sweep engine: each point a child `augerino reproduce`, as many at once as the
 * machine has cores, each with its share of the CPU backend's threads. Points with a
 * results.json are skipped, so rerunning the command continues a sweep, and `reproduce`
 * itself resumes an interrupted point from the checkpoints in its folder.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Output } from "./cli.ts";
import { fmtTime } from "./progress.ts";
import { describePoint, pointDir, reproduceArgs, type Point, type SweepSettings } from "./sweep-grid.ts";
import { finished, type EngineResult, type Failure } from "./sweep-outcome.ts";

const bin = new URL("./bin.js", import.meta.url).pathname;

/** How many points run at once and how many threads each gets, for `todo` points on `cores` cores. */
export function localShares(todo: number, cores = availableParallelism()): { parallel: number; threads: number } {
  const parallel = Math.max(1, Math.min(todo, cores));
  return { parallel, threads: Math.max(1, Math.floor(cores / parallel)) };
}

export async function runLocal(dir: string, s: SweepSettings, points: Point[], io: Output): Promise<EngineResult> {
  const todo = points.filter((p) => !finished(dir, p));
  if (todo.length < points.length) io.out(`${points.length - todo.length} of ${points.length} points finished earlier; skipping them`);
  if (todo.length === 0) return { failures: [], interrupted: false };
  const { parallel, threads } = localShares(todo.length);
  io.out(`running ${todo.length} points, ${parallel} at a time, ${threads} thread${threads > 1 ? "s" : ""} each; logs in ${join(dir, "points")}/<point>/log.txt`);

  const running = new Set<ChildProcess>();
  let stopping = false;
  // The first Ctrl-C lets the points stop on SIGTERM (their last epoch's checkpoint stays); a second one kills them.
  const onSignal = () => {
    if (stopping) for (const c of running) c.kill("SIGKILL");
    else {
      stopping = true;
      io.err(`augerino sweep: stopping ${running.size} running point(s); rerun the same command to resume from their checkpoints`);
      for (const c of running) c.kill("SIGTERM");
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const failures: Failure[] = [];
  let next = 0;
  let ended = points.length - todo.length;
  const runPoint = (p: Point) =>
    new Promise<void>((done) => {
      const folder = pointDir(dir, p);
      mkdirSync(folder, { recursive: true });
      const log = join(folder, "log.txt");
      const fd = openSync(log, "a");
      const t0 = Date.now();
      const child = spawn(process.execPath, [bin, ...reproduceArgs(dir, s, p)], { stdio: ["ignore", fd, fd], env: { ...process.env, AUGERINO_THREADS: String(threads) } });
      closeSync(fd);
      running.add(child);
      const end = (code: number | null, signal: string | null) => {
        running.delete(child);
        ended++;
        const head = `[${ended}/${points.length}] ${describePoint(p)}:`;
        if (code === 0 && finished(dir, p)) io.out(`${head} done in ${fmtTime((Date.now() - t0) / 1000)}`);
        else {
          const state = stopping ? "INTERRUPTED" : "FAILED";
          failures.push({ point: p, state, log });
          io.out(`${head} ${state} (${signal ? `signal ${signal}` : `exit ${code}`}); log ${log}`);
        }
        done();
      };
      child.on("error", (e) => {
        io.err(`augerino sweep: cannot start ${describePoint(p)}: ${e.message}`);
        end(null, null);
      });
      child.on("exit", end);
    });
  const lane = async () => {
    while (!stopping && next < todo.length) await runPoint(todo[next++]);
  };
  try {
    await Promise.all(Array.from({ length: parallel }, lane));
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  return { failures, interrupted: stopping };
}
