/**
 * NaN-ignoring reductions, logical reductions, and order statistics (quantile, median,
 * percentile), built on the reductions of reductions.ts and on sort. All take NumPy's
 * `(x, axis, { keepdims })` forms.
 */
import { asArray, type ArrayLike } from "../convert.ts";
import { isFloat } from "../dtype.ts";
import { AXES, checkChoice, optionsOf } from "../options.ts";
import { fmtShape, normalizeAxes } from "../shape.ts";
import type { Tracer } from "../tracer.ts";
import * as sh from "../primitives/shape.ts";
import { add, astype, broadcastTo, div, equal, greater, logicalNot, mul, sub, where } from "./math.ts";
import { max, min, prod, sum, mean, type AxisArg, type AxisOpts } from "./reductions.ts";
import { sort } from "./sorting.ts";
import { isNan } from "./ufuncs.ts";

const REDUCE_KEYS = ["axis", "keepdims"] as const;
const axisOpts = (op: string, axis: unknown, rest: unknown) => optionsOf<AxisOpts>(op, axis, REDUCE_KEYS, AXES, rest);

type Reduction = (x: ArrayLike, axis?: AxisArg, rest?: { keepdims?: boolean }) => Tracer;
const named =
  (op: string, f: (a: Tracer, opts: AxisOpts) => Tracer): Reduction =>
  (x, axis, rest) =>
    f(asArray(x), axisOpts(op, axis, rest));

const counts = (mask: Tracer, opts: AxisOpts) => sum(astype(mask, "int32"), opts);
const truthy = (a: Tracer) => astype(a, "bool");

/** True where any element along the axes is nonzero (false for empty axes). @example np.any(x, 1) */
export const any = named("any", (a, o) => greater(counts(truthy(a), o), 0));
/** True where every element along the axes is nonzero (true for empty axes). */
export const all = named("all", (a, o) => equal(counts(logicalNot(truthy(a)), o), 0));
/** The number of nonzero elements (int32). @example np.countNonzero(np.array([0, 1, 2])) // 2 */
export const countNonzero = named("countNonzero", (a, o) => counts(truthy(a), o));
/** Peak to peak: max - min. */
export const ptp = named("ptp", (a, o) => sub(max(a, o), min(a, o)));

/**
 * True (a bool scalar) when the shapes are equal and so is every element; NaN never equals, as
 * np.array_equal.
 */
export function arrayEqual(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = [asArray(x), asArray(y)];
  if (fmtShape(a.shape) !== fmtShape(b.shape)) return asArray(false);
  return all(equal(a, b));
}

/** `a` with NaNs replaced by `v` (integers have none). */
const nanTo = (a: Tracer, v: number) => (isFloat(a.dtype) ? where(isNan(a), v, a) : a);
export const nansum = named("nansum", (a, o) => sum(nanTo(a, 0), o));
export const nanprod = named("nanprod", (a, o) => prod(nanTo(a, 1), o));
/** The mean of the non-NaN elements (NaN where there are none). */
export const nanmean = named("nanmean", (a, o) => {
  const f = isFloat(a.dtype) ? a : astype(a, "float32");
  return div(sum(nanTo(f, 0), o), counts(logicalNot(isNan(f)), o));
});
/** Max and min of the non-NaN elements; NaN where every element is NaN, as NumPy (which also warns). */
export const nanmax = named("nanmax", (a, o) => ignoringNan(a, o, max, -Infinity));
export const nanmin = named("nanmin", (a, o) => ignoringNan(a, o, min, Infinity));
function ignoringNan(a: Tracer, o: AxisOpts, f: (a: Tracer, o: AxisOpts) => Tracer, fill: number): Tracer {
  if (!isFloat(a.dtype)) return f(a, o);
  return where(all(isNan(a), o), NaN, f(nanTo(a, fill), o));
}

/**
 * The weighted mean sum(x * w) / sum(w) along the axes; without weights, the mean. Weights
 * have x's shape, or (with one axis) one weight per position along it, as np.average.
 * @example np.average(x, 0, { weights: np.array([1, 3]) })
 */
export function average(x: ArrayLike, axis?: AxisArg | (AxisOpts & { weights?: ArrayLike }), rest?: { keepdims?: boolean; weights?: ArrayLike }): Tracer {
  const opts = optionsOf<AxisOpts & { weights?: ArrayLike }>("average", axis, [...REDUCE_KEYS, "weights"], AXES, rest);
  const a = asArray(x);
  const red = { axis: opts.axis, keepdims: opts.keepdims };
  if (opts.weights === undefined) return mean(a, red);
  let w = asArray(opts.weights);
  const axes = normalizeAxes("average", opts.axis, a.ndim);
  if (w.ndim === 1 && a.ndim !== 1 && axes.length === 1 && w.shape[0] === a.shape[axes[0]]) {
    w = sh.reshape(
      w,
      a.shape.map((n, d) => (d === axes[0] ? n : 1)),
    );
  } else if (fmtShape(w.shape) !== fmtShape(a.shape)) {
    throw new Error(`average: weights ${fmtShape(w.shape)} must have the shape of the array ${fmtShape(a.shape)}, or be 1-D along the single axis reduced`);
  }
  return div(sum(mul(a, w), red), sum(broadcastTo(w, a.shape), red));
}

