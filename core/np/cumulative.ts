/**
 * Cumulative reductions (cumsum, cumprod, cummax, cummin) and differences (diff) along an
 * axis. The scans are log-step (Hillis-Steele): ceil(log2 n) combines of the array with a
 * copy of itself shifted by 1, 2, 4, ... and padded with the operation's identity, so
 * they are ordinary slices, pads and elementwise ops that grad, vmap, jit and every backend
 * handle, with O(log n) depth instead of a loop of n steps.
 */
import { scalar } from "../array.ts";
import { asArray, type ArrayLike } from "../convert.ts";
import type { DType } from "../dtype.ts";
import { AXIS, AXIS_OR_NONE, optionsOf, type Positional } from "../options.ts";
import { normalizeAxis } from "../shape.ts";
import type { Tracer } from "../tracer.ts";
import * as sh from "../primitives/shape.ts";
import { add, astype, maximum, minimum, mul, notEqual, sub } from "./math.ts";

type ScanAxis = number | null | { axis?: number | null };

/** The identity of each scan for a dtype (what shifted-in positions hold). */
const IDENTITY: Record<string, (d: DType) => number> = {
  cumsum: () => 0,
  cumprod: () => 1,
  cummax: (d) => (d === "int32" ? -(2 ** 31) : d === "uint32" ? 0 : -Infinity),
  cummin: (d) => (d === "int32" ? 2 ** 31 - 1 : d === "uint32" ? 2 ** 32 - 1 : Infinity),
};

/** x shifted by k along `axis` (the first k positions hold `fill`). */
function shifted(x: Tracer, axis: number, k: number, fill: number): Tracer {
  const limit = x.shape.map((n, d) => (d === axis ? n - k : n));
  const widths = x.shape.map((_, d): [number, number, number] => [d === axis ? k : 0, 0, 0]);
  return sh.pad(sh.slice(x, x.shape.map(() => 0), limit), scalar(fill, x.dtype), widths);
}

function scan(op: keyof typeof IDENTITY, combine: (a: Tracer, b: Tracer) => Tracer) {
  return (x: ArrayLike, axisOrOpts?: ScanAxis): Tracer => {
    const opts = optionsOf<{ axis?: number | null }>(op, axisOrOpts, ["axis"], AXIS_OR_NONE);
    let a = asArray(x);
    // NumPy: no axis scans the flattened array.
    if (opts.axis === undefined || opts.axis === null) a = sh.reshape(a, [a.size]);
    const axis = normalizeAxis(op, opts.axis ?? 0, a.ndim);
    // As NumPy: sums and products of bools count in int32; max and min of bools stay bool.
    const dtype = a.dtype;
    if (dtype === "bool") a = astype(a, "int32");
    const fill = IDENTITY[op](a.dtype);
    for (let k = 1; k < a.shape[axis]; k *= 2) a = combine(a, shifted(a, axis, k, fill));
    return dtype === "bool" && (op === "cummax" || op === "cummin") ? astype(a, "bool") : a;
  };
}

/**
 * Running sums along `axis` (the flattened array when omitted or null).
 * @example np.cumsum(np.array([[1, 2], [3, 4]]), 1) // [[1, 3], [3, 7]]
 */
export const cumsum = scan("cumsum", add);
/** @example np.cumprod(np.array([1, 2, 3])) // [1, 2, 6] */
export const cumprod = scan("cumprod", mul);
/** Running maxima; a NaN propagates to every later position, as np.maximum.accumulate. */
export const cummax = scan("cummax", maximum);
export const cummin = scan("cummin", minimum);

const N: Positional = { key: "n", what: "a number of differences n (a non-negative integer)", is: (v) => Number.isInteger(v) && (v as number) >= 0 };

/**
 * The n-th differences along `axis` (default -1), out[i] = x[i + 1] - x[i] applied n times;
 * for bools, x[i + 1] != x[i], as NumPy.
 * @example np.diff(np.array([1, 4, 9])) // [3, 5]; np.diff(x, 2, 0) twice down the columns
 */
export function diff(x: ArrayLike, nOrOpts?: number | { n?: number; axis?: number }, axisOrOpts?: number | { axis?: number }): Tracer {
  const rest = typeof axisOrOpts === "number" ? { axis: axisOrOpts } : axisOrOpts;
  const opts = optionsOf<{ n?: number; axis?: number }>("diff", nOrOpts, ["n", "axis"], N, rest);
  if (opts.n !== undefined && !N.is(opts.n)) throw new Error(`diff: n must be a non-negative integer, got ${JSON.stringify(opts.n)}`);
  if (opts.axis !== undefined && !AXIS.is(opts.axis)) throw new Error(`diff: axis must be an integer, got ${JSON.stringify(opts.axis)}`);
  let a = asArray(x);
  if (a.ndim === 0) throw new Error("diff: needs an array of rank >= 1, got a scalar");
  const axis = normalizeAxis("diff", opts.axis ?? -1, a.ndim);
  for (let k = 0; k < (opts.n ?? 1) && a.shape[axis] > 0; k++) {
    const m = a.shape[axis] - 1;
    const lo = sh.slice(a, a.shape.map(() => 0), a.shape.map((n, d) => (d === axis ? m : n)));
    const hi = sh.slice(a, a.shape.map((_, d) => (d === axis ? 1 : 0)), a.shape);
    a = a.dtype === "bool" ? notEqual(hi, lo) : sub(hi, lo);
  }
  return a;
}
