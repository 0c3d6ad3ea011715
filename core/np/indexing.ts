/**
 * Integer indexing: take, takeAlongAxis. Negative indices count from the end. Indices outside
 * [-n, n) follow `mode`, as jnp.take / jnp.take_along_axis do:
 * - default (no mode): an error naming the op, the bad index and the valid range when the
 *   indices are known (JS numbers, or concrete arrays on a backend that reads synchronously,
 *   the CPU); where they are not known (traced by jit or vmap, or on WebGPU) "fill", which is
 *   JAX's documented default for both functions;
 * - "fill": NaN for floating-point results, the smallest value for int32, the largest for
 *   uint32, true for bool (JAX's fill values);
 * - "clip": clamped to [0, n - 1] after negative indices are wrapped (XLA's gather clamp).
 */
import { NDArray } from "../array.ts";
import { asArray, isTracer, type ArrayLike } from "../convert.ts";
import { isFloat, isInt, type DType } from "../dtype.ts";
import { AXIS_OR_NONE, checkChoice, checkOptions, optionsOf } from "../options.ts";
import { broadcastShapes, fmtShape, normalizeAxis, stridesOf } from "../shape.ts";
import type { Tracer } from "../tracer.ts";
import * as g from "../primitives/gather.ts";
import { add, astype, broadcastTo, mul, where, less, logicalAnd, greaterEqual } from "./math.ts";
import { reshape } from "./manipulation.ts";
import { arange } from "./creation.ts";

export type IndexMode = "fill" | "clip";
export interface TakeOpts {
  /** The axis to index (take: the flattened array when omitted or null). */
  axis?: number | null;
  /** What out-of-range indices give; see the module comment. */
  mode?: IndexMode;
}
type NumberList = { readonly length: number; readonly [i: number]: number };
const TAKE_KEYS = ["axis", "mode"] as const;

/** JAX's fill values for out-of-range gathers. */
function fillValue(dtype: DType): number | boolean {
  if (isFloat(dtype)) return NaN;
  return dtype === "int32" ? -(2 ** 31) : dtype === "uint32" ? 2 ** 32 - 1 : true;
}

/** The indices' values where they are known now (see the module comment), else undefined. */
function knownValues(idx: ArrayLike): NumberList | undefined {
  if (!isTracer(idx)) return Array.isArray(idx) ? ((idx as unknown[]).flat(Infinity as 1) as number[]) : [idx as number];
  if (idx instanceof NDArray && idx.backendImpl.readSync) return idx.dataSync();
  return undefined;
}

/**
 * Where the values of `idx` are known now (see the module comment), throws naming the op, the
 * first value outside [lo, hi] and that range; returns whether they were known.
 * @example checkIndexRange("crossEntropy", labels, 0, k - 1, "label", "for 10 classes")
 */
export function checkIndexRange(op: string, idx: ArrayLike, lo: number, hi: number, what: string, where: string, hint = ""): boolean {
  const values = knownValues(idx);
  if (!values) return false;
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (v < lo || v > hi) throw new Error(`${op}: ${what} ${v} is out of range ${where} (valid: ${lo} to ${hi})${hint}`);
  }
  return true;
}

interface Indices {
  /** In [0, n) where the index was valid (the gather primitive clamps the rest). */
  idx: Tracer;
  /** Where the index was valid; only for mode "fill" (undefined: nothing to fill). */
  valid?: Tracer;
}

function indices(op: string, idx: ArrayLike, n: number, axis: number, mode: IndexMode | undefined): Indices {
  checkChoice(op, "mode", mode, ["fill", "clip"]);
  if (!isTracer(idx)) {
    // JS numbers become arrays here: reject fractions instead of truncating them.
    const bad = (v: unknown): boolean => (Array.isArray(v) ? v.some(bad) : typeof v !== "number" || !Number.isInteger(v));
    if (bad(idx)) throw new Error(`${op}: indices must be integers, got ${JSON.stringify(idx)}`);
  }
  let i = isTracer(idx) ? idx : asArray(idx as number | number[], "int32").astype("int32");
  if (!isInt(i.dtype)) throw new Error(`${op}: indices must be integers, got ${i.dtype}`);
  const known = mode === undefined && checkIndexRange(op, idx, -n, n - 1, "index", `for axis ${axis} of size ${n}`, '; pass mode: "clip" or "fill" to keep such indices');
  const fill = mode === "fill" || (mode === undefined && !known);
  if (i.dtype === "uint32") {
    // Beyond int32's range a uint32 index is out of range anyway; clamp before the cast.
    i = astype(i.minimum(2 ** 31 - 1), "int32");
  }
  const valid = fill ? logicalAnd(greaterEqual(i, -n), less(i, n)) : undefined;
  return { idx: where(less(i, 0), add(i, n), i), valid };
}

function filled(y: Tracer, valid: Tracer | undefined, value: number | boolean = fillValue(y.dtype)): Tracer {
  return valid ? where(valid, y, value) : y;
}

/** The indices' mask, shaped to broadcast against a gather's output (the indices' axes stand where `axis` was). */
const maskAt = (valid: Tracer, axis: number, shape: readonly number[]) => reshape(valid, [...shape.slice(0, axis).map(() => 1), ...valid.shape, ...shape.slice(axis + 1).map(() => 1)]);