type Method = "linear" | "lower" | "higher" | "nearest" | "midpoint";
type QuantileOpts = AxisOpts & { method?: Method };
const QUANTILE_KEYS = [...REDUCE_KEYS, "method"] as const;

/**
 * The q-th quantiles (q in [0, 1], a number or a list) along the axes (all by default),
 * interpolated as np.quantile's `method` (default "linear"). q must be JS numbers: positions
 * in the sorted array are then known when tracing. A list of q adds a leading axis. A NaN
 * along the axes makes that quantile NaN. Differentiable through sort.
 * @example np.quantile(np.array([1, 2, 3, 4]), 0.5) // 2.5; np.quantile(x, [0.25, 0.75], 1)
 */
export function quantile(x: ArrayLike, q: number | number[], axis?: AxisArg | QuantileOpts, rest?: { keepdims?: boolean; method?: Method }): Tracer {
  return quantileOf("quantile", x, q, 1, axis, rest);
}
/** quantile with q in [0, 100]. @example np.percentile(x, 90) */
export function percentile(x: ArrayLike, q: number | number[], axis?: AxisArg | QuantileOpts, rest?: { keepdims?: boolean; method?: Method }): Tracer {
  return quantileOf("percentile", x, q, 100, axis, rest);
}
/** The middle value (the mean of the two middle values for an even count). @example np.median(x, 0) */
export function median(x: ArrayLike, axis?: AxisArg, rest?: { keepdims?: boolean }): Tracer {
  return quantileOf("median", x, 0.5, 1, axis, rest);
}

function quantileOf(op: string, x: ArrayLike, q: number | number[], scale: number, axis: unknown, rest: unknown): Tracer {
  const opts = optionsOf<QuantileOpts>(op, axis, QUANTILE_KEYS, AXES, rest);
  checkChoice(op, "method", opts.method, ["linear", "lower", "higher", "nearest", "midpoint"]);
  const qs = typeof q === "number" ? [q] : q;
  if (!Array.isArray(qs) || qs.some((v) => typeof v !== "number" || !(v >= 0 && v <= scale))) {
    throw new Error(`${op}: q must be a number or a list of numbers in [0, ${scale}], got ${JSON.stringify(q)}`);
  }
  let a = asArray(x);
  if (!isFloat(a.dtype)) a = astype(a, "float32");
  const axes = normalizeAxes(op, opts.axis, a.ndim);
  const kept = a.shape.flatMap((n, d) => (axes.includes(d) ? [] : [n]));
  const n = axes.reduce((acc, d) => acc * a.shape[d], 1);
  if (n === 0) throw new Error(`${op}: cannot take a quantile over an empty axis of ${fmtShape(a.shape)}`);
  // The reduced axes last, as one: [...kept, n], sorted.
  const perm = [...a.shape.keys()].filter((d) => !axes.includes(d)).concat(axes);
  const sorted = sort(sh.reshape(sh.transpose(a, perm), [...kept, n]), -1);
  const at = (i: number) => sh.reshape(sh.slice(sorted, [...kept.map(() => 0), i], [...kept, i + 1]), kept);
  const anyNan = greater(counts(isNan(a), { axis: axes }), 0);
  const outs = qs.map((v) => {
    const pos = (v / scale) * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, n - 1);
    const t = pos - lo;
    const method = opts.method ?? "linear";
    let y: Tracer;
    if (method === "lower" || t === 0) y = at(lo);
    else if (method === "higher") y = at(hi);
    // NumPy's nearest rounds half to even.
    else if (method === "nearest") y = at(t > 0.5 || (t === 0.5 && lo % 2 === 1) ? hi : lo);
    else y = add(at(lo), mul(sub(at(hi), at(lo)), method === "midpoint" ? 0.5 : t));
    y = where(anyNan, NaN, y);
    return opts.keepdims
      ? sh.reshape(
          y,
          a.shape.map((m, d) => (axes.includes(d) ? 1 : m)),
        )
      : y;
  });
  return typeof q === "number"
    ? outs[0]
    : sh.concatenate(
        outs.map((o) => sh.reshape(o, [1, ...o.shape])),
        0,
      );
}
