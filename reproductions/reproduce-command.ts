/** `augerino reproduce <experiment>` and `augerino list`. */
import { resolve } from "node:path";
import { initBackend, setDefaultBackend } from "../index.ts";
import { defineCommand } from "./cli.ts";
import { writeReport, type Experiment } from "./experiment.ts";
import { experiments } from "./experiments/index.ts";
import { fmtTime } from "./progress.ts";
import { DataError, requirePresent } from "./datasets/index.ts";

const USAGE = "usage: augerino reproduce <experiment> [--backend cpu|webgpu|cuda] [--seed N] [--epochs N] [--out DIR] [--quick] [--quiet]";

export class UsageError extends Error {}

interface Parsed {
  exp: Experiment;
  seed: number;
  epochs?: number;
  out: string;
  quick: boolean;
  quiet: boolean;
  backend: string;
}

export function parseReproduceArgs(args: string[]): Parsed {
  const [name, ...rest] = args;
  if (!name || name.startsWith("-")) throw new UsageError(`reproduce: name an experiment (${Object.keys(experiments).join(", ")})`);
  const exp = experiments[name];
  if (!exp) throw new UsageError(`reproduce: unknown experiment "${name}"; known: ${Object.keys(experiments).join(", ")}`);
  const p: Parsed = { exp, seed: 0, out: `results/${name}`, quick: false, quiet: false, backend: process.env.AUGERINO_BACKEND ?? "cpu" };
  const int = (flag: string, v: string | undefined) => {
    if (v === undefined || !/^\d+$/.test(v)) throw new UsageError(`reproduce: ${flag} needs a non-negative integer, got ${v === undefined ? "nothing" : JSON.stringify(v)}`);
    return Number(v);
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    switch (a) {
      case "--seed": p.seed = int(a, rest[++i]); break;
      case "--epochs": p.epochs = int(a, rest[++i]); if (p.epochs === 0) throw new UsageError("reproduce: --epochs must be at least 1"); break;
      case "--out": if (!rest[i + 1]) throw new UsageError("reproduce: --out needs a directory"); p.out = rest[++i]; break;
      case "--backend": if (!rest[i + 1]) throw new UsageError("reproduce: --backend needs a name"); p.backend = rest[++i]; break;
      case "--quick": p.quick = true; break;
      case "--quiet": p.quiet = true; break;
      default: throw new UsageError(`reproduce: unknown flag ${JSON.stringify(a)}`);
    }
  }
  p.out = resolve(p.out);
  return p;
}

/** A missing or corrupt data file: its one-line message and exit code 3; anything else propagates. */
function dataExit(e: unknown): number {
  if (!(e instanceof DataError)) throw e;
  console.error(e.message);
  return 3;
}

defineCommand("reproduce", {
  summary: "run one of the paper's experiments (see `augerino list`)",
  async run(args) {
    let p: Parsed;
    try {
      p = parseReproduceArgs(args);
    } catch (e) {
      if (e instanceof UsageError) {
        console.error(`${e.message}\n${USAGE}`);
        return 2;
      }
      throw e;
    }
    try {
      // Missing data is known at once, before a device spends seconds starting.
      for (const spec of p.exp.datasets) requirePresent(spec);
    } catch (e) {
      return dataExit(e);
    }
    try {
      await initBackend(p.backend);
      setDefaultBackend(p.backend);
    } catch (e) {
      console.error(`reproduce: backend "${p.backend}" cannot start: ${(e as Error).message}`);
      return 2;
    }
    let res;
    try {
      res = await p.exp.run({ seed: p.seed, epochs: p.epochs, quick: p.quick, out: p.out, backend: p.backend, quiet: p.quiet });
    } catch (e) {
      return dataExit(e);
    }
    writeReport(p.exp.name, `${p.exp.name}: ${p.exp.summary}`, res, p.out);
    console.log(`${p.exp.name}: done in ${fmtTime(res.seconds)}; results in ${p.out}/ (results.json, report.md, figures)`);
    for (const t of res.targets) console.log(`  ${t.met ? "met    " : "MISSED "} ${t.name}: ${t.value.toFixed(4)} (${t.target})`);
    return 0;
  },
});

defineCommand("list", {
  summary: "list the experiments",
  async run(args) {
    if (args.length > 0) {
      console.error(`list: takes no arguments, got ${args.join(" ")}\nusage: augerino list`);
      return 2;
    }
    for (const e of Object.values(experiments)) console.log(`${e.name.padEnd(12)} ${e.summary}`);
    return 0;
  },
});
