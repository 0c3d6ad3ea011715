/** Shape manipulation: reshape, transpose, expandDims, squeeze, concatenate, stack, split, pad, flip, roll, tile, slice. */
import { asArray, type ArrayLike } from "../convert.ts";
import { fmtShape, normalizeAxes, normalizeAxis, sizeOf } from "../shape.ts";
import type { Tracer } from "../tracer.ts";
import * as sh from "../primitives/shape.ts";
import { astype, broadcastTo, resultType } from "./math.ts";
import { scalar } from "../array.ts";
import { AXES, AXIS, AXIS_OR_NONE, describeArg, optionsOf, type Positional } from "../options.ts";

type AxisOf<A> = A | { axis?: A };
/** The axis of `f(xs, 1)` or `f(xs, { axis: 1 })`; `fallback` when neither gives one. */
function axisOf<A>(op: string, arg: unknown, positional: Positional, fallback: A): A {
  const o = optionsOf<{ axis?: A }>(op, arg, ["axis"], positional);
  return o.axis === undefined ? fallback : o.axis;
}

/** Reshape; one dimension may be -1 and is inferred. */
export function reshape(x: ArrayLike, shape: number[]): Tracer {
  if (!Array.isArray(shape)) throw new Error(`reshape: shape must be a list of integers (one may be -1), got ${describeArg(shape)}`);
  const a = asArray(x);
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1 || shape.some((d) => !Number.isInteger(d) || d < -1)) throw new Error(`reshape: invalid shape ${fmtShape(shape)}`);
  let target = shape;
  if (unknown === 1) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    if (known === 0 || a.size % known !== 0) throw new Error(`reshape: cannot reshape ${fmtShape(a.shape)} (size ${a.size}) into ${fmtShape(shape)}`);
    target = shape.map((d) => (d === -1 ? a.size / known : d));
  }
  return sh.reshape(a, target);
}

/** Permutes axes; reverses them when `axes` is omitted. */
export function transpose(x: ArrayLike, axes?: number[]): Tracer {
  if (axes !== undefined && !Array.isArray(axes)) throw new Error(`transpose: axes must be a permutation list such as [1, 0], got ${describeArg(axes)}`);
  const a = asArray(x);
  const perm = axes ? axes.map((p) => normalizeAxis("transpose", p, a.ndim)) : [...Array(a.ndim).keys()].reverse();
  return sh.transpose(a, perm);
}

export function moveaxis(x: ArrayLike, source: number, destination: number): Tracer {
  const a = asArray(x);
  return sh.moveaxis(a, normalizeAxis("moveaxis", source, a.ndim), normalizeAxis("moveaxis", destination, a.ndim));
}

export function swapaxes(x: ArrayLike, a1: number, a2: number): Tracer {
  const a = asArray(x);
  const perm = [...Array(a.ndim).keys()];
  const i = normalizeAxis("swapaxes", a1, a.ndim);
  const j = normalizeAxis("swapaxes", a2, a.ndim);
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return sh.transpose(a, perm);
}

export function expandDims(x: ArrayLike, axis: number | number[]): Tracer {
  const a = asArray(x);
  const list = typeof axis === "number" ? [axis] : axis;
  const rank = a.ndim + list.length;
  const axes = normalizeAxes("expandDims", list, rank);
  const shape: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : a.shape[k++]);
  return sh.reshape(a, shape);
}

/** Removes size-1 axes (all of them, or those named). */
export function squeeze(x: ArrayLike, axis?: number | number[]): Tracer {
  const a = asArray(x);
  const axes = axis === undefined ? a.shape.flatMap((n, i) => (n === 1 ? [i] : [])) : normalizeAxes("squeeze", axis, a.ndim);
  for (const i of axes) if (a.shape[i] !== 1) throw new Error(`squeeze: axis ${i} of ${fmtShape(a.shape)} has size ${a.shape[i]}, not 1`);
  return sh.reshape(
    a,
    a.shape.filter((_, i) => !axes.includes(i)),
  );
}

/**
 * Joins arrays along an existing axis (0 by default; null flattens them first, as NumPy).
 * @example np.concatenate([a, b], 1) // the same as np.concatenate([a, b], { axis: 1 })
 */
export function concatenate(xs: ArrayLike[], axisOrOpts?: AxisOf<number | null>): Tracer {
  const axis = axisOf<number | null>("concatenate", axisOrOpts, AXIS_OR_NONE, 0);
  if (!Array.isArray(xs) || xs.length === 0) throw new Error("concatenate: need a non-empty list of arrays");
  const dtype = resultType(...xs);
  let arrays = xs.map((x) => astype(asArray(x, dtype), dtype));
  if (axis === null) arrays = arrays.map((a) => sh.reshape(a, [a.size]));
  const rank = arrays[0].ndim;
  if (rank === 0) throw new Error("concatenate: zero-dimensional arrays cannot be concatenated; use stack");
  return sh.concatenate(arrays, normalizeAxis("concatenate", axis ?? 0, rank));
}

