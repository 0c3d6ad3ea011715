/** Integer indexing: take, takeAlongAxis. Negative indices count from the end; others are clamped. */
import { asArray, isTracer, type ArrayLike } from "../convert.ts";
import { isInt } from "../dtype.ts";
import { broadcastShapes, fmtShape, normalizeAxis, stridesOf } from "../shape.ts";
import type { Tracer } from "../tracer.ts";
import * as g from "../primitives/gather.ts";
import { add, astype, broadcastTo, mul, where, less } from "./math.ts";
import { reshape } from "./manipulation.ts";
import { arange } from "./creation.ts";

function indices(op: string, idx: ArrayLike, n: number): Tracer {
  if (!isTracer(idx)) {
    // JS numbers become arrays here: reject fractions instead of truncating them.
    const bad = (v: unknown): boolean => (Array.isArray(v) ? v.some(bad) : typeof v === "number" && !Number.isInteger(v));
    if (bad(idx)) throw new Error(`${op}: indices must be integers, got ${JSON.stringify(idx)}`);
    return indices(op, asArray(idx as number | number[], "int32").astype("int32"), n);
  }
  let i = idx;
  if (!isInt(i.dtype)) throw new Error(`${op}: indices must be integers, got ${i.dtype}`);
  if (i.dtype === "uint32") return astype(i, "int32");
  return where(less(i, 0), add(i, n), i);
}

/**
 * Elements at `indices` along `axis` (the flattened array when axis is omitted).
 * @example np.take(np.array([10, 20, 30]), [2, 0]) // [30, 10]
 */
export function take(x: ArrayLike, idx: ArrayLike, opts: { axis?: number } = {}): Tracer {
  let a = asArray(x);
  if (opts.axis === undefined) a = reshape(a, [-1]);
  const axis = normalizeAxis("take", opts.axis ?? 0, a.ndim);
  return g.take(a, indices("take", idx, a.shape[axis]), axis);
}

/** out[..., i, ...] = x[..., idx[..., i, ...], ...] along `axis` (NumPy take_along_axis). */
export function takeAlongAxis(x: ArrayLike, idx: ArrayLike, opts: { axis: number }): Tracer {
  const a = asArray(x);
  const axis = normalizeAxis("takeAlongAxis", opts.axis, a.ndim);
  let i = indices("takeAlongAxis", idx, a.shape[axis]);
  if (i.ndim !== a.ndim) throw new Error(`takeAlongAxis: indices ${fmtShape(i.shape)} must have the rank of the array ${fmtShape(a.shape)}`);
  const others = a.shape.map((n, d) => (d === axis ? i.shape[d] : n));
  const shape = broadcastShapes("takeAlongAxis", others, i.shape);
  i = broadcastTo(i, shape);
  // Flat index = idx * stride[axis] + sum over the other axes of coordinate * stride.
  const strides = stridesOf(a.shape);
  let flat = mul(i, strides[axis]);
  shape.forEach((n, d) => {
    // A size-1 axis of the array broadcasts against the indices: its coordinate is always 0.
    if (d === axis || a.shape[d] === 1) return;
    const coord = reshape(arange(n), shape.map((_, k) => (k === d ? n : 1)));
    flat = add(flat, mul(coord, strides[d]));
  });
  return g.take(reshape(a, [-1]), flat, 0);
}
