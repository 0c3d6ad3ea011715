/**
 * The benchmark harness: workload and library shapes, timing with warm-up and
 * repetitions chosen by duration, statistics, and the markdown table.
 */
import { execSync } from "node:child_process";
import { availableParallelism } from "node:os";

export type Kind = "matmul" | "conv" | "convGrad" | "chain" | "gridSample" | "gridSampleGrad" | "train" | "copy" | "maxPool" | "avgPool" | "batchNorm" | "adam";
export type Inputs = Record<string, Float32Array | Int32Array>;

export interface Workload {
  id: string;
  kind: Kind;
  title: string;
  /** Sizes the peers need to rebuild the workload (n, batch, channels, ...). */
  params: Record<string, number>;
  /** Work per call for the throughput column: FLOPs (GFLOP/s) or bytes (GB/s). */
  work?: { amount: number; unit: "GFLOP/s" | "GB/s" };
  /** Show the check value under this label instead of comparing it with ours (e.g. a loss from different random draws). */
  checkLabel?: string;
  /** The same data for every library, generated once (row-major, our layouts: NCHW, OIHW). */
  inputs(): Inputs;
}

/** A workload made ready in one library: `run` is timed; `check` summarises the output once. */
export interface Prepared {
  run(): unknown;
  /** Mean |output| (a layout-independent summary) to confirm every library computed the same thing. */
  check?(): Promise<number> | number;
  dispose?(): void;
}

export type Impl = (w: Workload, inputs: Inputs) => Promise<Prepared> | Prepared;
/** A cell the library cannot or should not run, with the reason printed in the table. */
export interface Skip {
  skip: string;
  /** The implementation, when the cell is only too slow for the default budget (`--slow` runs it). */
  slow?: Impl;
}

export interface Library {
  name: string;
  /** Mode, threads and fallbacks worth a line under the table. */
  note?: string;
  /** Called before each of this library's cells (TF.js switches its global backend here). */
  activate?(): Promise<void>;
  impls: Partial<Record<Kind, Impl | Skip>>;
}

export interface Peer {
  name: string;
  load(): Promise<Library>;
}

export interface Stats {
  reps: number;
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  /** The first call, which includes tracing / compilation. */
  firstMs: number;
  samples: number[];
}

export interface Cell {
  workload: string;
  library: string;
  status: "ok" | "unavailable" | "skipped" | "failed";
  reason?: string;
  stats?: Stats;
  throughput?: number;
  check?: number;
}

/** Deterministic uniform numbers in [lo, hi) (mulberry32), so every library sees identical data. */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = lo + (((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo);
  }
  return out;
}

/** Mean absolute value, the check summary. */
export function meanAbs(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]);
  return s / a.length;
}

/** [N, C, H, W] -> [N, H, W, C] (TF.js wants channels last). */
export function nchwToNhwc(x: Float32Array, [n, c, h, w]: number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) out[(b * h * w + i) * c + ch] = x[(b * c + ch) * h * w + i];
  return out;
}

/** [O, I, KH, KW] -> [KH, KW, I, O] (TF.js filter layout). */
export function oihwToHwio(x: Float32Array, [o, ci, kh, kw]: number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let a = 0; a < o; a++) for (let b = 0; b < ci; b++) for (let k = 0; k < kh * kw; k++) out[(k * ci + b) * o + a] = x[(a * ci + b) * kh * kw + k];
  return out;
}

const quantile = (s: number[], q: number) => {
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
};

// Give FinalizationRegistry callbacks (our buffer pool) and pending promises a turn between calls.
const yieldTurn = () => new Promise((r) => setImmediate(r));

export interface MeasureOpts {
  /** Fixed repetitions (--reps); otherwise chosen so the measured calls take about budgetMs. */
  reps?: number;
  budgetMs: number;
}

/**
 * Times `run`: two warm-up calls (tracing, compilation, caches), more while they are cheap,
 * then repetitions: 3 to 25 by duration, or 2 for calls over 5 s to bound the run time.
 */
export async function measure(run: () => unknown, opts: MeasureOpts): Promise<Stats> {
  const time = async () => {
    const t0 = performance.now();
    await run();
    const ms = performance.now() - t0;
    await yieldTurn();
    return ms;
  };
  const firstMs = await time();
  // A second warm-up call always: the first often pays for compilation, so it cannot size the reps.
  let last = await time();
  let warm = firstMs + last;
  for (let i = 0; i < 3 && warm < 300; i++) warm += last = await time();
  const est = last;
  const reps = opts.reps ?? Math.max(est > 5000 ? 2 : 3, Math.min(25, Math.round(opts.budgetMs / Math.max(est, 1e-3))));
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) samples.push(await time());
  const s = [...samples].sort((a, b) => a - b);
  return { reps, median: quantile(s, 0.5), min: s[0], max: s[s.length - 1], q1: quantile(s, 0.25), q3: quantile(s, 0.75), firstMs, samples };
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  date: string;
}

export function machine(): Machine {
  let cpu = "unknown CPU";
  try {
    cpu = /Model name:\s*(.+)/.exec(execSync("lscpu", { encoding: "utf8" }))?.[1].trim() ?? cpu;
  } catch {
    // lscpu is missing on some systems; Node's own report is the fallback.
  }
  return { cpu, cores: availableParallelism(), node: process.version, date: new Date().toISOString().slice(0, 16).replace("T", " ") };
}

const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const fmtTp = (v: number) => (v >= 10 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(2));

/** One markdown table per run: a row per workload x library, ours first in each group. */
export function markdownTable(m: Machine, cmd: string, workloads: Workload[], cells: Cell[], libs: { name: string; note?: string }[], ours: string): string {
  const lines = [
    `Machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date} UTC. Command: \`${cmd}\``,
    "",
    "| workload | library | median ms | min - max ms (IQR) | reps | first call ms | throughput | vs ours | check |",
    "|---|---|---:|---|---:|---:|---:|---:|---|",
  ];
  for (const w of workloads) {
    const group = cells.filter((c) => c.workload === w.id);
    const base = group.find((c) => c.library === ours);
    for (const c of group) {
      if (c.status !== "ok" || !c.stats) {
        lines.push(`| ${w.title} | ${c.library} | ${c.status}: ${c.reason ?? ""} | | | | | | |`);
        continue;
      }
      const s = c.stats;
      const tp = c.throughput !== undefined ? `${fmtTp(c.throughput)} ${w.work!.unit}` : "";
      const ratio = base?.stats && c.library !== ours ? `${(s.median / base.stats.median).toFixed(2)}x` : c.library === ours ? "1" : "";
      const chk =
        c.check === undefined
          ? ""
          : w.checkLabel
            ? `${w.checkLabel} ${c.check.toFixed(3)}`
            : base?.check === undefined || c.library === ours
              ? c.check.toPrecision(4)
              : Math.abs(c.check - base.check) <= 2e-3 * Math.abs(base.check) + 1e-6
                ? "same"
                : `differs: ${c.check.toPrecision(4)}`;
      lines.push(
        `| ${w.title} | ${c.library} | ${fmtMs(s.median)} | ${fmtMs(s.min)} - ${fmtMs(s.max)} (${fmtMs(s.q1)} - ${fmtMs(s.q3)}) | ${s.reps} | ${fmtMs(s.firstMs)} | ${tp} | ${ratio} | ${chk} |`,
      );
    }
  }
  lines.push("", 'vs ours = peer median / our median (> 1: we are faster). check = mean |output| equal to ours within 0.2% ("same").');
  for (const l of libs) if (l.note) lines.push(`- ${l.name}: ${l.note}`);
  return lines.join("\n");
}
