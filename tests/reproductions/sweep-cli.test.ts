/** `reproduce --set` and `sweep` argument errors through the real command: one line, exit 2, before any work. */
import { describe, expect, it } from "vitest";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { lines, runCli } from "./cli-run.ts";
import { tempDir } from "./fixtures.ts";
import { testBackend } from "../backend-under-test.ts";

async function expectOneLine(args: string[], code: number, reason: RegExp, env: Record<string, string> = {}) {
  const r = await runCli(args, env);
  expect(r.code, `${args.join(" ")}: ${r.err}`).toBe(code);
  expect(lines(r.err), args.join(" ")).toEqual([expect.stringMatching(reason)]);
}

// Argument handling does not depend on the backend: once, in the cpu project.
describe.runIf(testBackend === "cpu")("--set and sweep arguments", () => {
  it("refuse bad keys, values and grids in one line with exit 2", async () => {
    const out = tempDir("sweep-args");
    await Promise.all([
      expectOneLine(["reproduce", "rotmnist", "--set", "lamda=0.1", "--out", out], 2, /^augerino reproduce: --set: unknown key "lamda" \(valid keys: lambdas, nTrain, .*\); usage: augerino reproduce/),
      expectOneLine(["reproduce", "olivetti", "--set=k=big"], 2, /--set k needs a number, got "big"/),
      expectOneLine(["sweep", "rotmnist", "--grid", "lambda=0.01,0.1", "--out", out], 2, /unknown key "lambda" \(valid keys: lambdas,/),
      expectOneLine(["sweep", "rotmnist", "--out", out], 2, /give at least one --grid/),
      expectOneLine(["sweep", "rotmnist", "--grid", "seed=0..1", "--engine", "pbs", "--out", out], 2, /--engine needs local or slurm/),
      expectOneLine(["sweep", "rotmnist", "--grid", "seed=0..1", "--resubmit-failed", "--out", out], 2, /--resubmit-failed needs --engine slurm/),
    ]);
  }, 60_000);

  it("say in one line, exit 2, that the slurm engine needs sbatch", async () => {
    // A PATH that holds node alone: the child finds no sbatch whether or not this machine has Slurm.
    const bin = tempDir("no-slurm-path");
    symlinkSync(process.execPath, join(bin, "node"));
    const out = tempDir("sweep-no-sbatch");
    await expectOneLine(["sweep", "rotmnist", "--grid", "seed=0..1", "--engine", "slurm", "--out", out], 2, /^augerino sweep: sbatch is not on PATH: .*--engine local$/, { PATH: bin });
  }, 60_000);
});
