/**
 * `augerino sweep <experiment> --grid key=values ...`: the grid's points, each one
 * `augerino reproduce` in DIR/points/<point>, run here (local) or as a Slurm array job,
 * then one merged report. The settings every point shares are kept in DIR/sweep-settings.json
 * so that a rerun continues the same sweep, and one with other settings is refused.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { consoleOutput, defineCommand, intFlag, parseFlags, UsageError } from "./cli.ts";
import { parseAssignments } from "./config-overrides.ts";
import { experiments } from "./experiments/index.ts";
import { prepareOutDir } from "./out-dir.ts";
import { checkGrid, gridPoints, parseGrid, type SweepSettings } from "./sweep-grid.ts";
import { runLocal } from "./sweep-local.ts";
import { writeSweepReport } from "./sweep-report.ts";
import { parseSlurmOptions } from "./sweep-sbatch.ts";
import { runSlurm, SetupError } from "./sweep-slurm.ts";

const USAGE =
  "usage: augerino sweep <experiment> --grid key=v1,v2|a..b [--grid ...] [--set key=value ...] [--engine local|slurm] [--slurm key=value ...] [--resubmit-failed] [--out DIR] [--quick] [--epochs N] [--backend NAME]";

const OPTIONS = {
  grid: { type: "string", multiple: true },
  set: { type: "string", multiple: true },
  engine: { type: "string" },
  slurm: { type: "string", multiple: true },
  "resubmit-failed": { type: "boolean" },
  out: { type: "string" },
  quick: { type: "boolean" },
  epochs: { type: "string" },
  backend: { type: "string" },
} as const;

export function parseSweepArgs(args: string[]) {
  const { values: v, positionals } = parseFlags(args, OPTIONS);
  const known = Object.keys(experiments).join(", ");
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? `name an experiment (${known})` : `one experiment at a time, got ${positionals.join(" ")}`);
  const exp = experiments[positionals[0]];
  if (!exp) throw new UsageError(`unknown experiment "${positionals[0]}"; known: ${known}`);
  const engine = v.engine ?? "local";
  if (engine !== "local" && engine !== "slurm") throw new UsageError(`--engine needs local or slurm, got ${JSON.stringify(engine)}`);
  if (engine === "local" && (v.slurm || v["resubmit-failed"])) throw new UsageError(`--${v.slurm ? "slurm" : "resubmit-failed"} needs --engine slurm`);
  for (const flag of ["out", "backend"] as const) if (v[flag] === "") throw new UsageError(`--${flag} needs a value`);
  const settings: SweepSettings = {
    experiment: exp.name,
    quick: v.quick ?? false,
    ...(v.epochs !== undefined && { epochs: intFlag("epochs", v.epochs, 1) }),
    ...(v.backend !== undefined && { backend: v.backend }),
    set: parseAssignments("set", v.set),
  };
  const axes = parseGrid(v.grid);
  checkGrid(exp, axes, settings);
  return { settings, axes, engine, out: v.out ?? `results/sweep-${exp.name}`, slurm: parseSlurmOptions(v.slurm), resubmitFailed: v["resubmit-failed"] ?? false };
}

/** A folder holds one sweep: a rerun must repeat the settings, or its points would mix two experiments. */
function claimFolder(dir: string, s: SweepSettings): void {
  const path = join(dir, "sweep-settings.json");
  let before: string | undefined;
  try {
    before = readFileSync(path, "utf8");
  } catch {
    // A new sweep.
  }
  // --set in any order is the same sweep.
  const now = JSON.stringify({ ...s, set: Object.fromEntries(Object.entries(s.set).sort()) }, null, 2);
  if (before !== undefined && before !== now) {
    throw new UsageError(`--out ${dir} holds a sweep with other settings (${JSON.stringify(JSON.parse(before))}); give the same --set, --quick, --epochs and --backend, or another --out`);
  }
  writeFileSync(path, now);
}

defineCommand("sweep", {
  summary: "run an experiment over a grid of settings and seeds (here or on Slurm), one merged report",
  usage: USAGE,
  async run(args) {
    const p = parseSweepArgs(args);
    const dir = prepareOutDir(p.out);
    claimFolder(dir, p.settings);
    const points = gridPoints(p.axes);
    const io = consoleOutput;
    let result;
    try {
      result = p.engine === "slurm" ? await runSlurm(dir, p.settings, points, { slurm: p.slurm, resubmitFailed: p.resubmitFailed }, io) : await runLocal(dir, p.settings, points, io);
    } catch (e) {
      if (!(e instanceof SetupError)) throw e;
      io.err(`augerino sweep: ${e.message}`);
      return 2;
    }
    if (result.interrupted) return 130;
    const { withResults } = await writeSweepReport(dir, p.settings, p.axes, points, result, `augerino sweep ${args.join(" ")}`);
    io.out(`sweep ${p.settings.experiment}: ${withResults} of ${points.length} points have results; merged report in ${dir}/ (sweep.json, report.md, figures/)`);
    return withResults === points.length ? 0 : 1;
  },
});
