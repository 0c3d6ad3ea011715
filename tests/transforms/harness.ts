/**
 * Helpers for the registry-driven property suite: applying a primitive by name, finite
 * differences, comparisons, and the value streams that let vmap tests draw several input
 * sets with one shape. Cases are drawn on the CPU; comparisons read results on any backend
 * (asynchronously, as WebGPU must), while finite-difference references (centralDiff, axpy)
 * run on the CPU, synchronously.
 */
import { expect } from "vitest";
import { fromTyped, type NDArray } from "../../core/array.ts";
import { isFloat, type DType, type TypedArray } from "../../core/dtype.ts";
import { getPrimitive, type Params } from "../../core/primitive.ts";
import { stridesOf } from "../../core/shape.ts";
import { bind } from "../../core/trace.ts";
import type { Tracer } from "../../core/tracer.ts";
import { Rng, type PrimCase } from "../cases/types.ts";
import { FLOAT, onCpu, onWebgpu } from "../backend-under-test.ts";
import { expectClose } from "../helpers.ts";

/** Applies a registered primitive to arrays (or tracers), as a transformation sees it. */
export function applyPrim(name: string, args: Tracer[], params: Params): Tracer[] {
  return bind(getPrimitive(name), args, params);
}

/**
 * An Rng whose structural draws (shapes, params, `int`, `pick`, `uniform`) follow `seed`
 * while `array` values follow `valueSeed`; the same case with different value seeds gives
 * input sets of identical shapes and params, which vmap tests stack.
 */
export class SplitRng extends Rng {
  private readonly values: Rng;
  constructor(seed: number, valueSeed: number) {
    super(seed);
    this.values = new Rng(valueSeed);
  }
  override array(shape: number[], dtype: DType = "float64", lo = -1, hi = 1): NDArray {
    return this.values.array(shape, dtype, lo, hi);
  }
}

/** A case's inputs as drawn: CPU arrays (float64 for float operands), whatever the default backend. */
export function makeCase(c: PrimCase, seed: number, valueSeed = seed ^ 0x5bd1e995): { args: NDArray[]; params: Params } {
  return onCpu(() => c.make(new SplitRng(seed, valueSeed)));
}

/** Params for the backend under test: a float64 dtype param (convert_element_type's newDtype) becomes float32 on WebGPU. */
export function deviceParams(params: Params, c?: PrimCase): Params {
  if (!onWebgpu) return params;
  if (c?.deviceParams) return c.deviceParams(params, FLOAT);
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v === "float64" ? FLOAT : v]));
}

/** Float inputs to differentiate: case.diffArgs or every float input. */
export function diffArgsOf(c: PrimCase, args: Tracer[]): number[] {
  return c.diffArgs ?? args.flatMap((a, i) => (isFloat(a.dtype) ? [i] : []));
}

/** The elements of an array on any backend (WebGPU reads asynchronously). */
export const read = (x: Tracer): Promise<TypedArray> => x.data();

/** The elements of a CPU array (the references), synchronously. */
export const readCpu = (x: Tracer): TypedArray => x.dataSync();

/** Exact equality for integer and bool outputs, `tol` for floats. */
export async function expectMatch(actual: Tracer, expected: Tracer, tol: number, what: string): Promise<void> {
  if (isFloat(expected.dtype)) return expectClose(actual, expected, tol, what, { dtype: true });
  expect(actual.shape, `${what}: shape`).toEqual(expected.shape);
  expect(actual.dtype, `${what}: dtype`).toBe(expected.dtype);
  expect([...(await read(actual))], what).toEqual([...(await read(expected))]);
}

