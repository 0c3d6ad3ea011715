/**
 * Shared setup of the WebGPU tests: starts the backend once, or records why it cannot
 * start. With AUGERINO_REQUIRE_WEBGPU=1 (set by CI, which installs lavapipe) a missing
 * adapter fails the suite instead of skipping it.
 */
import { expect } from "vitest";
import "../../../index.ts";
import { getBackend, np } from "../../../index.ts";
import { NDArray } from "../../../core/array.ts";
import { isFloat, type TypedArray } from "../../../core/dtype.ts";
import type { Params } from "../../../core/primitive.ts";
import type { Tracer } from "../../../core/tracer.ts";
import { startWebgpu } from "../../backend-under-test.ts";
import { applyPrim } from "../../transforms/harness.ts";
import type { Rng } from "../../cases/types.ts";

export const gpuSkipReason: string | null = await startWebgpu();

/** A copy of a CPU array on the WebGPU backend. */
export function onGpu(x: Tracer): NDArray {
  const b = getBackend("webgpu");
  return new NDArray(x.aval, b, b.upload((x as NDArray).dataSync(), x.dtype));
}

/** Reads any array (CPU or GPU) into a typed array. */
export async function readAny(x: Tracer): Promise<TypedArray> {
  return (x as NDArray).data();
}

/**
 * Checks a GPU result against the CPU's: integers and booleans exactly, floats within
 * `tol` relative to the larger of 1 and the reference. Returns a message on mismatch.
 */
export function compareValues(got: TypedArray, want: TypedArray, float: boolean, tol: number): string | null {
  if (got.length !== want.length) return `length ${got.length}, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const a = got[i],
      b = want[i];
    if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
    if (!float) return `element ${i} is ${a}, expected ${b}`;
    if (a === b) continue;
    if (!(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)))) return `element ${i} is ${a}, expected ${b} (tol ${tol})`;
  }
  return null;
}

/**
 * Runs `prim` on the CPU and on WebGPU from the same inputs and expects the same first
 * output: integers and booleans exactly, floats within `tol` (compareValues).
 */
export async function expectSameAsCpu(prim: string, args: NDArray[], params: Params = {}, tol = 0): Promise<void> {
  const [want] = applyPrim(prim, args, params) as NDArray[];
  const [got] = applyPrim(prim, args.map(onGpu), params) as NDArray[];
  expect(got.shape).toEqual(want.shape);
  const msg = compareValues(await got.data(), want.dataSync(), isFloat(want.dtype), tol);
  expect(msg, `${prim} ${args.map((a) => `${a.dtype}[${a.shape}]`).join(" ")} ${JSON.stringify(params)}`).toBeNull();
}

/**
 * `n` float32 values for saturating functions' extremes: 0, -0, +-Infinity, NaN and
 * +-90, +-1e4, then either sign with magnitudes spread from 1e-30 to 3e38 on a log scale.
 */
export function wideFloats(rng: Rng, n: number): Float32Array {
  const fixed = [0, -0, Infinity, -Infinity, NaN, 90, -90, 1e4, -1e4];
  return Float32Array.from({ length: n }, (_, i) => fixed[i] ?? (rng.next() < 0.5 ? -1 : 1) * 10 ** rng.uniform(-30, 38.5));
}

/**
 * Checks a float GPU result against the CPU's relative to the reference itself (so tiny
 * values count): within `tol * |want|`, or within the smallest normal float32 where the
 * reference is below it (a GPU may flush subnormals to zero). NaN must match NaN.
 */
export function compareRelative(got: Float32Array, want: Float32Array, tol: number, inputs?: Float32Array): string | null {
  for (let i = 0; i < want.length; i++) {
    const [a, b] = [got[i], want[i]];
    if (Object.is(a, b) || a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
    if (!(Math.abs(a - b) <= tol * Math.abs(b) + 2 ** -126)) return `element ${i}${inputs ? ` (x = ${inputs[i]})` : ""} is ${a}, expected ${b} (relative tol ${tol})`;
  }
  return null;
}

/**
 * tanh and the logistic on WebGPU against the CPU over `wideFloats`, relative to the CPU's
 * values (WGSL's builtin tanh is NaN from |x| = 88 on SwiftShader; a quotient of
 * exponentials loses tiny arguments' digits): a message per mismatching function.
 */
export async function saturatingMismatches(rng: Rng, n = 4096, tol = 2e-5): Promise<string[]> {
  const x = wideFloats(rng, n);
  const fns = { tanh: np.tanh, logistic: np.sigmoid };
  const out: string[] = [];
  for (const [name, f] of Object.entries(fns)) {
    const [got, want] = await Promise.all(["webgpu", "cpu"].map(async (backend) => (await (f(np.array(x, { backend })) as NDArray).data()) as Float32Array));
    const msg = compareRelative(got, want, tol, x);
    if (msg) out.push(`${name}: ${msg}`);
  }
  return out;
}
