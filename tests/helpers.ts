/** Small assertions shared by the test files. */
import { expect } from "vitest";
import { jit, tree, type Tracer } from "../index.ts";
import { setFusion } from "../core/compiler/index.ts";
import type { TypedArray } from "../core/dtype.ts";
import { fromTyped, type NDArray } from "../core/array.ts";
import { onCpu, testBackend } from "./backend-under-test.ts";
import { convOutShape, type ConvParams } from "../core/primitives/conv.ts";
import { convGeneralDilatedLoop } from "../core/backends/cpu/routines/conv.ts";
import { sizeOf } from "../core/shape.ts";

function largestGap(x: TypedArray, y: TypedArray): number {
  let m = 0;
  x.forEach((v: number, i: number) => (m = Math.max(m, Math.abs(v - y[i]))));
  return m;
}

/** The largest absolute elementwise difference of two arrays of the same shape (CPU arrays: reads synchronously). */
export function maxDiff(a: Tracer, b: Tracer): number {
  expect(a.shape).toEqual(b.shape);
  return largestGap(a.dataSync(), b.dataSync());
}

/** maxDiff for arrays on any backend (WebGPU reads asynchronously). */
export async function maxDiffAsync(a: Tracer, b: Tracer): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = await Promise.all([a.data(), b.data()]);
  return largestGap(x, y);
}

/** The elements of an array on any backend, as JS numbers. */
export async function valuesOf(x: Tracer): Promise<number[]> {
  return [...(await x.data())];
}

/** The single element of a size-1 array on any backend, as a number. */
export async function scalarOf(x: Tracer): Promise<number> {
  expect(x.size).toBe(1);
  return Number((await x.data())[0]);
}

/** Checks that results were computed on the backend under test (not quietly on the CPU). */
export function expectOnTestBackend(...xs: Tracer[]): void {
  for (const x of xs) expect((x as NDArray).backend, "computed on the backend under test").toBe(testBackend);
}

/** The collector, when node runs with --expose-gc (vitest.config.ts sets it). */
export const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Collects garbage and lets FinalizationRegistry callbacks (which run as tasks after a
 * collection) release buffers; long synchronous loops on WebGPU need it now and then.
 */
export async function settle(): Promise<void> {
  for (let k = 0; k < 3; k++) {
    gc?.();
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * Elementwise |got - want| <= slack[i] + tol * (1 + |want|): relative for large values,
 * absolute near zero. Equal values (NaN with NaN, equal infinities) always match.
 */
export function expectNumbersClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what = "", slack?: ArrayLike<number>): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    if (got[i] === want[i] || (Number.isNaN(got[i]) && Number.isNaN(want[i]))) continue;
    const bound = (slack?.[i] ?? 0) + tol * (1 + Math.abs(want[i]));
    if (!(Math.abs(got[i] - want[i]) <= bound)) expect.fail(`${what}: element ${i} is ${got[i]}, expected ${want[i]} (tol ${tol}${slack ? ` + slack ${slack[i]}` : ""})`);
  }
}

/** expectNumbersClose for two arrays of one shape on any backend; `dtype: true` also asks for equal dtypes. */
export async function expectClose(actual: Tracer, expected: Tracer, tol: number, what = "", opts: { dtype?: boolean } = {}): Promise<void> {
  expect(actual.shape, `${what}: shape`).toEqual(expected.shape);
  if (opts.dtype) expect(actual.dtype, `${what}: dtype`).toBe(expected.dtype);
  const [x, y] = await Promise.all([actual.data(), expected.data()]);
  expectNumbersClose(x, y, tol, what);
}

/** Float64 copies of a pytree's array leaves (read on any backend): the working format of references written in plain JS. */
export function leavesData(t: unknown): Promise<Float64Array[]> {
  return Promise.all(tree.leaves<Tracer>(t as never).map(async (l) => Float64Array.from(await l.data())));
}

/**
 * expectNumbersClose leaf by leaf: `got` a pytree of arrays, `want` a pytree of the same
 * structure or the list of its leaves' references (leavesData's format), `slack` per leaf.
 */