/** Joins arrays along a new axis. @example np.stack([a, b], 1) */
export function stack(xs: ArrayLike[], axisOrOpts?: AxisOf<number>): Tracer {
  const at = axisOf("stack", axisOrOpts, AXIS, 0);
  if (!Array.isArray(xs) || xs.length === 0) throw new Error("stack: need a non-empty list of arrays");
  const arrays = xs.map((x) => asArray(x));
  const axis = normalizeAxis("stack", at, arrays[0].ndim + 1);
  for (const a of arrays) {
    if (a.shape.join() !== arrays[0].shape.join()) throw new Error(`stack: all arrays need the same shape, got ${arrays.map((b) => fmtShape(b.shape)).join(", ")}`);
  }
  return concatenate(
    arrays.map((a) => expandDims(a, axis)),
    { axis },
  );
}

/** Splits into `sections` equal parts, or at the given indices. @example np.split(x, 2, 1) // two halves of axis 1 */
export function split(x: ArrayLike, sections: number | number[], axisOrOpts?: AxisOf<number>): Tracer[] {
  const a = asArray(x);
  const axis = normalizeAxis("split", axisOf("split", axisOrOpts, AXIS, 0), a.ndim);
  if (!(typeof sections === "number" && Number.isInteger(sections) && sections > 0) && !(Array.isArray(sections) && sections.every(Number.isInteger))) {
    throw new Error(`split: sections must be a positive integer or a list of integer indices, got ${JSON.stringify(sections)}`);
  }
  const n = a.shape[axis];
  let bounds: number[];
  if (typeof sections === "number") {
    if (n % sections !== 0) throw new Error(`split: axis ${axis} of size ${n} does not divide into ${sections} equal sections`);
    bounds = [...Array(sections + 1).keys()].map((i) => (i * n) / sections);
  } else {
    bounds = [0, ...sections.map((s) => Math.min(Math.max(s < 0 ? s + n : s, 0), n)), n];
  }
  const out: Tracer[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const start = a.shape.map(() => 0);
    const limit = [...a.shape];
    start[axis] = bounds[i];
    limit[axis] = Math.max(bounds[i], bounds[i + 1]);
    out.push(sh.slice(a, start, limit));
  }
  return out;
}

type PadWidth = number | [number, number] | [number, number][];

/** Constant padding, NumPy style: `padWidth` per axis as [before, after]. */
export function pad(x: ArrayLike, padWidth: PadWidth, opts: { constantValues?: number } = {}): Tracer {
  optionsOf("pad", opts, ["constantValues"]);
  const a = asArray(x);
  const widths: [number, number][] =
    typeof padWidth === "number" ? a.shape.map(() => [padWidth, padWidth]) : typeof padWidth[0] === "number" ? a.shape.map(() => padWidth as [number, number]) : (padWidth as [number, number][]);
  if (widths.length !== a.ndim || widths.some((w) => w.length !== 2 || w.some((v) => !Number.isInteger(v) || v < 0))) {
    throw new Error(`pad: padWidth ${JSON.stringify(padWidth)} must give non-negative [before, after] for each of the ${a.ndim} axes`);
  }
  return sh.pad(
    a,
    scalar(opts.constantValues ?? 0, a.dtype),
    widths.map(([lo, hi]) => [lo, hi, 0]),
  );
}

/** Reverses the order of elements along the given axes (all when omitted). */
export function flip(x: ArrayLike, axisOrOpts?: AxisOf<number | number[] | null>): Tracer {
  const a = asArray(x);
  return sh.rev(a, normalizeAxes("flip", axisOf<number | number[] | null>("flip", axisOrOpts, AXES, null), a.ndim));
}

/** Rolls elements along an axis (the flattened array when no axis is given). */
export function roll(x: ArrayLike, shift: number, axisOrOpts?: AxisOf<number | null>): Tracer {
  const a = asArray(x);
  const at = axisOf<number | null>("roll", axisOrOpts, AXIS_OR_NONE, null);
  if (!Number.isInteger(shift)) throw new Error(`roll: shift must be an integer, got ${JSON.stringify(shift)}`);
  if (at === null) return reshape(roll(reshape(a, [-1]), shift, 0), a.shape);
  const axis = normalizeAxis("roll", at, a.ndim);
  const n = a.shape[axis];
  if (n === 0) return a;
  const s = ((shift % n) + n) % n;
  if (s === 0) return a;
  const [head, tail] = split(a, [n - s], { axis });
  return sh.concatenate([tail, head], axis);
}

