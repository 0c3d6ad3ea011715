/**
 * What the generated CUDA C computes, without a GPU: every program of programs.ts (every
 * primitive case, every elementwise op over every dtype on edge values, reductions with
 * both strategies, fused jit kernels, dot layouts, the kernel rules) is compiled for the
 * host (emulator.ts) and run through the same launch convention as the driver, and its
 * outputs must equal the CPU backend's: integers, booleans, random bits, conversions and
 * + - * / chains bit for bit (signed zeros included), float math within a few ulps.
 * Skipped with the reason when g++ or koffi is missing.
 */
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { isFloat } from "../../../core/dtype.ts";
import { sizeOf } from "../../../core/shape.ts";
import { loadKoffi } from "../../../core/backends/cuda/driver.ts";
import { allProgramCases } from "./programs.ts";
import { buildHostDevice, type HostDevice } from "./emulator.ts";
import { compareValues } from "./compare.ts";

let skipReason: string | null = spawnSync("g++", ["--version"]).status === 0 ? null : "g++ is not installed";
if (!skipReason) {
  try {
    await loadKoffi();
  } catch (e) {
    skipReason = (e as Error).message;
  }
}
if (skipReason) console.log(`[cuda] semantics tests skipped: ${skipReason}`);

// Launched programs only: the backend launches nothing for empty outputs.
const cases = skipReason ? [] : (await allProgramCases([1])).filter((c) => c.outAvals.every((a) => sizeOf(a.shape) > 0));

describe.skipIf(skipReason !== null)("generated CUDA C, run on the host emulator, equals the CPU backend", () => {
  let device: HostDevice;
  beforeAll(async () => {
    device = await buildHostDevice([...new Set(cases.flatMap((c) => c.program.passes.map((p) => p.code)))]);
  }, 300_000);

  it("covers hundreds of programs", () => {
    expect(cases.length).toBeGreaterThan(400);
  });

  for (const c of cases) {
    it(c.name, () => {
      const got = device.run(c.program, c.ins, c.outAvals);
      const want = c.expected();
      expect(got.length).toBe(want.length);
      for (let k = 0; k < want.length; k++) {
        const msg = compareValues(got[k], want[k], isFloat(c.outAvals[k].dtype), c.tol);
        if (msg) expect.fail(`output ${k}: ${msg}`);
      }
    });
  }
});