export async function expectTreeClose(got: unknown, want: unknown, tol: number, slack?: ArrayLike<number>[]): Promise<void> {
  const refs = globalThis.Array.isArray(want) && want.every((w) => w instanceof Float64Array) ? (want as Float64Array[]) : await leavesData(want);
  const leaves = await leavesData(got);
  expect(leaves.length, "number of leaves").toBe(refs.length);
  leaves.forEach((leaf, i) => expectNumbersClose(leaf, refs[i], tol, `leaf ${i}`, slack?.[i]));
}

/** Central differences of a scalar function along every entry of `x`, in float64 on the CPU: the reference for grad. */
export function fdGrad(f: (x: Tracer) => Tracer, x: Tracer, eps = 1e-6): NDArray {
  return onCpu(() => {
    const base = Float64Array.from(x.dataSync());
    const g = new Float64Array(base.length);
    for (let i = 0; i < base.length; i++) {
      const at = (d: number) => {
        const v = Float64Array.from(base);
        v[i] += d;
        return f(fromTyped(v, x.shape, "float64", "cpu")).item() as number;
      };
      g[i] = (at(eps) - at(-eps)) / (2 * eps);
    }
    return fromTyped(g, x.shape, "float64", "cpu");
  });
}

/** Conv params: stride 1, `pad` on both sides of both axes, no dilation, one group, unless `over` says otherwise. */
export function convParams(pad: number, over: Partial<ConvParams> = {}): ConvParams {
  return {
    strides: [1, 1],
    padding: [
      [pad, pad],
      [pad, pad],
    ],
    lhsDilation: [1, 1],
    rhsDilation: [1, 1],
    groups: 1,
    ...over,
  };
}

/** Values in [-2, 2) from a small LCG: property tests pick the seed, and the data need not shrink. */
export function lcgData<D extends FloatDType>(dtype: D, length: number, seed: number): FloatArrayOf<D> {
  let s = seed >>> 0 || 1;
  const out = floatArray(dtype, length);
  for (let i = 0; i < length; i++) out[i] = ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 4 - 2;
  return out;
}

type FloatDType = "float32" | "float64";
type FloatArrayOf<D extends FloatDType> = D extends "float32" ? Float32Array : Float64Array;

function floatArray<D extends FloatDType>(dtype: D, length: number): FloatArrayOf<D> {
  // TypeScript does not narrow D by the comparison; the branch makes the array D names.
  return (dtype === "float32" ? new Float32Array(length) : new Float64Array(length)) as FloatArrayOf<D>;
}

/**
 * A convolution of LCG operands (seeds `seeds`) and the JavaScript convolution's result in
 * float64 (`want`), for holding a CPU kernel against; `output()` is a fresh NaN-filled output
 * for the kernel. Null where the window is larger than the padded input.
 */
export function convProblem<D extends FloatDType>(lhsShape: number[], rhsShape: number[], p: ConvParams, dtype: D, seeds: [number, number]) {
  const la = { shape: lhsShape, dtype };
  const ra = { shape: rhsShape, dtype };
  let shape: number[];
  try {
    shape = convOutShape(la, ra, p);
  } catch {
    return null;
  }
  const oa = { shape, dtype };
  const size = sizeOf(shape);
  const x = lcgData(dtype, sizeOf(lhsShape), seeds[0]);
  const w = lcgData(dtype, sizeOf(rhsShape), seeds[1]);
  const want = new Float64Array(size);
  convGeneralDilatedLoop(x, w, want, p, la, ra, oa);
  const output = (): FloatArrayOf<D> => {
    const out = floatArray(dtype, size);
    out.fill(NaN);
    return out;
  };
  return { la, ra, oa, x, w, want, output };
}

/** Runs a fresh jit of f with fusion off, then on, and returns both outputs. */
export function bothWays<T>(f: (...xs: Tracer[]) => T, args: Tracer[]): [T, T] {
  const g = jit(f);
  setFusion(false);
  const plain = g(...args) as T;
  setFusion(true);
  const fused = g(...args) as T;
  setFusion(undefined);
  return [plain, fused];
}
