/** What an engine hands back about a sweep's points, and when a point counts as finished. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pointDir, type Point } from "./sweep-grid.ts";

/** A point without results: its final state (Slurm's, e.g. CANCELLED or TIMEOUT, or FAILED / INTERRUPTED locally) and its log. */
export interface Failure {
  point: Point;
  state: string;
  log: string;
}

export interface EngineResult {
  failures: Failure[];
  /** Stopped by Ctrl-C (or SIGTERM) before every point ran. */
  interrupted: boolean;
}

/** `reproduce` writes results.json last, so its presence means the point ran to the end. */
export const finished = (dir: string, p: Point) => existsSync(join(pointDir(dir, p), "results.json"));
