/** `augerino reproduce <experiment>` and `augerino list`. */
import { initBackend, setDefaultBackend } from "../index.ts";
import { defineCommand, intFlag, parseFlags, UsageError } from "./cli.ts";
import { writeReport, type Experiment } from "./experiment.ts";
import { experiments } from "./experiments/index.ts";
import { fmtTime } from "./progress.ts";
import { ensureDataset } from "./datasets/index.ts";
import { beginRun, runResumes, runSeconds } from "./checkpoint.ts";
import { prepareOutDir } from "./out-dir.ts";
import { parseAssignments, parseOverrides, type Overrides } from "./config-overrides.ts";

const USAGE = "usage: augerino reproduce <experiment> [--backend cpu|webgpu|cuda] [--seed N] [--epochs N] [--out DIR] [--quick] [--quiet] [--set key=value ...] [--resume-other-code]";

const OPTIONS = {
  backend: { type: "string" },
  seed: { type: "string" },
  epochs: { type: "string" },
  out: { type: "string" },
  quick: { type: "boolean" },
  quiet: { type: "boolean" },
  "resume-other-code": { type: "boolean" },
  set: { type: "string", multiple: true },
} as const;

export interface Parsed {
  exp: Experiment;
  seed: number;
  epochs?: number;
  /** As given: the folder is checked and made when the run starts. */
  out: string;
  quick: boolean;
  quiet: boolean;
  /** Continue from checkpoints that other code of this package version made (recorded in report.md). */
  resumeOtherCode: boolean;
  backend: string;
  /** `--set key=value`, as given; already checked against the experiment's configuration. */
  set: Overrides;
}

/** The arguments of `reproduce`, in any order; UsageError when they are bad. */
export function parseReproduceArgs(args: string[]): Parsed {
  const { values: v, positionals } = parseFlags(args, OPTIONS);
  const known = Object.keys(experiments).join(", ");
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? `name an experiment (${known})` : `one experiment at a time, got ${positionals.join(" ")}`);
  const name = positionals[0];
  const exp = experiments[name];
  if (!exp) throw new UsageError(`unknown experiment "${name}"; known: ${known}`);
  for (const flag of ["out", "backend"] as const) if (v[flag] === "") throw new UsageError(`--${flag} needs a value`);
  const epochs = v.epochs === undefined ? undefined : intFlag("epochs", v.epochs, 1);
  const set = parseAssignments("set", v.set);
  // Checked now, so a typo costs one line rather than a run that fails after loading data.
  parseOverrides(exp.config(v.quick ?? false, epochs), set);
  return {
    exp,
    seed: v.seed === undefined ? 0 : intFlag("seed", v.seed),
    epochs,
    set,
    out: v.out ?? `results/${name}`,
    quick: v.quick ?? false,
    quiet: v.quiet ?? false,
    resumeOtherCode: v["resume-other-code"] ?? false,
    backend: v.backend ?? process.env.AUGERINO_BACKEND ?? "cpu",
  };
}

async function startBackend(name: string): Promise<void> {
  try {
    await initBackend(name);
    setDefaultBackend(name);
  } catch (e) {
    throw new UsageError(`backend "${name}" cannot start: ${(e as Error).message}`);
  }
}

defineCommand("reproduce", {
  summary: "run one of the paper's experiments (see `augerino list`)",
  usage: USAGE,
  async run(args) {
    const p = parseReproduceArgs(args);
    beginRun({ otherCode: p.resumeOtherCode });
    const out = prepareOutDir(p.out);
    // Missing data is known (and fetched) at once, before a device spends seconds starting.
    for (const spec of p.exp.datasets) await ensureDataset(spec, { log: (l) => console.log(l) });
    await startBackend(p.backend);
    const res = await p.exp.run({ seed: p.seed, epochs: p.epochs, quick: p.quick, out, backend: p.backend, quiet: p.quiet, set: p.set });
    const run = { resumed: runResumes(), seconds: runSeconds() };
    writeReport(p.exp.name, `${p.exp.name}: ${p.exp.summary}`, res, out, run, p.set);
    const resumed = run.resumed.length > 0 ? ", earlier sessions included (resumed from checkpoints)" : "";
    console.log(`${p.exp.name}: done in ${fmtTime(run.seconds)}${resumed}; results in ${out}/ (results.json, report.md, figures)`);
    for (const t of res.targets) console.log(`  ${t.met ? "met    " : "MISSED "} ${t.name}: ${t.value.toFixed(4)} (${t.target})`);
    return 0;
  },
});

defineCommand("list", {
  summary: "list the experiments",
  usage: "usage: augerino list",
  async run(args) {
    const { positionals } = parseFlags(args, {});
    if (positionals.length > 0) throw new UsageError(`takes no arguments, got ${positionals.join(" ")}`);
    for (const e of Object.values(experiments)) console.log(`${e.name.padEnd(12)} ${e.summary}`);
    return 0;
  },
});