/** sum(a * b) in JS doubles, of arrays on any backend. */
export async function dotProduct(a: Tracer, b: Tracer): Promise<number> {
  const [x, y] = await Promise.all([read(a), read(b)]);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

/** x + s * d elementwise, in x's dtype (CPU arrays). */
export function axpy(x: Tracer, s: number, d: Tracer): NDArray {
  const a = readCpu(x);
  const b = readCpu(d);
  const out = a.slice();
  for (let i = 0; i < a.length; i++) out[i] = a[i] + s * b[i];
  return fromTyped(out, x.shape, x.dtype, "cpu");
}

const TYPED = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint32: Uint32Array, bool: Uint8Array };

/** Zeros of x's shape and dtype, on x's backend. */
export function zerosOf(x: Tracer): NDArray {
  return fromTyped(new TYPED[x.dtype](x.size), x.shape, x.dtype, (x as NDArray).backend);
}

/** Step and tolerance floor for central differences in an input's precision. */
export function fdEps(dtype: DType): number {
  return dtype === "float64" ? 1e-6 : 1e-3;
}

/**
 * Central differences of every float output of `f` along the direction `dirs[i]` for
 * each input `i` in `which` (all moved together), on the CPU (the reference).
 */
export function centralDiff(f: (args: Tracer[]) => Tracer[], args: Tracer[], which: number[], dirs: Tracer[], eps: number): (Tracer | null)[] {
  return onCpu(() => {
    const shifted = (s: number) => args.map((a, i) => (which.includes(i) ? axpy(a, s * eps, dirs[which.indexOf(i)]) : a));
    const plus = f(shifted(1));
    const minus = f(shifted(-1));
    return plus.map((p, k) => {
      if (!isFloat(p.dtype)) return null;
      const a = readCpu(p);
      const b = readCpu(minus[k]);
      const out = new Float64Array(a.length);
      // Equal values (infinities included, e.g. a window of padding) have a zero difference.
      for (let i = 0; i < a.length; i++) out[i] = a[i] === b[i] ? 0 : (a[i] - b[i]) / (2 * eps);
      return fromTyped(out, p.shape, "float64", "cpu");
    });
  });
}

/** Stacks same-shaped element lists along a new axis `axis`, in plain JS (independent of the library). */
function stackData(datas: TypedArray[], shape: readonly number[], axis: number): { data: TypedArray; shape: number[] } {
  const outShape = [...shape.slice(0, axis), datas.length, ...shape.slice(axis)];
  const out = datas[0].slice(0, 0).constructor as new (n: number) => TypedArray;
  const res = new out(datas[0].length * datas.length);
  const ost = stridesOf(outShape);
  const ist = stridesOf(shape);
  const n = datas[0].length;
  for (let b = 0; b < datas.length; b++) {
    for (let i = 0; i < n; i++) {
      let o = b * ost[axis];
      let rem = i;
      for (let d = 0; d < shape.length; d++) {
        const k = Math.floor(rem / ist[d]);
        rem -= k * ist[d];
        o += k * ost[d < axis ? d : d + 1];
      }
      res[o] = datas[b][i];
    }
  }
  return { data: res, shape: outShape };
}

/** Stacks same-shaped CPU arrays along a new axis `axis` (a CPU array). */
export function stackAt(xs: Tracer[], axis: number): NDArray {
  const { data, shape } = stackData(xs.map(readCpu), xs[0].shape, axis);
  return fromTyped(data, shape, xs[0].dtype, "cpu");
}

/** stackAt for arrays on any backend; the result lives on the first one's backend. */
export async function stackAtAsync(xs: Tracer[], axis: number): Promise<NDArray> {
  const { data, shape } = stackData(await Promise.all(xs.map(read)), xs[0].shape, axis);
  return fromTyped(data, shape, xs[0].dtype, (xs[0] as NDArray).backend);
}

/** Reports each skipped check once, so skips are visible in the test output. */
const reported = new Set<string>();
export function reportSkip(prim: string, check: string, reason: string): void {
  const key = `${prim}|${check}|${reason}`;
  if (reported.has(key)) return;
  reported.add(key);
  console.log(`[properties] skipped ${check} for ${prim}: ${reason}`);
}