/** Repeats the array `reps` times along each axis. */
export function tile(x: ArrayLike, reps: number | number[]): Tracer {
  let a = asArray(x);
  const r = typeof reps === "number" ? [reps] : reps;
  // broadcastInDim below would take a fractional count as a dimension and return that shape.
  if (!Array.isArray(r) || !r.every((v) => Number.isInteger(v) && v >= 0)) throw new Error(`tile: reps must be a non-negative integer or a list of them, got ${JSON.stringify(reps)}`);
  const rank = Math.max(a.ndim, r.length);
  a = sh.reshape(a, [...Array(rank - a.ndim).fill(1), ...a.shape]);
  const rr = [...Array(rank - r.length).fill(1), ...r];
  // Broadcast to [r0, n0, r1, n1, ...] and merge pairs.
  const inter = a.shape.flatMap((n, i) => [rr[i], n]);
  const b = sh.broadcastInDim(
    a,
    inter,
    a.shape.map((_, i) => 2 * i + 1),
  );
  return sh.reshape(
    b,
    a.shape.map((n, i) => n * rr[i]),
  );
}

/** One entry per axis: an index (drops the axis), [start, stop, step] (any may be null), or null for the whole axis. */
export type IndexSpec = number | null | readonly (number | null | undefined)[];

/**
 * NumPy basic slicing. Missing trailing entries select whole axes.
 * @example x.slice(0, [1, null], null) // x[0, 1:, :]
 */
export function slice(x: ArrayLike, index: readonly IndexSpec[]): Tracer {
  const a = asArray(x);
  if (index.length > a.ndim) throw new Error(`slice: ${index.length} indices for an array of rank ${a.ndim}`);
  const start: number[] = [];
  const limit: number[] = [];
  const strides: number[] = [];
  const flipAxes: number[] = [];
  const dropped: number[] = [];
  a.shape.forEach((n, i) => {
    const spec = i < index.length ? index[i] : null;
    if (spec === null || spec === undefined) {
      start.push(0);
      limit.push(n);
      strides.push(1);
    } else if (typeof spec === "number") {
      const k = spec < 0 ? spec + n : spec;
      if (!Number.isInteger(k) || k < 0 || k >= n) throw new Error(`slice: index ${spec} is out of bounds for axis ${i} with size ${n}`);
      start.push(k);
      limit.push(k + 1);
      strides.push(1);
      dropped.push(i);
    } else {
      const step = spec[2] ?? 1;
      if (step === 0 || !Number.isInteger(step)) throw new Error(`slice: step must be a non-zero integer, got ${step}`);
      const norm = (v: number | null | undefined, dflt: number) => {
        if (v === null || v === undefined) return dflt;
        const w = v < 0 ? v + n : v;
        return step > 0 ? Math.min(Math.max(w, 0), n) : Math.min(Math.max(w, -1), n - 1);
      };
      if (step > 0) {
        const s = norm(spec[0], 0);
        start.push(s);
        limit.push(Math.max(s, norm(spec[1], n)));
        strides.push(step);
      } else {
        // A negative step walks backwards: reverse the axis, then slice forwards.
        const s = norm(spec[0], n - 1);
        const e = norm(spec[1], -1);
        const fs = n - 1 - s;
        start.push(fs);
        limit.push(Math.max(fs, n - 1 - e));
        strides.push(-step);
        flipAxes.push(i);
      }
    }
  });
  const src = flipAxes.length ? sh.rev(a, flipAxes) : a;
  const out = sh.slice(src, start, limit, strides);
  return dropped.length
    ? sh.reshape(
        out,
        out.shape.filter((_, i) => !dropped.includes(i)),
      )
    : out;
}

export { broadcastTo };

/** The flattened array (np.ravel). */
export const ravel = (x: ArrayLike): Tracer => reshape(x, [-1]);

/** Joins along axis 1 (axis 0 for 1-D arrays), as np.hstack. */
export function hstack(xs: ArrayLike[]): Tracer {
  const arrays = xs.map((x) => asArray(x));
  return concatenate(arrays, arrays[0]?.ndim === 1 ? 0 : 1);
}

/** Joins along axis 0, 1-D arrays as rows, as np.vstack. */
export function vstack(xs: ArrayLike[]): Tracer {
  return concatenate(
    xs.map((x) => asArray(x)).map((a) => (a.ndim === 1 ? sh.reshape(a, [1, a.size]) : a)),
    0,
  );
}