/**
 * The lax-level indices (no negative wrap-around, as lax.gather): known ones outside [0, n) are
 * an error unless a mode is given; the mask of valid ones where the mode (or, for unknown
 * indices, `unknownMode`) is "fill".
 */
function laxIndices(op: string, idx: Tracer, n: number, axis: number, mode: IndexMode | undefined, unknownMode: IndexMode): Tracer | undefined {
  checkChoice(op, "mode", mode, ["fill", "clip"]);
  // Non-integer indices are the primitive's error to report.
  if (!isInt(idx.dtype)) return undefined;
  const known = mode === undefined && checkIndexRange(op, idx, 0, n - 1, "index", `for axis ${axis} of size ${n}`, '; pass { mode: "clip" } or { mode: "fill" } to keep such indices');
  return (mode ?? (known ? "clip" : unknownMode)) === "fill" ? logicalAnd(greaterEqual(idx, 0), less(idx, n)) : undefined;
}

/**
 * lax.gather: x[..., idx, ...] along `axis` with indices in [0, n) (no wrap-around). Known
 * indices outside are an error; unknown ones (under jit) are clamped, XLA's gather rule, unless
 * `mode: "fill"` asks for JAX's fill values.
 * @example lax.gather(x, np.array([2, 0], "int32"), 0)
 */
export function gather(x: Tracer, idx: Tracer, axis: number, opts: { mode?: IndexMode } = {}): Tracer {
  checkOptions("lax.gather", opts, ["mode"]);
  const valid = laxIndices("lax.gather", idx, x.shape[axis], axis, opts.mode, "clip");
  const y = g.take(x, idx, axis);
  return filled(y, valid && maskAt(valid, axis, x.shape));
}

/**
 * lax.scatterAdd: op with upd added at op[..., idx, ...] along `axis`. Known indices outside
 * [0, n) are an error; unknown ones drop their updates (JAX's default scatter mode,
 * FILL_OR_DROP) unless `mode: "clip"` clamps them onto the edge.
 * @example lax.scatterAdd(np.zeros([3]), np.array([0, 0], "int32"), np.ones([2]), 0) // [2, 0, 0]
 */
export function scatterAdd(op: Tracer, idx: Tracer, upd: Tracer, axis: number, opts: { mode?: IndexMode } = {}): Tracer {
  checkOptions("lax.scatterAdd", opts, ["mode"]);
  const valid = laxIndices("lax.scatterAdd", idx, op.shape[axis], axis, opts.mode, "fill");
  // Updates of the wrong shape are the primitive's error to report (masking them first would fail on the broadcast instead).
  const fits = upd.shape.join() === [...op.shape.slice(0, axis), ...idx.shape, ...op.shape.slice(axis + 1)].join();
  return g.scatterAdd(op, idx, fits ? filled(upd, valid && maskAt(valid, axis, op.shape), 0) : upd, axis);
}

/**
 * Elements at `indices` along `axis` (the flattened array when axis is omitted or null).
 * Out-of-range indices: see the module comment (an error when known, else "fill").
 * @example np.take(np.array([10, 20, 30]), [2, 0]) // [30, 10]
 * @example np.take(x, idx, 1) // the same as np.take(x, idx, { axis: 1 })
 */
export function take(x: ArrayLike, idx: ArrayLike, axisOrOpts?: number | null | TakeOpts): Tracer {
  const opts = optionsOf<TakeOpts>("take", axisOrOpts, TAKE_KEYS, AXIS_OR_NONE);
  let a = asArray(x);
  if (opts.axis === undefined || opts.axis === null) a = reshape(a, [-1]);
  const axis = normalizeAxis("take", opts.axis ?? 0, a.ndim);
  const { idx: i, valid } = indices("take", idx, a.shape[axis], axis, opts.mode);
  const y = g.take(a, i, axis);
  // The mask has the indices' shape; y has it in place of `axis`.
  return filled(y, valid && maskAt(valid, axis, a.shape));
}

/**
 * out[..., i, ...] = x[..., idx[..., i, ...], ...] along `axis` (NumPy take_along_axis).
 * Out-of-range indices: as `take`.
 * @example np.takeAlongAxis(logp, labels.reshape([-1, 1]), -1)
 */
export function takeAlongAxis(x: ArrayLike, idx: ArrayLike, axisOrOpts: number | TakeOpts): Tracer {
  const opts = optionsOf<TakeOpts>("takeAlongAxis", axisOrOpts, TAKE_KEYS, AXIS_OR_NONE);
  if (typeof opts.axis !== "number") throw new Error(`takeAlongAxis: an axis is required (a number), got ${JSON.stringify(opts.axis)}`);
  const a = asArray(x);
  const axis = normalizeAxis("takeAlongAxis", opts.axis, a.ndim);
  const ind = indices("takeAlongAxis", idx, a.shape[axis], axis, opts.mode);
  let i = ind.idx;
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
    const coord = reshape(
      arange(n),
      shape.map((_, k) => (k === d ? n : 1)),
    );
    flat = add(flat, mul(coord, strides[d]));
  });
  return filled(g.take(reshape(a, [-1]), flat, 0), ind.valid && broadcastTo(ind.valid, shape));
}
