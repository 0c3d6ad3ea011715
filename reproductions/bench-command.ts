/**
 * `augerino bench`: the benchmarks of bench/ (ours beside the peer libraries, see
 * bench/README.md). They run in a child process because the peers install process-wide
 * handlers and worker pools; the options are checked here first, so a mistake is one line
 * and exit 2 before any peer loads.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineCommand, intFlag, parseFlags, UsageError } from "./cli.ts";

const USAGE = "usage: augerino bench [--only SUBSTR] [--reps N] [--budget-ms MS] [--slow] [--backend cpu|webgpu] [--json FILE]";

const OPTIONS = {
  only: { type: "string" },
  reps: { type: "string" },
  "budget-ms": { type: "string" },
  slow: { type: "boolean" },
  backend: { type: "string" },
  json: { type: "string" },
} as const;

/** The arguments for bench/run.ts, which reads `--name value` pairs only. */
export function benchArgs(args: string[]): string[] {
  const { values, positionals } = parseFlags(args, OPTIONS);
  if (positionals.length > 0) throw new UsageError(`takes only options, got ${positionals.join(" ")}`);
  const forward: string[] = [];
  for (const [name, v] of Object.entries(values)) {
    if (name === "help" || v === false) continue;
    if (v === "") throw new UsageError(`--${name} needs a value`);
    if (name === "reps" || name === "budget-ms") intFlag(name, v as string, 1);
    forward.push(`--${name}`, ...(v === true ? [] : [v as string]));
  }
  return forward;
}

defineCommand("bench", {
  summary: "benchmark against jax-js, TensorFlow.js, gpu.js and plain JS (bench/README.md)",
  usage: USAGE,
  async run(args) {
    const forward = benchArgs(args);
    const script = fileURLToPath(new URL("../bench/run.ts", import.meta.url));
    if (!existsSync(script)) {
      console.error(`augerino bench: ${script} is not part of this installation; the benchmarks come with the source repository`);
      return 1;
    }
    const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), script, ...forward], { stdio: "inherit" });
    return new Promise((done) => {
      child.on("error", (e) => {
        console.error(`augerino bench: cannot start the benchmark: ${e.message}`);
        done(1);
      });
      child.on("exit", (code) => done(code ?? 1));
    });
  },
});
