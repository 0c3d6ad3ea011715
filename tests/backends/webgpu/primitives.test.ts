/**
 * Every primitive case of tests/cases runs on WebGPU and on the CPU from the same inputs
 * (float64 inputs as float32, since WGSL has no f64): eagerly, under jit, through grad
 * (the VJP of the sum of the float outputs) and under vmap. Integers, booleans and random
 * bits must match exactly; floats within a relative tolerance of GPU_TOL (2e-4 by default:
 * WGSL's transcendental functions and float32 accumulation against the CPU's float64
 * accumulation), or the case's own `gpuTol`.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { grad, jit, np, vmap } from "../../../index.ts";
import { NDArray } from "../../../core/array.ts";
import { hasWebGpuRoutine } from "../../../core/backends/webgpu/index.ts";
import { isFloat } from "../../../core/dtype.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { Rng, type PrimCase } from "../../cases/types.ts";
import { applyPrim, makeCase, stackAt } from "../../transforms/harness.ts";
import { compareValues, gpuSkipReason, onGpu, saturatingMismatches } from "./gpu.ts";
import { getPrimitive } from "../../../core/primitive.ts";
import { runsAsKernel } from "../../../core/compiler/eager.ts";

/** Whether a primitive runs on the device: as a kernel of the IR, or as a routine with a program here. */
const onDevice = (name: string) => runsAsKernel(getPrimitive(name)) || hasWebGpuRoutine(name);

const RUNS = Number(process.env.GPU_PROPERTY_RUNS ?? 6);
const TOL = Number(process.env.GPU_TOL ?? 2e-4);
const only = process.env.GPU_PRIMS?.split(",");

type NamedCase = PrimCase & { file: string; index: number };
const casesDir = new URL("../../cases/", import.meta.url);
const cases: NamedCase[] = [];
for (const file of readdirSync(casesDir)
  .filter((f) => f.endsWith(".ts") && f !== "types.ts")
  .sort()) {
  const mod = (await import(new URL(file, casesDir).href)) as { cases: PrimCase[] };
  mod.cases.forEach((c, index) => {
    if (!only || only.includes(c.prim)) cases.push({ ...c, file, index });
  });
}

const seeds = fc.integer({ min: 1, max: 0x7fffffff });

/** The case's inputs with float64 made float32. */
function draw(c: PrimCase, seed: number, valueSeed?: number) {
  const { args, params } = makeCase(c, seed, valueSeed);
  return { args: args.map((a) => (a.dtype === "float64" ? (np.astype(a, "float32") as NDArray) : a)), params };
}

async function expectSame(got: Tracer[], want: Tracer[], tol: number, what: string): Promise<void> {
  expect(got.length, `${what}: number of outputs`).toBe(want.length);
  for (let k = 0; k < want.length; k++) {
    expect(got[k].shape, `${what}: output ${k} shape`).toEqual(want[k].shape);
    expect(got[k].dtype, `${what}: output ${k} dtype`).toBe(want[k].dtype);
    const msg = compareValues(await (got[k] as NDArray).data(), (want[k] as NDArray).dataSync(), isFloat(want[k].dtype), tol);
    if (msg) expect.fail(`${what}: output ${k}: ${msg}`);
  }
}

/** Runs `check` for RUNS seeds; draws whose CPU evaluation is invalid in float32 are skipped. */
async function forSeeds(check: (seed: number) => Promise<void>): Promise<void> {
  const samples = fc.sample(seeds, RUNS);
  for (const s of samples) await check(s);
}

const floatOuts = (outs: Tracer[]) => outs.filter((o) => isFloat(o.dtype));
const sumFloat = (outs: Tracer[]) =>
  floatOuts(outs)
    .map((o) => np.sum(o))
    .reduce((a, b) => a.add(b));

describe.skipIf(gpuSkipReason !== null)("webgpu primitives match the CPU", () => {
  const missing = [...new Set(cases.map((c) => c.prim).filter((p) => !onDevice(p)))];
  if (missing.length > 0) {
    console.log(`[webgpu] skipped: no WebGPU kernel yet for ${missing.join(", ")}`);
    it.skip(`no WebGPU kernel yet: ${missing.join(", ")}`, () => {});
  }
  for (const c of cases.filter((k) => onDevice(k.prim))) {
    const name = `${c.prim} (${c.file} #${c.index})`;
    const tol = (c as { gpuTol?: number }).gpuTol ?? TOL;
    const f =
      (params: object) =>
      (...xs: Tracer[]) =>
        applyPrim(c.prim, xs, params);

    it(`${name}: eager and jit`, async () => {
      await forSeeds(async (seed) => {
        const { args, params } = draw(c, seed);
        const want = f(params)(...args);
        if (want.some((o) => o.dtype === "float64")) return;
        const gargs = args.map(onGpu);
        await expectSame(f(params)(...gargs), want, tol, `${name} eager, seed ${seed}`);
        if (!c.skip?.jit) await expectSame(jit(f(params))(...gargs) as Tracer[], want, tol, `${name} jit, seed ${seed}`);
      });
    });

    it(`${name}: grad`, async () => {
      await forSeeds(async (seed) => {
        const { args, params } = draw(c, seed);
        const which = (c.diffArgs ?? args.map((_, i) => i)).filter((i) => isFloat(args[i].dtype));
        if (c.skip?.grad || which.length === 0) return;
        const outs = f(params)(...args);
        if (floatOuts(outs).length === 0 || outs.some((o) => o.dtype === "float64")) return;
        const loss = (...xs: Tracer[]) => sumFloat(f(params)(...xs));
        const want = grad(loss, { argnums: which })(...args) as Tracer[];
        const got = grad(loss, { argnums: which })(...args.map(onGpu)) as Tracer[];
        await expectSame(got, want, tol * 10, `${name} grad, seed ${seed}`);
      });
    });

    it(`${name}: vmap`, async () => {
      await forSeeds(async (seed) => {
        if (c.skip?.vmap) return;
        const draws = [draw(c, seed, seed + 1), draw(c, seed, seed + 2)];
        const { params } = draws[0];
        const stacked = draws[0].args.map((_, i) =>
          stackAt(
            draws.map((d) => d.args[i]),
            0,
          ),
        );
        const want = vmap(f(params))(...stacked) as Tracer[];
        if (want.some((o) => o.dtype === "float64")) return;
        await expectSame(vmap(f(params))(...stacked.map(onGpu)) as Tracer[], want, tol, `${name} vmap, seed ${seed}`);
      });
    });
  }
});

describe.skipIf(gpuSkipReason !== null)("webgpu saturating functions", () => {
  it("tanh and the logistic match the CPU relative to their values, from 1e-30 to 3e38, at +-Infinity and NaN", async () => {
    for (const seed of fc.sample(seeds, 3)) expect(await saturatingMismatches(new Rng(seed)), `seed ${seed}`).toEqual([]);
  });
});
