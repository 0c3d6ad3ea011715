/**
 * A plain-JS float64 reference for the NumPy-style tests: arrays as { shape, data }
 * row-major, built by looping over multi-indices, plus fast-check arbitraries.
 */
import { expect } from "vitest";
import fc from "fast-check";
import { fromTyped, type NDArray } from "../../core/array.ts";
import type { DType } from "../../core/dtype.ts";
import type { Tracer } from "../../core/tracer.ts";
import { FLOAT, onWebgpu, testBackend } from "../backend-under-test.ts";

export interface Ref {
  shape: number[];
  data: number[];
}

export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function strides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

export function unravel(i: number, shape: readonly number[]): number[] {
  const st = strides(shape);
  return shape.map((_, d) => Math.floor(i / st[d]) % shape[d]);
}

export function ravel(idx: readonly number[], shape: readonly number[]): number {
  const st = strides(shape);
  return idx.reduce((acc, k, d) => acc + k * st[d], 0);
}

/** A reference array whose element at each multi-index is fn(index). */
export function build(shape: readonly number[], fn: (idx: number[]) => number): Ref {
  const n = size(shape);
  const data = new Array<number>(n);
  for (let i = 0; i < n; i++) data[i] = fn(unravel(i, shape));
  return { shape: [...shape], data };
}

export const at = (r: Ref, idx: readonly number[]) => r.data[ravel(idx, r.shape)];

/** Reads r at an index of a broadcast result shape (trailing alignment, size-1 axes repeat). */
export function bget(r: Ref, idx: readonly number[]): number {
  const off = idx.length - r.shape.length;
  return at(
    r,
    r.shape.map((n, d) => (n === 1 ? 0 : idx[d + off])),
  );
}

/** NumPy's broadcasting rule, written independently of core/shape.ts; null if incompatible. */
export function broadcastRule(...shapes: number[][]): number[] | null {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const dims = shapes.map((s) => s[s.length - rank + i] ?? 1);
    const big = dims.filter((d) => d !== 1);
    if (big.some((d) => d !== big[0])) return null;
    out.push(big.length ? big[0] : 1);
  }
  return out;
}

/** The values of `x` (on any backend) as a reference array. */
export const ref = async (x: Tracer): Promise<Ref> => ({ shape: x.shape, data: [...(await x.data())] });

/** An array of the backend under test holding `r` (the widest float dtype there by default: float32 on WebGPU). */
export function toArray(r: Ref, dtype: DType = FLOAT): NDArray {
  const C = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint32: Uint32Array, bool: Uint8Array }[dtype];
  return fromTyped(C.from(r.data), r.shape, dtype);
}

/**
 * Elementwise |a - e| <= tol * (1 + |e|), NaN matching NaN and infinities matching exactly;
 * reads `actual` on any backend. `tol` is the CPU's (float64) tolerance; on WebGPU, where
 * floats are float32, callers pass `f32Tol` (see F32 below) where rounding differs.
 */
export async function expectRef(actual: Tracer, expected: Ref, tol = 1e-12, what = "value", f32Tol?: number): Promise<void> {
  expect(actual.shape, `${what}: shape`).toEqual(expected.shape);
  if (onWebgpu && f32Tol !== undefined) tol = f32Tol;
  if ("backend" in actual) expect((actual as NDArray).backend, `${what}: computed on the backend under test`).toBe(testBackend);
  const a = await actual.data();
  for (let i = 0; i < expected.data.length; i++) {
    const x = a[i];
    const y = expected.data[i];
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    if (!(Math.abs(x - y) <= tol * (1 + Math.abs(y)))) expect.fail(`${what}: element ${i} (${unravel(i, expected.shape)}) is ${x}, expected ${y}`);
  }
}

/** A random shape of rank minRank..maxRank with dims 1..maxDim. */
export const shapeArb = (maxRank = 4, maxDim = 4, minRank = 0) => fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: minRank, maxLength: maxRank });

/**
 * Values for a shape, in [lo, hi]; integers when `ints`. On WebGPU the doubles are rounded
 * to float32, so the float64 reference is computed at the point the backend holds.
 */
export const valuesArb = (shape: number[], lo = -3, hi = 3, ints = false) =>
  fc
    .array(ints ? fc.integer({ min: lo, max: hi }) : fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true }), {
      minLength: size(shape),
      maxLength: size(shape),
    })
    .map((vs) => (onWebgpu && !ints ? vs.map(Math.fround) : vs));

/** A random float64 reference array. */
export const refArb = (maxRank = 4, maxDim = 4, minRank = 0, lo = -3, hi = 3) => shapeArb(maxRank, maxDim, minRank).chain((shape) => valuesArb(shape, lo, hi).map((data): Ref => ({ shape, data })));

/** Two shapes that broadcast: each operand drops some leading axes and sets some axes to 1. */
export const broadcastPairArb = fc
  .tuple(shapeArb(4, 4), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), fc.nat(4), fc.nat(4))
  .map(([out, ones, dropA, dropB]) => [out.slice(Math.min(dropA, out.length)).map((n, i) => (ones[i] ? 1 : n)), out.slice(Math.min(dropB, out.length)).map((n, i) => (ones[i + 4] ? 1 : n))]);

/** Every subset of 0..n-1. */
export function subsets(n: number): number[][] {
  const out: number[][] = [];
  for (let m = 0; m < 1 << n; m++) out.push([...Array(n).keys()].filter((i) => (m >> i) & 1));
  return out;
}

/** Reduces r over `axes` with `combine` from `init`; keepdims keeps size-1 axes. */
export function reduceRef(r: Ref, axes: number[], init: number, combine: (acc: number, v: number) => number, keepdims = false): Ref {
  const kept = r.shape.map((n, d) => (axes.includes(d) ? 1 : n));
  const acc = new Array<number>(size(kept)).fill(init);
  r.data.forEach((v, i) => {
    const idx = unravel(i, r.shape).map((k, d) => (axes.includes(d) ? 0 : k));
    const o = ravel(idx, kept);
    acc[o] = combine(acc[o], v);
  });
  return { shape: keepdims ? kept : r.shape.filter((_, d) => !axes.includes(d)), data: acc };
}

/** A JS number as the backend under test holds it in FLOAT (float32 on WebGPU). */
export const held = (v: number) => (onWebgpu ? Math.fround(v) : v);

/** Property runs: fewer on WebGPU, where every run dispatches (and reads back) kernels on lavapipe. */
export const config = { numRuns: Number(process.env.NP_RUNS ?? (onWebgpu ? 10 : 25)) };

/**
 * Float32 relative tolerances for WebGPU (epsilon 1.2e-7): EXACT_F32 for a single correctly
 * rounded op, F32 for transcendentals and short sums (WGSL allows a few ulp).
 */
export const EXACT_F32 = 2.5e-7;
export const F32 = 2e-6;
