/**
 * A sweep's grid: `--grid key=v1,v2` or `--grid key=a..b` (whole numbers, inclusive) per
 * axis, their cross product as points, and each point as the `reproduce` arguments that run
 * it in its own folder. `seed` is `reproduce --seed`; every other key is a `--set` on the
 * experiment's configuration, checked before anything starts.
 */
import { join } from "node:path";
import { UsageError } from "./cli.ts";
import { overridableKeys, parseOverrides, type Overrides } from "./config-overrides.ts";
import type { Experiment } from "./experiment.ts";

export interface Axis {
  key: string;
  values: string[];
}

export interface Point {
  /** Its place in the grid: the Slurm array index. */
  index: number;
  /** The folder name under DIR/points, e.g. "lambdas-0.01_seed-2". */
  id: string;
  values: Record<string, string>;
}

/** What every point shares: the run settings a rerun must repeat to resume the same sweep. */
export interface SweepSettings {
  experiment: string;
  quick: boolean;
  epochs?: number;
  backend?: string;
  set: Overrides;
}

/** "0..4" -> ["0", ..., "4"]; "a,b" -> ["a", "b"]. */
function axisValues(key: string, spec: string): string[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(spec);
  if (range) {
    const [lo, hi] = [Number(range[1]), Number(range[2])];
    if (hi < lo || hi - lo > 10_000) throw new UsageError(`--grid ${key}=${spec}: a range a..b needs a <= b (and at most 10000 values)`);
    return Array.from({ length: hi - lo + 1 }, (_, i) => String(lo + i));
  }
  const values = spec.split(",");
  if (values.some((v) => v === "")) throw new UsageError(`--grid ${key}=${spec}: an empty value (write key=v1,v2 or key=a..b)`);
  if (new Set(values).size !== values.length) throw new UsageError(`--grid ${key}=${spec}: a value is given twice`);
  return values;
}

/** The axes of `--grid` entries; UsageError for a malformed one or a key given twice. */
export function parseGrid(entries: string[] = []): Axis[] {
  if (entries.length === 0) throw new UsageError("give at least one --grid key=v1,v2 (or key=a..b)");
  const axes: Axis[] = [];
  for (const e of entries) {
    const m = /^([^=]+)=(.+)$/.exec(e);
    if (!m) throw new UsageError(`--grid needs key=v1,v2 or key=a..b, got ${JSON.stringify(e)}`);
    if (axes.some((a) => a.key === m[1])) throw new UsageError(`--grid ${m[1]} is given twice`);
    axes.push({ key: m[1], values: axisValues(m[1], m[2]) });
  }
  return axes;
}

/** Every key and value of the grid checked against the experiment, with the fixed `--set`s, before any run. */
export function checkGrid(exp: Experiment, axes: Axis[], s: SweepSettings): void {
  const defaults = exp.config(s.quick, s.epochs);
  const keys = [...overridableKeys(defaults), "seed"];
  for (const a of axes) {
    if (!keys.includes(a.key)) throw new UsageError(`--grid: unknown key "${a.key}" (valid keys: ${keys.join(", ")})`);
    if (a.key in s.set) throw new UsageError(`${a.key} is both a --grid axis and a --set`);
    for (const v of a.values) {
      if (a.key === "seed") {
        if (!/^\d+$/.test(v)) throw new UsageError(`--grid seed needs whole numbers, got ${JSON.stringify(v)}`);
      } else parseOverrides(defaults, { ...s.set, [a.key]: v });
    }
  }
  parseOverrides(defaults, s.set);
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, "-");

/** The cross product of the axes, the last axis varying fastest. */
export function gridPoints(axes: Axis[]): Point[] {
  let combos: Record<string, string>[] = [{}];
  for (const a of axes) combos = combos.flatMap((c) => a.values.map((v) => ({ ...c, [a.key]: v })));
  return combos.map((values, index) => ({
    index,
    values,
    id: Object.entries(values)
      .map(([k, v]) => `${safe(k)}-${safe(v)}`)
      .join("_"),
  }));
}

/** "lambdas=0.01 seed=2", for progress lines and reports. */
export const describePoint = (p: Point) =>
  Object.entries(p.values)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");

export const pointDir = (dir: string, p: Point) => join(dir, "points", p.id);

/** The `augerino reproduce` arguments that run point `p` of the sweep in `dir`. */
export function reproduceArgs(dir: string, s: SweepSettings, p: Point): string[] {
  const { seed, ...grid } = p.values;
  const set = { ...s.set, ...grid };
  return [
    "reproduce",
    s.experiment,
    "--out",
    pointDir(dir, p),
    ...(seed !== undefined ? ["--seed", seed] : []),
    ...Object.entries(set).flatMap(([k, v]) => ["--set", `${k}=${v}`]),
    ...(s.quick ? ["--quick"] : []),
    ...(s.epochs !== undefined ? ["--epochs", String(s.epochs)] : []),
    ...(s.backend ? ["--backend", s.backend] : []),
  ];
}
