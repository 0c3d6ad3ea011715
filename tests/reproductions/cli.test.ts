/**
 * The `augerino` command end to end: argument handling (options anywhere, `--flag=value`,
 * missing values), bad `--out` paths and `bench`; every failure is one line with exit 2.
 */
import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseReproduceArgs } from "../../reproductions/reproduce-command.ts";
import { lines, runCli } from "./cli-run.ts";
import { sharedDataDir, tempDir } from "./fixtures.ts";

const data = sharedDataDir();

/** Exit 2 and one stderr line matching `reason`. */
async function expectUsageError(args: string[], reason: RegExp, env: Record<string, string> = {}) {
  const r = await runCli(args, env);
  expect(r.code, `${args.join(" ")}: ${r.err}`).toBe(2);
  expect(lines(r.err), args.join(" ")).toEqual([expect.stringMatching(reason)]);
  expect(r.err).not.toMatch(/\n\s+at /);
}

describe("the augerino command", () => {
  it("lists the experiments, one line each", async () => {
    const r = await runCli(["list"]);
    expect(r.code).toBe(0);
    expect(lines(r.out).map((l) => l.split(/\s+/)[0])).toEqual(["mario-iggy", "rotmnist", "olivetti", "landscape", "qm9", "effdim", "color", "cifar10", "segmentation"]);
  });

  it("rejects bad arguments with exit code 2 and one line with the usage", async () => {
    const cases: [string[], RegExp][] = [
      [["reproduce", "mario-iggy", "--bogus"], /unknown option "--bogus"; usage: augerino reproduce/],
      [["reproduce", "nope"], /unknown experiment "nope"; known: mario-iggy/],
      [["reproduce", "mario-iggy", "--seed", "x"], /--seed needs a whole number, got "x"/],
      [["reproduce"], /name an experiment/],
      [["reproduce", "mario-iggy", "--epochs"], /--epochs needs a value; usage/],
      // A flag with no value used to take the next flag as its value.
      [["reproduce", "mario-iggy", "--epochs", "--quick"], /--epochs needs a value/],
      [["reproduce", "mario-iggy", "--quick=yes"], /--quick takes no value/],
      [["reproduce", "mario-iggy", "rotmnist"], /one experiment at a time/],
      [["frobnicate"], /unknown command "frobnicate"/],
      [["list", "extra"], /takes no arguments, got extra/],
    ];
    await Promise.all(cases.map(([args, reason]) => expectUsageError(args, reason)));
  }, 120_000);

  it("takes --flag=value and options before the experiment name", () => {
    expect(parseReproduceArgs(["--epochs=2", "--quick", "--seed", "5", "mario-iggy", "--out=x"])).toMatchObject({ epochs: 2, quick: true, seed: 5, out: "x" });
    expect(parseReproduceArgs(["mario-iggy", "--epochs", "3"])).toMatchObject({ epochs: 3, quick: false, seed: 0, out: "results/mario-iggy", resumeOtherCode: false });
    expect(parseReproduceArgs(["mario-iggy", "--resume-other-code"]).resumeOtherCode).toBe(true);
  });

  it.skipIf(!data)("passes such options through the real command, as far as starting the backend", async () => {
    const out = join(tempDir("cli-flags"), "out");
    await expectUsageError(["reproduce", "--quick", "--epochs=2", "--backend=nope", "mario-iggy", `--out=${out}`], /backend "nope" cannot start/, { AUGERINO_DATA_DIR: data! });
  });

  it("rejects an --out that cannot be a writable folder, in one line and before any work", async () => {
    const dir = tempDir("cli-out");
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    await Promise.all([
      expectUsageError(["reproduce", "mario-iggy", "--out", file], /--out .*a-file is a file, not a folder/),
      expectUsageError(["reproduce", "mario-iggy", `--out=${join(file, "sub")}`], /a-file is a file, not a folder/),
      // mkdirSync's recursive mode never returned on this one.
      expectUsageError(["reproduce", "--out", "/proc/augerino-test/out", "mario-iggy"], /cannot create \/proc\/augerino-test/),
      expectUsageError(["reproduce", "mario-iggy", "--out="], /--out needs a value/),
    ]);
  }, 120_000);

  it("bench checks its options, prints its usage, and runs a one-row benchmark", async () => {
    await Promise.all([
      expectUsageError(["bench", "--reps"], /--reps needs a value/),
      expectUsageError(["bench", "--reps=0"], /--reps needs a whole number of at least 1/),
      expectUsageError(["bench", "--bogus"], /unknown option "--bogus"; usage: augerino bench/),
    ]);
    const help = await runCli(["bench", "--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^usage: augerino bench/);
    // On the CPU in either test project: the row is what is checked, not a backend.
    const r = await runCli(["bench", "--only=matmul-256", "--reps", "1", "--budget-ms=1"], { AUGERINO_BACKEND: "cpu" }, 120_000);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/\| matmul 256 \| augerino \(cpu\) \|/);
  }, 150_000);
});
